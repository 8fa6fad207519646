/**
 * What the Directory API client throws → Troupe errors, in one table.
 *
 * The client (googleapis-common over gaxios) throws a `GaxiosError`: `status`
 * and `response` (`headers`, `data` = Google's body `{"error": {"code",
 * "message", "status", "errors": [{"reason"}]}}`); without an answer, `code`
 * is the network error's. The token exchange fails with the OAuth error first
 * in the message: `invalid_grant: Invalid email or User ID` (no such subject),
 * `unauthorized_client: …` (domain-wide delegation not granted for the scopes).
 *
 * - Transient: 408, 429, 5xx, a 403 whose reason is `rateLimitExceeded`,
 *   `userRateLimitExceeded` or `quotaExceeded` (the Admin SDK's throttling),
 *   connection failures, timeouts; `retryAfterMs` from `Retry-After`.
 * - Permanent: OAuth errors, 401, any other 403 (insufficient scopes, not an
 *   admin), 404, other 4xx.
 *
 * Messages name the operation, the status, Google's status, reason and
 * message, scrubbed of keys, JWTs and tokens; the client error (which holds
 * the request and its `Authorization` header) is not kept as `cause`.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";

const THROTTLING_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"]);
const OAUTH =
  /^(invalid_grant|invalid_client|unauthorized_client|invalid_scope|access_denied|unsupported_grant_type)\b/;

/** Removes PEM keys, JWTs, bearer and access tokens and the given secrets. */
export function scrub(message: string, secrets: readonly string[] = []): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  out = out
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, "[redacted key]")
    .replace(/\bBearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/\bya29\.[\w.-]+/g, "[redacted token]")
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[redacted jwt]")
    .replace(/(assertion|access_token|refresh_token|private_key)=[^&\s]+/gi, "$1=[redacted]")
    .replace(/\s+/g, " ")
    .trim();
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

/** Milliseconds from a `Retry-After` value (seconds or an HTTP date). */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface Shape {
  message?: unknown;
  status?: unknown;
  code?: unknown;
  response?: { status?: unknown; headers?: unknown; data?: unknown };
  cause?: unknown;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/** What a classification needs besides the error. */
export interface ClassifyContext {
  /** `Google Workspace users.list (customer my_customer)`. */
  operation: string;
  secrets: readonly string[];
  /** Who authenticates, named when the token exchange fails. */
  principal: string;
  now: number;
  timedOut?: boolean;
}

/** Turns anything the client threw into a `TransientError` or `PermanentError`. */
export function classifyGoogleError(
  error: unknown,
  context: ClassifyContext,
): TransientError | PermanentError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const e = (error ?? {}) as Shape;
  const raw = scrub(typeof e.message === "string" && e.message ? e.message : String(error), context.secrets);
  const status = [e.status, e.response?.status].find((s): s is number => typeof s === "number" && s >= 100);
  const body = (e.response?.data ?? {}) as { error?: unknown; error_description?: unknown };
  const google = typeof body.error === "object" && body.error !== null
    ? body.error as { status?: unknown; message?: unknown; errors?: { reason?: unknown }[] }
    : undefined;
  const oauth = (typeof body.error === "string" ? body.error : undefined) ?? OAUTH.exec(raw)?.[1];
  const reason = typeof google?.errors?.[0]?.reason === "string" ? google.errors[0].reason : undefined;
  const googleStatus = typeof google?.status === "string" ? google.status : undefined;
  const detail = scrub(
    typeof google?.message === "string"
      ? google.message
      : typeof body.error_description === "string"
      ? `${oauth}: ${body.error_description}`
      : raw,
    context.secrets,
  );
  if (context.timedOut) {
    return new TransientError(`${context.operation} failed: no answer in time`, {
      code: "GOOGLE_WORKSPACE_TIMEOUT",
    });
  }
  if (oauth) {
    return new PermanentError(
      `${context.operation} failed: token exchange for ${context.principal} refused: ${detail}` +
        (oauth === "unauthorized_client"
          ? " (is domain-wide delegation granted to this client for the Directory read-only scopes?)"
          : ""),
      { code: `GOOGLE_WORKSPACE_${oauth.toUpperCase()}` },
    );
  }
  if (status === undefined) {
    const network = typeof e.code === "string" ? e.code : undefined;
    return new TransientError(`${context.operation} failed: ${network ? `${network}: ` : ""}${raw}`, {
      code: "GOOGLE_WORKSPACE_CONNECTION",
    });
  }
  const what = [`HTTP ${status}`, googleStatus, reason ? `(${reason})` : undefined].filter(Boolean).join(" ");
  const message = `${context.operation} failed: ${what}: ${detail}`;
  const throttled = status === 429 ||
    (status === 403 && reason !== undefined && THROTTLING_REASONS.has(reason));
  if (throttled || status === 408 || status >= 500) {
    const code = throttled ? "GOOGLE_WORKSPACE_RATE_LIMITED" : "GOOGLE_WORKSPACE_UNAVAILABLE";
    const wait = retryAfterMs(header(e.response?.headers, "retry-after"), context.now);
    return new TransientError(message, wait === undefined ? { code } : { code, retryAfterMs: wait });
  }
  const code = status === 401
    ? "GOOGLE_WORKSPACE_UNAUTHENTICATED"
    : status === 403
    ? "GOOGLE_WORKSPACE_PERMISSION_DENIED"
    : status === 404
    ? "GOOGLE_WORKSPACE_NOT_FOUND"
    : `GOOGLE_WORKSPACE_HTTP_${status}`;
  return new PermanentError(message, { code });
}
