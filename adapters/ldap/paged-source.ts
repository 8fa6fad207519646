/**
 * A sync source over LDAP paged searches: one engine page is one
 * paged-results page (RFC 2696) of one connection. A source reads one or more
 * passes in order (the groups source: every group's DN, then the groups with
 * their members), each a paged search on the source's own connection.
 *
 * Why a connection per source: a paged-results cookie is valid only on the
 * connection that got it, and OpenLDAP keeps one paged search per
 * connection, so sources read at once by the engine must not share one.
 *
 * Page tokens are `<pass>:<cursor>:<page>`; the cookie itself stays inside
 * ldapts' search generator, on the connection. A token whose cursor is gone
 * (the connection broke, the page failed, another process) cannot be
 * resumed: the source answers `PAGE_TOKEN_EXPIRED` and the engine reads it
 * again from its first page. A pass that ends hands over with `<pass+1>:start`,
 * which opens the next search (reconnecting if need be).
 *
 * As soon as a page arrives the next one is asked for, so the server
 * prepares it while this page is mapped and written; a page shorter than the
 * page size waits for that answer to say whether it was the last, so the
 * engine rarely asks for an empty closing page.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import { PAGE_TOKEN_EXPIRED, type SyncPage, type SyncSource } from "../sync/port.ts";
import { classifyLdapError } from "./classify.ts";
import type { LdapEntry, LdapSearch, LdapSession } from "./client.ts";

/** One paged search of a source and how its entries become items. */
export interface Pass {
  search: LdapSearch;
  /** Maps one page; may read further entries through `session` (ranges, ancestors). */
  map(entries: LdapEntry[], session: LdapSession): Promise<DirectoryEntry[]>;
}

/** What a source needs from its run. */
export interface PagedSourceOptions {
  name: string;
  covers: DirectoryCovers;
  base: string;
  passes: Pass[];
  /** Opens a bound session (a new connection). */
  open(signal: AbortSignal): Promise<LdapSession>;
  /** Sources revealed by the last page (read after this one). */
  then?: () => SyncSource<DirectoryEntry, DirectoryCovers>[];
  /**
   * Takes the connection when the source completes, for a source read after it
   * (saves a connect, a TLS handshake and a bind); absent: it is closed.
   */
  keep?(session: LdapSession): Promise<void>;
  /** Values that must never appear in a message. */
  secrets: readonly string[];
}

/**
 * An open paged search: its id, the pages it gave, and the request for the
 * next page, sent as soon as a page arrives so the server prepares it while
 * this page is mapped and written.
 */
interface Cursor {
  id: string;
  pass: number;
  pages: number;
  iterator: AsyncIterator<LdapEntry[]>;
  ahead?: Promise<IteratorResult<LdapEntry[]>>;
}

const expired = (name: string, token: string) =>
  new TransientError(
    `LDAP source "${name}" cannot resume page token "${token}": its paged search is gone (the connection closed); read again from the start`,
    { code: PAGE_TOKEN_EXPIRED },
  );

/** Makes a source reading `options.passes` page by page. */
export function pagedSource(options: PagedSourceOptions): SyncSource<DirectoryEntry, DirectoryCovers> {
  let session: LdapSession | undefined;
  let cursor: Cursor | undefined;
  let detach: (() => void) | undefined;

  const drop = async () => {
    const open = session;
    session = undefined;
    cursor = undefined;
    detach?.();
    detach = undefined;
    await open?.close();
  };

  /** Hands the connection on (`keep`) or closes it, once the source is complete. */
  const finish = async () => {
    const open = session;
    if (!open || !options.keep) return await drop();
    session = undefined;
    cursor = undefined;
    detach?.();
    detach = undefined;
    await options.keep(open);
  };

  const connect = async (signal: AbortSignal): Promise<LdapSession> => {
    if (session) return session;
    session = await options.open(signal);
    // The run's signal: an abort between two pages (while the engine writes) closes the connection too.
    const onAbort = () => void drop();
    signal.addEventListener("abort", onAbort, { once: true });
    detach = () => signal.removeEventListener("abort", onAbort);
    return session;
  };

  const startPass = async (pass: number, signal: AbortSignal): Promise<Cursor> => {
    const open = await connect(signal);
    const search = options.passes[pass]!.search;
    cursor = {
      id: crypto.randomUUID().slice(0, 8),
      pass,
      pages: 0,
      iterator: open.pages(options.base, search),
    };
    return cursor;
  };

  const cursorFor = async (token: string | undefined, signal: AbortSignal): Promise<Cursor> => {
    if (token === undefined) {
      // A fresh read: a new connection, so no cookie of an earlier attempt lingers.
      await drop();
      return startPass(0, signal);
    }
    const [passText, id, pageText] = token.split(":");
    const pass = Number(passText);
    if (!Number.isInteger(pass) || pass < 0 || pass >= options.passes.length) {
      throw new PermanentError(`LDAP source "${options.name}" got a malformed page token "${token}"`, {
        code: "LDAP_BAD_PAGE_TOKEN",
      });
    }
    if (id === "start") {
      cursor = undefined;
      return startPass(pass, signal);
    }
    if (
      !cursor || !session || cursor.id !== id || cursor.pass !== pass || String(cursor.pages + 1) !== pageText
    ) {
      throw expired(options.name, token);
    }
    return cursor;
  };

  /**
   * The next page of `c`, and whether it was the last: after a full page the
   * next is asked for at once and awaited by the next call; after a short one
   * (most likely the last) it is awaited now, which costs no round trip when
   * the server sent no cookie.
   */
  const read = async (c: Cursor, pageSize: number): Promise<{ entries: LdapEntry[]; last: boolean }> => {
    const result = await (c.ahead ?? c.iterator.next());
    delete c.ahead;
    if (result.done) return { entries: [], last: true };
    c.pages++;
    const ahead = c.iterator.next();
    // Its failure is reported by the call that awaits it (or dropped with the connection).
    ahead.catch(() => {});
    c.ahead = ahead;
    if (result.value.length >= pageSize) return { entries: result.value, last: false };
    const next = await ahead;
    c.ahead = Promise.resolve(next);
    return { entries: result.value, last: next.done === true };
  };

  return {
    name: options.name,
    covers: options.covers,
    async fetchPage(token, signal): Promise<SyncPage<DirectoryEntry, DirectoryCovers>> {
      signal.throwIfAborted();
      // Closing the connection (on abort) fails the pending operation at once.
      const onAbort = () => void drop();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        const c = await cursorFor(token, signal);
        const pass = options.passes[c.pass]!;
        const { entries, last } = await read(c, pass.search.pageSize);
        const items = await pass.map(entries, session!);
        if (!last) return { items, next: `${c.pass}:${c.id}:${c.pages + 1}` };
        if (c.pass + 1 < options.passes.length) return { items, next: `${c.pass + 1}:start` };
        const more = options.then?.() ?? [];
        await finish();
        return more.length > 0 ? { items, more } : { items };
      } catch (error) {
        // The cookie dies with the connection: a retry of this token restarts the source.
        await drop();
        if (signal.aborted) throw signal.reason;
        if (error instanceof TransientError || error instanceof PermanentError) throw error;
        throw classifyLdapError(error, {
          context: `LDAP source "${options.name}"`,
          secrets: options.secrets,
        });
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
