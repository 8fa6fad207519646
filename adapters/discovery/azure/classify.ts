/**
 * Sorts what the Azure SDK throws into the engine's typed errors: ARM
 * `RestError`s by HTTP status (429, 408 and 5xx are transient, carrying
 * `retryAfterMs` from `Retry-After` / `retry-after-ms`; 401, 403, 404 and other
 * 4xx are permanent), identity errors (a refused client secret is permanent, an
 * unreachable authority transient), connection failures and timeouts
 * (transient). Messages name the operation, the status and the provider's code
 * and message, with the client secret and anything shaped like a token removed;
 * the SDK error is not kept as `cause` (it holds the request and its
 * `Authorization` header).
 *
 * @module
 */
import { PermanentError, TransientError } from "../../../machines/errors.ts";

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
  "REQUEST_SEND_ERROR",
]);

/** What {@link classifyAzureError} needs to know besides the error. */
export interface ClassifyContext {
  /** The operation, for the message: `Microsoft.Compute/virtualMachines list`. */
  operation: string;
  /** Strings that must never appear in a message (the client secret). */
  secrets: readonly string[];
  /** Whether our page timeout fired (the SDK then throws an AbortError). */
  timedOut?: boolean;
  now?: () => number;
}

interface Fields {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown };
  response?: { headers?: { get?(name: string): string | undefined } };
}

/** Removes secrets, bearer tokens and JWT-shaped strings from a provider message. */
export function sanitizeMessage(message: string, secrets: readonly string[]): string {
  let text = message;
  for (const secret of secrets) if (secret) text = text.split(secret).join("[redacted]");
  return text
    .replace(/Bearer\s+[\w.~+/=-]+/gi, "Bearer [redacted]")
    .replace(/eyJ[\w-]+\.[\w.-]+/g, "[redacted]")
    .slice(0, 1000);
}

/** Milliseconds to wait from `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (seconds or an HTTP date). */
export function retryAfterMs(headers: Fields["response"], now: () => number = Date.now): number | undefined {
  const get = (name: string) => headers?.headers?.get?.(name)?.trim();
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const ms = Number(get(name));
    if (get(name) && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  }
  const value = get("retry-after");
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

/** `TooManyRequests` → `AZURE_TOO_MANY_REQUESTS`, `invalid_client` → `AZURE_INVALID_CLIENT`. */
export function azureCode(code: string): string {
  const snake = code.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "");
  return `AZURE_${snake.toUpperCase()}`;
}

const transientStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/** The typed error for anything the Azure SDK threw during `operation`. */
export function classifyAzureError(error: unknown, context: ClassifyContext): TransientError | PermanentError {
  const e = (typeof error === "object" && error !== null ? error : {}) as Fields;
  const name = typeof e.name === "string" ? e.name : "";
  const raw = typeof e.message === "string" ? e.message : String(error);
  const say = (detail: string) => sanitizeMessage(`${context.operation} failed: ${detail}`, context.secrets);

  if (context.timedOut) {
    return new TransientError(say("no answer in time"), { code: "AZURE_TIMEOUT" });
  }
  if (name === "AuthenticationError") {
    // @azure/identity: the token endpoint answered with an OAuth error.
    const status = typeof e.statusCode === "number" ? e.statusCode : 0;
    const oauth = typeof e.errorResponse?.error === "string" ? e.errorResponse.error : "authentication_failed";
    const description = typeof e.errorResponse?.errorDescription === "string"
      ? e.errorResponse.errorDescription.split(/\s+Trace ID:/)[0] ?? ""
      : "";
    const message = say(`token request HTTP ${status} ${oauth}: ${description}`.trim());
    return transientStatus(status)
      ? new TransientError(message, { code: azureCode(oauth) })
      : new PermanentError(message, { code: azureCode(oauth) });
  }
  if (name === "CredentialUnavailableError") {
    // No usable credential (environment variables unset), or the authority's metadata could not be read.
    return /endpoints_resolution_error/.test(raw)
      ? new TransientError(say(`cannot read the authority's metadata: ${raw}`), { code: "AZURE_AUTHORITY_UNAVAILABLE" })
      : new PermanentError(say(`no credentials: ${raw}`), { code: "AZURE_CREDENTIAL_UNAVAILABLE" });
  }
  if (name === "RestError" && typeof e.statusCode === "number") {
    const status = e.statusCode;
    const code = typeof e.code === "string" && e.code ? e.code : `HTTP_${status}`;
    const message = say(`HTTP ${status} ${code}: ${raw}`);
    if (!transientStatus(status)) return new PermanentError(message, { code: azureCode(code) });
    const wait = retryAfterMs(e.response, context.now);
    return new TransientError(message, { code: azureCode(code), ...(wait === undefined ? {} : { retryAfterMs: wait }) });
  }
  const code = typeof e.code === "string" ? e.code : "";
  if (NETWORK_CODES.has(code)) {
    return new TransientError(say(`${code}: ${raw}`), { code: "AZURE_CONNECTION" });
  }
  if (name === "AbortError" || name === "TimeoutError") {
    return new TransientError(say(raw), { code: "AZURE_TIMEOUT" });
  }
  return new TransientError(say(`${name || "Error"}: ${raw}`), { code: "AZURE_UNKNOWN" });
}
