/**
 * Opens bound LDAP sessions with ldapts. A session is one connection: LDAPS
 * (`tlsOptions.ca`, verified) or plain LDAP upgraded with StartTLS against the
 * same CA before anything is sent in clear, then a simple bind. It reads a
 * paged search one page per server round trip (ldapts' `searchPaginated`,
 * which keeps the RFC 2696 cookie inside its generator) and single entries by
 * DN.
 *
 * The {@link LdapSession} interface is the seam the sources read through, so
 * Active Directory's answers (which slapd cannot give: ranged attributes,
 * binary GUIDs) can be replayed in tests by a recorded session.
 *
 * Every error leaving a session is typed and names what failed, the URL and
 * the bind DN where relevant; never the password.
 *
 * @module
 */
import { isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { Client } from "ldapts";
import { PermanentError, TransientError } from "../../machines/errors.ts";
import { classifyLdapError } from "./classify.ts";
import type { LdapCredentials } from "./schema.ts";

/** One entry as ldapts returns it: strings, or buffers for binary attributes. */
export interface LdapEntry {
  dn: string;
  [attribute: string]: string | string[] | Uint8Array | Uint8Array[];
}

/** A search of a session. */
export interface LdapSearch {
  filter: string;
  attributes: string[];
  /** Entries per page. */
  pageSize: number;
  /** Attributes to return as bytes (Active Directory's objectGUID). */
  binaryAttributes?: string[];
}

/** A bound connection to one directory. */
export interface LdapSession {
  /**
   * The pages of a subtree search with the paged-results control, one server
   * round trip per `next()`. The iterator ends after the last page; an error
   * ends it too (the server's cookie is tied to this connection).
   */
  pages(base: string, search: LdapSearch): AsyncIterator<LdapEntry[]>;
  /** One entry by DN (a base-scope search), or `null` when it does not exist or fails `filter`. */
  read(
    dn: string,
    attributes: string[],
    options?: { filter?: string; binaryAttributes?: string[] },
  ): Promise<LdapEntry | null>;
  /** Unbinds and closes the connection, failing pending operations. Never throws. */
  close(): Promise<void>;
}

/** Opens a bound session; rejects with a typed error. */
export type LdapConnect = (credentials: LdapCredentials, signal: AbortSignal) => Promise<LdapSession>;

/** Options of {@link ldaptsConnect}. */
export interface LdaptsOptions {
  /** Timeout of one operation (a page, a bind), in ms. */
  timeoutMs: number;
  /** Timeout of the TCP (and TLS) connection, in ms. */
  connectTimeoutMs: number;
}

/** The host of an LDAP URL, without IPv6 brackets. */
function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
}

/** TLS options that verify the server against `ca` (or the runtime's roots) and its name. */
function tlsOptions(credentials: LdapCredentials): { ca?: string; host: string; servername?: string } {
  const host = hostOf(credentials.url);
  return {
    host,
    // SNI carries names only; an IP address is checked against the certificate's IP SANs.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(credentials.ca ? { ca: credentials.ca } : {}),
  };
}

/** Opens sessions with ldapts. */
export function ldaptsConnect(options: LdaptsOptions): LdapConnect {
  return async (credentials, signal) => {
    signal.throwIfAborted();
    const secure = credentials.url.startsWith("ldaps:");
    const link = { closed: false };
    const client = new Client({
      url: credentials.url,
      timeout: options.timeoutMs,
      connectTimeout: options.connectTimeoutMs,
      // Only for ldaps: ldapts opens TLS at once whenever tlsOptions has a value.
      ...(secure ? { tlsOptions: tlsOptions(credentials) } : {}),
      createSecureConnection: secureConnection(link) as typeof tlsConnect,
    });
    const secrets = [credentials.password];
    const where = `${credentials.url}`;
    // ldapts' unbind() during the connect destroys the socket without settling the connect
    // (no error, timer cleared), so the bind would wait forever: an abort rejects on its own.
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        void client.unbind().catch(() => {});
        reject(signal.reason);
      };
    });
    aborted.catch(() => {});
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (credentials.startTLS) {
        try {
          await Promise.race([client.startTLS(tlsOptions(credentials)), aborted]);
        } catch (error) {
          throw classifyLdapError(error, { context: `Cannot start TLS with ${where}`, secrets });
        }
      }
      try {
        await Promise.race([client.bind(credentials.bindDN, credentials.password), aborted]);
      } catch (error) {
        throw classifyLdapError(error, {
          context: `Cannot bind as "${credentials.bindDN}" to ${where}`,
          secrets,
          bindFailedCode: "LDAP_BIND_FAILED",
        });
      }
    } catch (error) {
      await client.unbind().catch(() => {});
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    return ldaptsSession(client, credentials.url, secrets, link);
  };
}

/**
 * `tls.connect` that records when the TLS socket closes and, after a StartTLS
 * upgrade, destroys the plain socket with it. ldapts watches the end of a
 * connection on the plain socket only: without this, a server that dies under
 * a StartTLS session leaves operations pending, and later ones sent into the
 * closed socket, until their timeout.
 */
function secureConnection(link: { closed: boolean }): (...args: unknown[]) => TLSSocket {
  return (...args) => {
    const secure = (tlsConnect as (...a: unknown[]) => TLSSocket)(...args);
    const options = args[0] as ConnectionOptions | undefined;
    const plain = typeof options === "object" && options !== null
      ? options.socket as Socket | undefined
      : undefined;
    secure.once("close", () => {
      link.closed = true;
      // ldapts then fails the operations pending on this connection (they carry the plain socket's id).
      plain?.destroy();
    });
    return secure;
  };
}

const CLOSED = "Connection closed by the server";

function ldaptsSession(
  client: Client,
  url: string,
  secrets: readonly string[],
  link: { closed: boolean },
): LdapSession {
  return {
    pages(base, search) {
      const context = `LDAP search of "${base}" for ${search.filter} on ${url}`;
      const pages = client.searchPaginated(base, {
        scope: "sub",
        filter: search.filter,
        attributes: search.attributes,
        paged: { pageSize: search.pageSize },
        ...(search.binaryAttributes ? { explicitBufferAttributes: search.binaryAttributes } : {}),
      });
      return {
        async next() {
          try {
            if (link.closed) throw new Error(CLOSED);
            const result = await pages.next();
            return result.done
              ? { done: true, value: undefined }
              : { done: false, value: result.value.searchEntries as LdapEntry[] };
          } catch (error) {
            throw typed(error, context, secrets);
          }
        },
      };
    },
    async read(dn, attributes, options = {}) {
      try {
        if (link.closed) throw new Error(CLOSED);
        const { searchEntries } = await client.search(dn, {
          scope: "base",
          filter: options.filter ?? "(objectClass=*)",
          attributes,
          ...(options.binaryAttributes ? { explicitBufferAttributes: options.binaryAttributes } : {}),
        });
        return (searchEntries[0] as LdapEntry | undefined) ?? null;
      } catch (error) {
        if ((error as { code?: unknown }).code === 32) return null;
        throw typed(error, `LDAP read of "${dn}" on ${url}`, secrets);
      }
    },
    async close() {
      // An unbind into a closed TLS socket would wait for the operation timeout.
      if (!link.closed) await client.unbind().catch(() => {});
    },
  };
}

function typed(error: unknown, context: string, secrets: readonly string[]): TransientError | PermanentError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  return classifyLdapError(error, { context, secrets });
}
