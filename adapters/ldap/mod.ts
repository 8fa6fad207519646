/**
 * The LDAP identity provider (`sync.ldap`): reads one directory (OpenLDAP or
 * Active Directory, over LDAP with StartTLS or LDAPS) into directory entries:
 * OUs as organizations, users as identities, groups with their direct members
 * (users and nested groups) by external id. Every search is paged
 * (RFC 2696), so a directory larger than the server's size limit is read
 * whole; one engine page is one paged-results page.
 *
 * `plan()` validates the credentials (a `ValidationError` naming the field,
 * never its value), binds once (a bad password is a `PermanentError`
 * `LDAP_BIND_FAILED` naming the bind DN and URL) and checks the base DN, then
 * returns the organizations source, whose last page reveals users and the
 * group index, the later of which reveals groups (sources.ts says why in
 * that order). The connection plan() opened is kept for the first source,
 * and each completed source hands its own to the next.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";
import { FilterParser } from "ldapts";
import { PermanentError, ValidationError } from "../../machines/errors.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { SyncProvider, SyncSource, SyncTarget } from "../sync/port.ts";
import { type LdapConnect, type LdapSession, ldaptsConnect } from "./client.ts";
import { DirectoryIndex } from "./directory-index.ts";
import { mappingFor } from "./mapping.ts";
import { type LdapCredentials, parseLdapCredentials } from "./schema.ts";
import { organizationsSource } from "./sources.ts";

export { type LdapCredentials, ldapCredentialsSchema } from "./schema.ts";
export type { LdapConnect, LdapEntry, LdapSearch, LdapSession } from "./client.ts";

/** Options of {@link createLdapProvider}. */
export interface LdapProviderOptions {
  /** Timeout of one LDAP operation (a page, a bind, a read), in ms. Default 60,000. */
  timeoutMs?: number;
  /** Timeout of opening a connection (TCP and TLS), in ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** Opens sessions; default ldapts. Tests give a recorded directory (Active Directory's answers). */
  connect?: LdapConnect;
}

const positive = (value: number | undefined, fallback: number, field: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { field });
  }
  return value;
};

/** Validates the target's credentials and filters; errors name the field, never a value. */
export function validateLdapCredentials(target: SyncTarget): LdapCredentials {
  const parsed = parseLdapCredentials(target.credentials);
  if (!parsed.ok) {
    throw new ValidationError(
      `Invalid LDAP credentials for scope "${target.scope}": credentials.${parsed.field} ${parsed.message}`,
      { field: `credentials.${parsed.field}` },
    );
  }
  for (const field of ["userFilter", "groupFilter"] as const) {
    const filter = parsed.credentials[field];
    if (filter === undefined) continue;
    try {
      FilterParser.parseString(filter);
    } catch {
      throw new ValidationError(
        `Invalid LDAP credentials for scope "${target.scope}": credentials.${field} is not an LDAP filter (RFC 4515)`,
        { field: `credentials.${field}` },
      );
    }
  }
  return parsed.credentials;
}

/** How long a kept session waits for the next source before it is closed. */
const SPARE_IDLE_MS = 10_000;

/**
 * One run's spare session: the connection a completed source (or plan()) kept
 * for the next source, closed when nobody takes it within {@link SPARE_IDLE_MS}
 * (the run failed, or the next source is still waiting for a slow one).
 */
function spareSlot(open: (signal: AbortSignal) => Promise<LdapSession>) {
  let spare: LdapSession | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const clear = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return {
    take(signal: AbortSignal): Promise<LdapSession> {
      const kept = spare;
      spare = undefined;
      clear();
      return kept ? Promise.resolve(kept) : open(signal);
    },
    async keep(session: LdapSession): Promise<void> {
      if (spare) return await session.close();
      spare = session;
      clear();
      timer = setTimeout(() => {
        const idle = spare;
        spare = undefined;
        timer = undefined;
        void idle?.close();
      }, SPARE_IDLE_MS);
      // Never what keeps a process alive (node:timers' handle has unref() on Node and Deno).
      timer.unref();
    },
  };
}

/** Creates the LDAP provider. */
export function createLdapProvider(
  options: LdapProviderOptions = {},
): SyncProvider<DirectoryEntry, DirectoryCovers> {
  const connect = options.connect ?? ldaptsConnect({
    timeoutMs: positive(options.timeoutMs, 60_000, "timeoutMs"),
    connectTimeoutMs: positive(options.connectTimeoutMs, 10_000, "connectTimeoutMs"),
  });
  /** Open sessions of every run, closed by close(). */
  const open = new Set<LdapSession>();
  const track = async (credentials: LdapCredentials, signal: AbortSignal): Promise<LdapSession> => {
    const session = await connect(credentials, signal);
    open.add(session);
    return {
      pages: (base, search) => session.pages(base, search),
      read: (dn, attributes, readOptions) => session.read(dn, attributes, readOptions),
      close: () => {
        open.delete(session);
        return session.close();
      },
    };
  };

  return {
    provider: "ldap",
    async plan(target, signal): Promise<SyncSource<DirectoryEntry, DirectoryCovers>[]> {
      signal.throwIfAborted();
      const credentials = validateLdapCredentials(target);
      const mapping = mappingFor(credentials.schema);
      // One bind up front: bad credentials fail the run before any source starts.
      const session = await track(credentials, signal);
      try {
        const base = await session.read(credentials.baseDN, [mapping.idAttribute], {
          binaryAttributes: mapping.binaryAttributes,
        });
        if (!base) {
          throw new PermanentError(
            `Base DN "${credentials.baseDN}" does not exist on ${credentials.url}, or "${credentials.bindDN}" cannot read it`,
            { code: "LDAP_NO_SUCH_OBJECT" },
          );
        }
        signal.throwIfAborted();
      } catch (error) {
        await session.close();
        throw error;
      }
      const spare = spareSlot((s) => track(credentials, s));
      await spare.keep(session);
      return [organizationsSource({
        base: credentials.baseDN,
        mapping,
        filters: {
          users: credentials.userFilter ?? mapping.filters.users,
          groups: credentials.groupFilter ?? mapping.filters.groups,
          organizations: mapping.filters.organizations,
        },
        pageSize: credentials.pageSize,
        index: new DirectoryIndex(credentials.baseDN),
        open: spare.take,
        keep: spare.keep,
        secrets: [credentials.password],
      })];
    },
    async close() {
      await Promise.all([...open].map((session) => session.close()));
      open.clear();
    },
  };
}
