/**
 * Okta answers → Troupe errors, in one table. Okta's error body is
 * `{"errorCode": "E0000011", "errorSummary": "Invalid token provided",
 * "errorLink", "errorId", "errorCauses": [...]}`; every response carries
 * `X-Okta-Request-Id`.
 *
 * - 429 (`E0000047`): transient, `retryAfterMs` until `X-Rate-Limit-Reset`.
 * - 401 (bad or revoked token), 403 (the token's admin lacks the permission),
 *   404 (no such user or group), every other 4xx: permanent.
 * - 408, 5xx, refused or reset connections, timeouts: transient.
 *
 * Messages name the operation, the status, Okta's code, summary and request
 * id, with the API token removed; the token is never part of a request URL,
 * and no response or request object is kept as `cause`.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";

/** Okta's error body, as far as it is read. */
interface OktaErrorBody {
  errorCode?: unknown;
  errorSummary?: unknown;
  errorCauses?: { errorSummary?: unknown }[];
}

/** The stable Troupe code of an HTTP status. */
export function oktaCode(status: number): string {
  if (status === 429) return "OKTA_RATE_LIMITED";
  if (status === 401) return "OKTA_UNAUTHORIZED";
  if (status === 403) return "OKTA_FORBIDDEN";
  if (status === 404) return "OKTA_NOT_FOUND";
  if (status === 408) return "OKTA_TIMEOUT";
  if (status >= 500) return "OKTA_UNAVAILABLE";
  return `OKTA_HTTP_${status}`;
}

/** Whether a status may succeed later. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Removes the given secrets and anything shaped like an SSWS or bearer token from a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join("[redacted]");
  text = text.replace(/\b(SSWS|Bearer)\s+\S+/gi, "$1 [redacted]").replace(/\s+/g, " ").trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** What {@link classifyOktaResponse} needs besides the status. */
export interface ResponseContext {
  /** What failed: `Okta GET /api/v1/users`. */
  operation: string;
  /** The parsed body (Okta's error object), when there was one. */
  body: unknown;
  requestId: string | undefined;
  /** Milliseconds until the bucket's reset, for a 429. */
  retryAfterMs: number | undefined;
  secrets: readonly string[];
}

/** Turns a non-2xx Okta answer into a typed error. */
export function classifyOktaResponse(
  status: number,
  context: ResponseContext,
): TransientError | PermanentError {
  const body =
    (typeof context.body === "object" && context.body !== null ? context.body : {}) as OktaErrorBody;
  const code = oktaCode(status);
  const errorCode = typeof body.errorCode === "string" ? body.errorCode : undefined;
  const causes = (Array.isArray(body.errorCauses) ? body.errorCauses : [])
    .map((cause) => cause?.errorSummary).filter((s): s is string => typeof s === "string");
  const summary = [typeof body.errorSummary === "string" ? body.errorSummary : undefined, ...causes]
    .filter(Boolean).join("; ");
  const detail = [`HTTP ${status}`, errorCode, summary ? scrub(summary, context.secrets) : undefined]
    .filter(Boolean).join(" ");
  const request = context.requestId ? ` (request ${context.requestId})` : "";
  const message = `${context.operation} failed: ${detail}${request}`;
  if (!isTransientStatus(status)) return new PermanentError(message, { code });
  return new TransientError(
    message,
    context.retryAfterMs === undefined ? { code } : { code, retryAfterMs: context.retryAfterMs },
  );
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * A failed `fetch` (no answer): transient. A timeout of our own says so; the
 * caller rethrows the job's abort reason itself before calling this.
 */
export function classifyOktaFailure(
  error: unknown,
  context: { operation: string; timedOut: boolean; secrets: readonly string[] },
): TransientError {
  if (context.timedOut) {
    return new TransientError(`${context.operation} failed: no answer in time`, { code: "OKTA_TIMEOUT" });
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const nodeCode = typeof cause?.code === "string" ? cause.code : undefined;
  const text = typeof cause?.message === "string"
    ? cause.message
    : error instanceof Error
    ? error.message
    : String(error);
  const known = nodeCode !== undefined && NETWORK_CODES.has(nodeCode);
  return new TransientError(
    `${context.operation} failed: ${known ? `${nodeCode}: ` : ""}${scrub(text, context.secrets)}`,
    { code: "OKTA_CONNECTION" },
  );
}
