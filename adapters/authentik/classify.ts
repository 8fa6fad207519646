/**
 * Authentik answers → Troupe errors, in one table. Authentik is a Django REST
 * Framework API: errors are `{"detail": "…"}` (or field errors such as
 * `{"pk": ["This field is required."]}`), and every answer carries the request
 * id `X-authentik-id`.
 *
 * - 429 (a proxy or Authentik's own throttling): transient, `retryAfterMs` from
 *   `Retry-After`; 408, 5xx, connection failures and timeouts: transient.
 * - 401 (`Token invalid/expired`), 403 (the token's user lacks the
 *   permission), 404 (no such group or user), every other 4xx: permanent.
 *
 * Messages name the operation, status, Authentik's detail and request id,
 * with the token removed; the client's error (which holds the request and its
 * `Authorization` header) is not kept as `cause`.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";

/** The stable Troupe code of an HTTP status. */
export function authentikCode(status: number): string {
  if (status === 429) return "AUTHENTIK_RATE_LIMITED";
  if (status === 401) return "AUTHENTIK_UNAUTHORIZED";
  if (status === 403) return "AUTHENTIK_FORBIDDEN";
  if (status === 404) return "AUTHENTIK_NOT_FOUND";
  if (status === 408) return "AUTHENTIK_TIMEOUT";
  if (status >= 500) return "AUTHENTIK_UNAVAILABLE";
  return `AUTHENTIK_HTTP_${status}`;
}

/** Removes the given secrets and anything shaped like a bearer token. */
export function scrub(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join("[redacted]");
  text = text.replace(/\bBearer\s+\S+/gi, "Bearer [redacted]").replace(/\s+/g, " ").trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Milliseconds from a `Retry-After` value (seconds or an HTTP date). */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** DRF's error body as one line: `detail`, else the field errors. */
function detailOf(body: unknown): string {
  if (typeof body !== "object" || body === null) return "";
  const b = body as Record<string, unknown>;
  if (typeof b.detail === "string") return b.detail;
  return Object.entries(b).map(([field, value]) =>
    `${field}: ${Array.isArray(value) ? value.filter((v) => typeof v === "string").join(" ") : ""}`
  ).join("; ");
}

/** What the classifiers need besides the error. */
export interface ClassifyContext {
  /** `Authentik GET /core/users/`. */
  operation: string;
  secrets: readonly string[];
  now: number;
  timedOut?: boolean;
}

/** A non-2xx answer, its body already read. */
export function classifyAuthentikResponse(
  response: { status: number; headers: Headers },
  body: unknown,
  context: ClassifyContext,
): TransientError | PermanentError {
  const status = response.status;
  const code = authentikCode(status);
  const detail = scrub(detailOf(body), context.secrets);
  const requestId = response.headers.get("x-authentik-id");
  const message = `${context.operation} failed: HTTP ${status}${detail ? ` ${detail}` : ""}${
    requestId ? ` (request ${requestId})` : ""
  }`;
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(response.headers.get("retry-after"), context.now);
    return new TransientError(message, wait === undefined ? { code } : { code, retryAfterMs: wait });
  }
  return new PermanentError(message, { code });
}

/** A request that got no answer (refused, reset, timed out). */
export function classifyAuthentikFailure(error: unknown, context: ClassifyContext): TransientError {
  if (context.timedOut) {
    return new TransientError(`${context.operation} failed: no answer in time`, {
      code: "AUTHENTIK_TIMEOUT",
    });
  }
  // The client wraps fetch's TypeError in a FetchError; its cause names the network error.
  let cause: unknown = error;
  for (let i = 0; i < 3 && (cause as { cause?: unknown } | null)?.cause; i++) {
    cause = (cause as { cause: unknown }).cause;
  }
  const c = cause as { code?: unknown; message?: unknown } | null;
  const text =
    [typeof c?.code === "string" ? c.code : undefined, typeof c?.message === "string" ? c.message : undefined]
      .filter(Boolean).join(": ") || String(error);
  return new TransientError(`${context.operation} failed: ${scrub(text, context.secrets)}`, {
    code: "AUTHENTIK_CONNECTION",
  });
}
