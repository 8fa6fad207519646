/**
 * Sorts the errors of a Kubernetes list call into `TransientError` and
 * `PermanentError`. The SDK (`@kubernetes/client-node` 2.x) throws an
 * `ApiException` with the HTTP `code`, the response `headers` (lower-case
 * names) and the `body` (the API's `Status` object as text; none on 401);
 * network failures are undici's `TypeError: fetch failed` with a `cause`.
 *
 * @module
 */
import { ApiException } from "@kubernetes/client-node";
import { PermanentError, TransientError } from "../../../machines/errors.ts";

/** Node and undici error codes of a connection that failed or broke: worth retrying. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** What the classifier needs besides the error. */
export interface ClassifyContext {
  /** The call, for the message: `CoreV1Api.listPodForAllNamespaces`. */
  operation: string;
  /** The kubeconfig context (= target scope). */
  context: string;
  /** Values that must never appear in the message. */
  secrets: readonly string[];
  now?: () => number;
}

/** Milliseconds from a `Retry-After` value (seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now: () => number = Date.now): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/** Removes the given secrets and anything shaped like a JWT or bearer token; caps the length. */
export function sanitize(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  out = out
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, "[redacted]")
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/\s+/g, " ")
    .trim();
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

/** The `reason` and `message` of a Kubernetes `Status` body, when the body is one. */
function statusOf(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  const status = value as { kind?: unknown; reason?: unknown; message?: unknown } | null;
  if (!status || typeof status !== "object") return {};
  return {
    ...(typeof status.reason === "string" ? { reason: status.reason } : {}),
    ...(typeof status.message === "string" ? { message: status.message } : {}),
  };
}

/** The stable code of an HTTP status. */
function codeOf(status: number): { code: string; transient: boolean } {
  if (status === 429) return { code: "K8S_THROTTLED", transient: true };
  if (status === 503) return { code: "K8S_UNAVAILABLE", transient: true };
  if (status >= 500) return { code: "K8S_SERVER_ERROR", transient: true };
  // The continue token expired (etcd compacted): the list must be read again.
  if (status === 410) return { code: "PAGE_TOKEN_EXPIRED", transient: true };
  if (status === 408) return { code: "K8S_TIMEOUT", transient: true };
  if (status === 401) return { code: "K8S_UNAUTHORIZED", transient: false };
  if (status === 403) return { code: "K8S_FORBIDDEN", transient: false };
  if (status === 404) return { code: "K8S_NOT_FOUND", transient: false };
  return { code: `K8S_HTTP_${status}`, transient: status < 400 };
}

/** Turns any error of a list call into a typed error whose message names the call and carries no secret. */
export function classifyKubernetesError(
  error: unknown,
  ctx: ClassifyContext,
): TransientError | PermanentError {
  const where = `Kubernetes ${ctx.operation} (context "${ctx.context}")`;
  if (error instanceof ApiException) {
    const status = Number(error.code);
    const { code, transient } = codeOf(status);
    const detail = statusOf(error.body);
    const reason = detail.reason ?? (status === 401 ? "Unauthorized" : undefined);
    const text = [`HTTP ${status}`, reason, detail.message].filter((part) => part).join(": ");
    const message = `${where}: ${sanitize(text, ctx.secrets)}`;
    if (!transient) return new PermanentError(message, { code, cause: error });
    const headers = (error.headers ?? {}) as Record<string, string | undefined>;
    const after = parseRetryAfter(headers["retry-after"], ctx.now);
    return new TransientError(
      message,
      after === undefined ? { code, cause: error } : { code, cause: error, retryAfterMs: after },
    );
  }
  const err = error as
    | { name?: unknown; message?: unknown; code?: unknown; cause?: { code?: unknown } }
    | null;
  const netCode = [err?.code, err?.cause?.code].find((c): c is string =>
    typeof c === "string" && NETWORK_CODES.has(c)
  );
  const raw = typeof err?.message === "string" ? err.message : String(error);
  const message = `${where}: ${sanitize(netCode ? `${raw} (${netCode})` : raw, ctx.secrets)}`;
  if (netCode) return new TransientError(message, { code: "K8S_CONNECTION", cause: error });
  if (err?.name === "TimeoutError") return new TransientError(message, { code: "K8S_TIMEOUT", cause: error });
  // Unknown failures (e.g. an exec credential plugin that failed) may pass: retried like the rest.
  return new TransientError(message, { code: "K8S_UNKNOWN", cause: error });
}
