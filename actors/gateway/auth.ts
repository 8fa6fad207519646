/**
 * Bearer-token access control for the HTTP API. `TROUPE_API_TOKENS` holds
 * `role:token` pairs (`admin:…,viewer:…`): admin may submit, trigger and cancel;
 * viewer may only read. Tokens are compared in constant time (SHA-256 digests,
 * `timingSafeEqual`) and never logged or echoed.
 *
 * @module
 */
import { createHash, timingSafeEqual, type X509Certificate } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ConfigError } from "../../machines/errors.ts";
import { clientIdentity } from "./client-certificate.ts";

import { Role } from "./role.ts";

export { Role };

/** Parsed tokens: a digest and its role each. */
export interface TokenTable {
  entries: { digest: Buffer; role: Role }[];
}

const digest = (token: string) => createHash("sha256").update(token, "utf8").digest();

/** Parses `admin:TOKEN,viewer:TOKEN`; the error names the entry by position, never its token. */
export function parseApiTokens(spec: string | undefined): TokenTable | undefined {
  if (spec === undefined || spec.trim() === "") return undefined;
  const entries = spec.split(",").map((part, index) => {
    const at = part.indexOf(":");
    const role = part.slice(0, at).trim().toLowerCase();
    const token = part.slice(at + 1).trim();
    if (at < 0 || (role !== Role.admin && role !== Role.viewer)) {
      throw new ConfigError(`TROUPE_API_TOKENS entry ${index + 1}: use role:token with role admin or viewer`);
    }
    if (token.length < 16) {
      throw new ConfigError(`TROUPE_API_TOKENS entry ${index + 1}: the token must be at least 16 characters`);
    }
    return { digest: digest(token), role: role as Role };
  });
  return { entries };
}

/** A table of one token (the local admin token, an in-process caller's). */
export function singleToken(role: Role, token: string): TokenTable {
  return { entries: [{ digest: digest(token), role }] };
}

/** The role of a presented token, or undefined. Compares against every entry, in constant time each. */
export function roleOf(table: TokenTable, token: string): Role | undefined {
  const presented = digest(token);
  let found: Role | undefined;
  for (const entry of table.entries) {
    if (timingSafeEqual(entry.digest, presented) && (found === undefined || entry.role === Role.admin)) {
      found = entry.role;
    }
  }
  return found;
}

/** Paths anyone may read (probes). */
const OPEN = new Set(["/healthz", "/readyz"]);

/**
 * Hono middleware: the control plane is never anonymous. With a client CA, a
 * verified client certificate's OU is the role and an unknown OU is denied
 * everything; with tokens, a bearer token's role; with neither, every request
 * but the probes is refused (the process wiring always supplies tokens: see
 * admin-token.ts). Reads need viewer or admin, writes need admin. Sets `role`
 * and `actor` (who asked, for the audit trail) on the context.
 */
export function requireRole(
  table: TokenTable | undefined,
  options: { clientCa?: X509Certificate | undefined } = {},
): MiddlewareHandler {
  const { clientCa } = options;
  return async (c, next) => {
    if (OPEN.has(c.req.path)) return await next();
    let role: Role | undefined;
    let actor: string | undefined;
    const identity = clientCa ? clientIdentity(c, clientCa) : undefined;
    if (identity && !identity.verified) {
      return c.json({
        error: { code: "UNAUTHORIZED", message: `Client certificate refused: ${identity.problem}` },
      }, 401);
    }
    if (identity) {
      if (!identity.role) {
        return c.json({
          error: {
            code: "FORBIDDEN",
            message: "The client certificate's OU names no known role (admin or viewer)",
          },
        }, 403);
      }
      role = identity.role;
      actor = `cert:${identity.subject}`;
    } else if (table) {
      const header = c.req.header("authorization") ?? "";
      const match = /^Bearer\s+(.+)$/i.exec(header);
      role = match ? roleOf(table, match[1]!.trim()) : undefined;
      actor = role ? `token:${role}` : undefined;
    }
    if (!role) {
      if (table || !clientCa) c.header("WWW-Authenticate", 'Bearer realm="troupe"');
      const message = clientCa && !table
        ? "A client certificate is required"
        : "A valid bearer token is required";
      return c.json({ error: { code: "UNAUTHORIZED", message } }, 401);
    }
    const reading = c.req.method === "GET" || c.req.method === "HEAD";
    if (!reading && role !== Role.admin) {
      return c.json({ error: { code: "FORBIDDEN", message: `Role "${role}" may only read` } }, 403);
    }
    c.set("role" as never, role as never);
    c.set("actor" as never, actor as never);
    await next();
  };
}
