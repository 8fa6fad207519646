/**
 * What went wrong when a process first reached PostgreSQL or NATS, in the
 * terms of the CLI's exit codes: a server that cannot be reached (no such host,
 * refused, no answer) is *unavailable* (exit 4) and may work later; a server
 * that answers and refuses us (unknown role or database, wrong password, an
 * authorization violation) or an address that is not one (a garbage `NATS_URL`)
 * is *bad configuration* (exit 5) and will not work until someone changes it.
 *
 * Every message names the system and where it looked (`host:port`), never the
 * user's password or token: `DATABASE_URL` and `NATS_URL` may carry one.
 *
 * @module
 */
import { ConfigError, ErrorCode, TransientError } from "../../machines/errors.ts";

/** Socket and driver codes that mean the server could not be reached. */
const unreachable: Record<string, string> = {
  ENOTFOUND: "no such host (ENOTFOUND)",
  EAI_AGAIN: "the host name could not be resolved (EAI_AGAIN)",
  EAI_NONAME: "no such host (EAI_NONAME)",
  ECONNREFUSED: "connection refused (ECONNREFUSED)",
  ECONNRESET: "connection reset (ECONNRESET)",
  ETIMEDOUT: "no answer in time (ETIMEDOUT)",
  EHOSTUNREACH: "host unreachable (EHOSTUNREACH)",
  ENETUNREACH: "network unreachable (ENETUNREACH)",
  EPIPE: "connection closed (EPIPE)",
  CONNECT_TIMEOUT: "no answer in time (CONNECT_TIMEOUT)",
  CONNECTION_CLOSED: "the server closed the connection (CONNECTION_CLOSED)",
  CONNECTION_ENDED: "the connection ended (CONNECTION_ENDED)",
  CONNECTION_DESTROYED: "the connection was destroyed (CONNECTION_DESTROYED)",
};

/**
 * PostgreSQL SQLSTATEs of a server that answers but will not let us in: the
 * role, the database, the password, the pg_hba.conf rule or the CONNECT
 * privilege. Class 08 (connection exception), 53300 (too many connections) and
 * 57P0x (shutting down, starting up) are unavailability instead.
 */
const refusedStates = new Set(["28000", "28P01", "3D000", "42501", "0A000"]);
/** postgres.js codes of a login that cannot succeed as configured. */
const refusedDriverCodes = new Set(["SASL_SIGNATURE_MISMATCH", "AUTH_TYPE_NOT_IMPLEMENTED"]);
/** TLS codes: the server's certificate is not one we trust, a setting to change. */
const tlsCode = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/**
 * Where a PostgreSQL URL points, as `host:port` (several hosts joined by `,`),
 * without the user or password. The port defaults to 5432, the host to `localhost`.
 *
 * @example
 * ```ts
 * postgresAddress("postgres://troupe:s3cret@db.internal/troupe"); // "db.internal:5432"
 * ```
 */
export function postgresAddress(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.host.includes(",")) return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`;
  } catch { /* several hosts: read by hand below */ }
  let rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const at = rest.lastIndexOf("@");
  if (at >= 0) rest = rest.slice(at + 1);
  const hosts = (rest.split(/[/?#]/)[0] ?? "").split(",").filter(Boolean);
  if (hosts.length === 0) return "localhost:5432";
  return hosts.map((host) => (/:\d+$/.test(host) ? host : `${host}:5432`)).join(",");
}

/** Codes of `error` and of its causes, outermost first. */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === "string") codes.push(e.code);
    e = e.cause as typeof e;
  }
  return codes;
}

/** Removes the URL's password from a text that came from elsewhere, should it be there. */
function withoutPassword(text: string, url: string): string {
  let password = "";
  try {
    password = new URL(url).password;
  } catch { /* not a single-host URL: no password to look for */ }
  if (!password) return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch { /* keep it encoded */ }
  return text.replaceAll(password, "***").replaceAll(decoded, "***");
}

/**
 * Classifies an error of the first round trip to PostgreSQL at `url`:
 * unreachable → {@link TransientError} with code `UNAVAILABLE` (exit 4); a
 * refusal (unknown role or database, wrong password, pg_hba.conf, TLS trust) →
 * {@link ConfigError} (exit 5). Anything else comes back unchanged. The message
 * reads `Cannot connect to PostgreSQL at host:port: <reason>`.
 */
export function postgresConnectError(error: unknown, url: string): unknown {
  const where = `Cannot connect to PostgreSQL at ${postgresAddress(url)}`;
  const codes = codesOf(error);
  const message = String((error as { message?: unknown })?.message ?? error);
  const reason = () => withoutPassword(message, url);
  for (const code of codes) {
    const phrase = unreachable[code];
    if (phrase) {
      return new TransientError(`${where}: ${phrase}`, { code: ErrorCode.unavailable, cause: error });
    }
    if (/^(08|53300|57P0)/.test(code)) {
      return new TransientError(`${where}: ${reason()}`, { code: ErrorCode.unavailable, cause: error });
    }
    if (refusedStates.has(code) || refusedDriverCodes.has(code) || tlsCode.test(code)) {
      return new ConfigError(`${where}: ${reason()} (check DATABASE_URL)`, { cause: error });
    }
  }
  return error;
}

/**
 * The first round trip to PostgreSQL at `url` (`select 1`), classified by
 * {@link postgresConnectError}. A server that accepts the connection and never
 * answers (a firewall or proxy that holds it) is unreachable after `timeoutMs`
 * (default 15 s): the driver's connect timeout covers the TCP connection only.
 */
export async function probePostgres(
  db: { query(text: string): Promise<unknown> },
  url: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = `no answer within ${timeoutMs / 1000} s`;
      reject(
        new TransientError(`Cannot connect to PostgreSQL at ${postgresAddress(url)}: ${reason}`, {
          code: ErrorCode.unavailable,
        }),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([
      db.query("select 1").catch((error) => Promise.reject(postgresConnectError(error, url))),
      silent,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** NATS URL schemes the client speaks over TCP. */
const natsSchemes = ["nats:", "tls:"];

/**
 * Checks `NATS_URL` (comma-separated servers, each `nats://host:port`,
 * `tls://host:port` or a bare `host[:port]`) and returns its servers. Throws a
 * {@link ConfigError} naming the variable, and the bad server without its
 * credentials, for anything else: a URL of another scheme, a path, a bad port,
 * text that is no URL at all.
 */
export function parseNatsServers(natsUrl: string): string[] {
  const servers = natsUrl.split(",").map((s) => s.trim());
  servers.forEach((server, i) => {
    const shown = server.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/]*@/i, "$1***@");
    const which = servers.length > 1 ? `server ${i + 1} of ${servers.length}` : "the server";
    const refuse = (why: string) =>
      new ConfigError(`Invalid configuration: NATS_URL: ${which} (${JSON.stringify(shown)}) ${why}`);
    if (server === "") throw refuse("is empty");
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(server)?.[1]?.toLowerCase();
    if (scheme !== undefined && !natsSchemes.includes(`${scheme}:`)) {
      throw refuse(`has scheme "${scheme}:", use nats:// or tls://`);
    }
    let parsed: URL;
    try {
      parsed = new URL(scheme === undefined ? `nats://${server}` : server);
    } catch {
      throw refuse("is not a URL like nats://host:4222");
    }
    if (!parsed.hostname) throw refuse("names no host");
    if ((parsed.pathname !== "" && parsed.pathname !== "/") || parsed.search || parsed.hash) {
      throw refuse("has a path or query, use nats://host:port");
    }
  });
  return servers;
}

/** `host:port` of each NATS server, without credentials (port 4222 unless given). */
export function natsAddress(servers: string[]): string {
  return servers.map((server) => {
    try {
      const parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `nats://${server}`);
      return `${parsed.hostname}:${parsed.port || "4222"}`;
    } catch {
      return "(bad address)";
    }
  }).join(",");
}

/**
 * Classifies an error of connecting to NATS `servers`: unreachable (no such
 * host, refused, no answer) → {@link TransientError} `UNAVAILABLE` (exit 4); an
 * authorization violation → {@link ConfigError} (exit 5); a message of its own,
 * `Cannot connect to NATS at host:port: <reason>`, either way.
 */
export function natsConnectError(error: unknown, servers: string[]): unknown {
  const where = `Cannot connect to NATS at ${natsAddress(servers)}`;
  const chain: { name?: unknown; message?: unknown; cause?: unknown }[] = [];
  for (let e = error as (typeof chain)[number] | undefined, i = 0; e && i < 5; i++, e = e.cause as typeof e) {
    chain.push(e);
  }
  if (
    chain.some((e) => e.name === "AuthorizationError" || /authorization violation/i.test(String(e.message)))
  ) {
    return new ConfigError(
      `${where}: authorization violation (check NATS_USER and NATS_PASSWORD, NATS_TOKEN or the URL's user)`,
      { cause: error },
    );
  }
  for (const code of codesOf(error)) {
    const phrase = unreachable[code];
    if (phrase) {
      return new TransientError(`${where}: ${phrase}`, { code: ErrorCode.unavailable, cause: error });
    }
  }
  const innermost = chain.at(-1);
  if (innermost && /connection refused|timeout|timed out/i.test(String(innermost.message))) {
    const reason = unreachable[/refused/i.test(String(innermost.message)) ? "ECONNREFUSED" : "ETIMEDOUT"];
    return new TransientError(`${where}: ${reason}`, { code: ErrorCode.unavailable, cause: error });
  }
  return error;
}
