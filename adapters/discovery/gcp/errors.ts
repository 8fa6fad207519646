/**
 * Sorts what the Google clients throw into Troupe's typed errors.
 *
 * - gax REST clients (Compute, GKE) throw a `GoogleError`: `httpStatusCode` is
 *   the HTTP status received (absent when no response came), `code` the gRPC
 *   status it maps to (UNAVAILABLE for a failed connection, DEADLINE_EXCEEDED
 *   for a timeout).
 * - Storage throws an `ApiError`: `code` is the HTTP status, `response.headers`
 *   the response's headers, `errors[].reason` Google's reasons.
 * - The OAuth token exchange throws a `GaxiosError`: `status` is the HTTP status
 *   and the message `invalid_grant: <description>`.
 *
 * Transient: HTTP 408, 429, 5xx, connection failures and timeouts (with
 * `retryAfterMs` from `Retry-After`). Permanent: 401, 403, `invalid_grant`,
 * every other 4xx, missing credentials. Messages name the operation, the HTTP
 * status, Google's status and message, scrubbed of anything token- or key-shaped
 * and of the target's own secrets; the raw error is not kept as `cause` since it
 * carries request headers and assertions.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import type { CallObservation } from "./auth.ts";

const GRPC_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];
const HTTP_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  408: "DEADLINE_EXCEEDED",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
]);

/** Removes bearer tokens, JWTs, PEM keys and the given secrets from a provider message. */
export function scrub(message: string, secrets: string[] = []): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  return out
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, "[redacted key]")
    .replace(/\bBearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/\bya29\.[\w.-]+/g, "[redacted token]")
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[redacted jwt]")
    .replace(
      /(assertion|access_token|id_token|refresh_token|client_secret|private_key)=[^&\s]+/gi,
      "$1=[redacted]",
    )
    .slice(0, 1000);
}

/** Milliseconds to wait from a `Retry-After` value (seconds or an HTTP date), if it is one. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

interface Shape {
  message?: unknown;
  code?: unknown;
  status?: unknown;
  httpStatusCode?: unknown;
  reason?: unknown;
  errors?: { reason?: unknown }[];
  response?: { status?: unknown; statusCode?: unknown; headers?: unknown; data?: unknown };
  /** A gax `GoogleError` keeps the transport's `GaxiosError` (with its response) here. */
  cause?: { response?: { headers?: unknown } };
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return Array.isArray(value) ? String(value[0]) : typeof value === "string" ? value : undefined;
}

/** The HTTP status of a failed call, when a response came. */
function httpStatus(e: Shape, observed: CallObservation): number | undefined {
  for (const candidate of [e.httpStatusCode, e.status, e.response?.status, e.response?.statusCode]) {
    if (typeof candidate === "number" && candidate >= 100) return candidate;
  }
  // Storage's ApiError: `code` is the HTTP status. (A GoogleError's `code` is a gRPC code, below 100.)
  if (typeof e.code === "number" && e.code >= 100 && e.code < 600) return e.code;
  if (observed.status !== undefined && observed.status >= 400) return observed.status;
  return undefined;
}

/** What to do with an error: context for the message and the secrets to keep out of it. */
export interface ErrorContext {
  /** The provider operation: `compute.instances.aggregatedList project p`. */
  operation: string;
  secrets?: string[];
  observed?: CallObservation;
  /** Who is authenticating (`service account <email>`), named when the token exchange fails. */
  principal?: string;
}

/** Turns anything a Google client threw into a `TransientError` or `PermanentError`. */
export function toTypedError(error: unknown, context: ErrorContext): TransientError | PermanentError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const e = (error ?? {}) as Shape;
  const observed = context.observed ?? {};
  const raw = scrub(typeof e.message === "string" && e.message ? e.message : String(error), context.secrets);
  const status = httpStatus(e, observed);
  const grpc = typeof e.code === "number" && e.code < GRPC_NAMES.length && status === undefined
    ? GRPC_NAMES[e.code]
    : undefined;
  const oauth = /^(invalid_grant|invalid_client|unauthorized_client|invalid_scope|unsupported_grant_type)\b/
    .exec(raw)?.[1];
  const reason = typeof e.reason === "string"
    ? e.reason
    : typeof e.errors?.[0]?.reason === "string"
    ? e.errors[0].reason
    : undefined;
  const name = oauth?.toUpperCase() ??
    (status !== undefined ? HTTP_NAMES[status] ?? `HTTP_${status}` : grpc) ??
    (typeof e.code === "string" ? e.code : "ERROR");
  const code = `GCP_${name}`;
  const what = [status !== undefined ? `HTTP ${status}` : undefined, name, reason ? `(${reason})` : undefined]
    .filter(Boolean).join(" ");
  const during = oauth ? ` (OAuth token exchange for ${context.principal ?? "the credentials"})` : "";
  const message = `GCP ${context.operation} failed${during}: ${what}: ${raw}`;
  const wait = retryAfterMs(
    headerOf(e.response?.headers, "retry-after") ?? headerOf(e.cause?.response?.headers, "retry-after") ??
      observed.retryAfter,
  );
  const transient = status !== undefined
    ? status === 408 || status === 429 || status >= 500
    : grpc === "UNAVAILABLE" || grpc === "DEADLINE_EXCEEDED" || grpc === "RESOURCE_EXHAUSTED" ||
      grpc === "INTERNAL" || grpc === "UNKNOWN" || (typeof e.code === "string" && NETWORK_CODES.has(e.code));
  if (transient && !oauth) {
    return new TransientError(message, { code, ...(wait !== undefined ? { retryAfterMs: wait } : {}) });
  }
  return new PermanentError(message, { code });
}
