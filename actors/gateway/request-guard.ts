/**
 * Hono middleware that keeps web pages away from the control plane, for the API and
 * the dashboard alike. A browser attaches no bearer token by itself, but it can
 * send a form post or a `fetch(..., { mode: "no-cors" })` to `127.0.0.1`, and DNS
 * rebinding lets a page of `evil.example` talk to the gateway under its own name.
 * So, before authentication:
 *
 * - **Host**: every request but the probes must name a host served here: `localhost`,
 *   an IP address literal (a rebinding page can only send its own domain name), or
 *   one of `TROUPE_ALLOWED_HOSTS`; else 421 `MISDIRECTED_REQUEST`.
 * - **Writes** (every method but GET, HEAD and OPTIONS, body or not):
 *   `Sec-Fetch-Site: cross-site` is refused (403 `FORBIDDEN_ORIGIN`), an `Origin`
 *   must be absent, the request's own (same host and port) or one of
 *   `TROUPE_ALLOWED_ORIGINS` (403 `FORBIDDEN_ORIGIN`), and the body must be declared
 *   `Content-Type: application/json` (415 `UNSUPPORTED_MEDIA_TYPE`): a form post
 *   cannot set that type, and a page's `fetch` cannot without a CORS preflight,
 *   which the gateway never grants.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Context, MiddlewareHandler } from "hono";
import { ConfigError } from "../../machines/errors.ts";

/** Host names and origins allowed besides the defaults. */
export interface RequestGuardOptions {
  /** Host names served besides `localhost` and IP literals (`TROUPE_ALLOWED_HOSTS`), lower case, any port. */
  allowedHosts?: readonly string[];
  /** Origins that may write besides the request's own (`TROUPE_ALLOWED_ORIGINS`), as `URL.origin` gives them. */
  allowedOrigins?: readonly string[];
}

/** Paths the Host check leaves alone (probes read nothing worth stealing; orchestrators send odd Hosts). */
const PROBES = new Set(["/healthz", "/readyz"]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** `name`, `name:port`, `[v6]`, `[v6]:port`: nothing else (no userinfo, no path). */
const HOST_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A header value fit to quote in a message: at most 100 characters. */
const quoted = (value: string) => JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);

/** The host name (lower case, brackets kept for IPv6) of a `Host` value, or undefined when malformed. */
export function hostNameOf(host: string): string | undefined {
  const match = HOST_PATTERN.exec(host.trim());
  return match ? match[1]!.toLowerCase() : undefined;
}

/** True when `name` (from {@link hostNameOf}) is `localhost`, an IP literal or listed. */
export function isServedHost(name: string, allowed: readonly string[] = []): boolean {
  if (name === "localhost" || isIPv4(name)) return true;
  if (name.startsWith("[") && name.endsWith("]")) return isIPv6(name.slice(1, -1));
  return allowed.includes(name);
}

/** Parses `TROUPE_ALLOWED_HOSTS` (`a.example,b.example`): host names or IP literals, no port. */
export function parseAllowedHosts(spec: string | undefined): string[] {
  const entries = (spec ?? "").split(",").map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  entries.forEach((entry, index) => {
    const ip = isIPv4(entry) || (entry.startsWith("[") && entry.endsWith("]") && isIPv6(entry.slice(1, -1)));
    if (!ip && !HOST_NAME.test(entry)) {
      throw new ConfigError(
        `TROUPE_ALLOWED_HOSTS entry ${index + 1} (${
          quoted(entry)
        }): use a host name like troupe.example.com, without scheme or port`,
      );
    }
  });
  return entries;
}

/** Parses `TROUPE_ALLOWED_ORIGINS` (`https://dash.example.com,...`): http(s) origins without path. */
export function parseAllowedOrigins(spec: string | undefined): string[] {
  const entries = (spec ?? "").split(",").map((entry) => entry.trim()).filter(Boolean);
  return entries.map((entry, index) => {
    let origin: URL | undefined;
    try {
      origin = new URL(entry);
    } catch {
      origin = undefined;
    }
    const bare = origin && origin.pathname === "/" && !origin.search && !origin.hash && !origin.username &&
      !origin.password;
    if (!origin || !bare || !["http:", "https:"].includes(origin.protocol)) {
      throw new ConfigError(
        `TROUPE_ALLOWED_ORIGINS entry ${index + 1} (${
          quoted(entry)
        }): use an origin like https://dash.example.com (scheme, host, optional port; no path)`,
      );
    }
    return origin.origin;
  });
}

function refuse(c: Context, status: 403 | 415 | 421, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** Whether a write's `Origin` may write here: absent, the request's own host, or allowed. */
function originAllowed(origin: string | undefined, host: string, allowedOrigins: readonly string[]): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and garbage
  }
  if (!["http:", "https:"].includes(parsed.protocol)) return false;
  return parsed.host === host.toLowerCase() || allowedOrigins.includes(parsed.origin);
}

/** The middleware; register it before authentication with `app.use("*", requestGuard(...))`. */
export function requestGuard(options: RequestGuardOptions = {}): MiddlewareHandler {
  const allowedHosts = options.allowedHosts ?? [];
  const allowedOrigins = options.allowedOrigins ?? [];
  return async (c, next) => {
    // A request without a Host header (app.request() in tests, HTTP/1.0) has the URL's.
    const host = (c.req.header("host") ?? new URL(c.req.url).host).trim();
    if (!PROBES.has(c.req.path)) {
      const name = hostNameOf(host);
      if (name === undefined || !isServedHost(name, allowedHosts)) {
        return refuse(
          c,
          421,
          "MISDIRECTED_REQUEST",
          `Host ${quoted(host)} is not served here: add its name to TROUPE_ALLOWED_HOSTS`,
        );
      }
    }
    if (SAFE_METHODS.has(c.req.method)) return await next();
    if (c.req.header("sec-fetch-site")?.trim().toLowerCase() === "cross-site") {
      return refuse(c, 403, "FORBIDDEN_ORIGIN", "Cross-site write refused (Sec-Fetch-Site: cross-site)");
    }
    const origin = c.req.header("origin")?.trim();
    if (!originAllowed(origin, host, allowedOrigins)) {
      return refuse(
        c,
        403,
        "FORBIDDEN_ORIGIN",
        `Cross-origin write refused: origin ${
          quoted(origin ?? "")
        } is neither this host nor in TROUPE_ALLOWED_ORIGINS`,
      );
    }
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (mediaType !== "application/json") {
      return refuse(
        c,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Writes need Content-Type: application/json (even without a body)",
      );
    }
    await next();
  };
}
