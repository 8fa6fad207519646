/**
 * Sorts what the Azure SDK throws into the engine's typed errors: ARM
 * `RestError`s by HTTP status (429, 408 and 5xx are transient, carrying
 * `retryAfterMs` from `Retry-After` / `retry-after-ms`; 401, 403, 404 and other
 * 4xx are permanent), token request errors by the token endpoint's status (a
 * refused client secret is permanent; 429, 5xx and an unreachable authority
 * transient, without `retryAfterMs`: MSAL does not pass the headers on), connection failures and timeouts
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
  timedOut?: boolean | undefined;
  /** ARM's error `{ code, message }` from the response body, when the SDK dropped it. */
  armError?: { code?: string; message?: string } | undefined;
  now?: () => number;
}

interface Fields {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  cause?: unknown;
  errorResponse?: { error?: unknown; errorDescription?: unknown };
  response?: { headers?: { get?(name: string): string | undefined } };
}

/** An MSAL `ServerError`: the token endpoint's OAuth error and HTTP status. */
interface MsalServerError {
  name: "ServerError";
  errorCode?: unknown;
  errorMessage?: unknown;
  status?: unknown;
}

/** The OAuth answer of a failed token request, from @azure/identity's or MSAL's error. */
function oauthFailure(e: Fields): { status: number; error: string; description: string } | undefined {
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  if (e.name === "AuthenticationError") {
    return {
      status: typeof e.statusCode === "number" ? e.statusCode : 0,
      error: text(e.errorResponse?.error),
      description: text(e.errorResponse?.errorDescription),
    };
  }
  const cause = e.cause as MsalServerError | undefined;
  if (e.name === "AuthenticationRequiredError" && cause?.name === "ServerError") {
    return {
      status: typeof cause.status === "number" ? cause.status : 0,
      error: text(cause.errorCode),
      description: text(cause.errorMessage),
    };
  }
  return undefined;
}

/** `AADSTS…: what happened.` without the trace, correlation ids and timestamps around it. */
function aadDescription(description: string): string {
  const aad = /AADSTS\d+:.*?(?=\s+Trace ID:|\s+-\s+Correlation ID:|$)/s.exec(description);
  return (aad?.[0] ?? description).trim();
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
  const snake = code.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").replace(
    /^_|_$/g,
    "",
  );
  return `AZURE_${snake.toUpperCase()}`;
}

const transientStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/** The typed error for anything the Azure SDK threw during `operation`. */
export function classifyAzureError(
  error: unknown,
  context: ClassifyContext,
): TransientError | PermanentError {
  const e = (typeof error === "object" && error !== null ? error : {}) as Fields;
  const name = typeof e.name === "string" ? e.name : "";
  const raw = typeof e.message === "string" ? e.message : String(error);
  const say = (detail: string) => sanitizeMessage(`${context.operation} failed: ${detail}`, context.secrets);

  if (context.timedOut) {
    return new TransientError(say("no answer in time"), { code: "AZURE_TIMEOUT" });
  }
  const oauth = oauthFailure(e);
  if (oauth) {
    // The token endpoint answered with an OAuth error (identity's AuthenticationError, or MSAL's ServerError).
    const code = azureCode(oauth.error || "authentication_failed");
    const message = say(`HTTP ${oauth.status} ${oauth.error}: ${aadDescription(oauth.description)}`);
    return oauth.status === 0 || transientStatus(oauth.status)
      ? new TransientError(message, { code })
      : new PermanentError(message, { code });
  }
  if (name === "AuthenticationRequiredError") {
    // MSAL failed without an answer from the token endpoint (a network error).
    return new TransientError(say(raw), { code: "AZURE_AUTHENTICATION_UNAVAILABLE" });
  }
  if (name === "CredentialUnavailableError") {
    // No usable credential (environment variables unset), or the authority's metadata could not be read.
    return /endpoints_resolution_error/.test(raw)
      ? new TransientError(say(`cannot read the authority's metadata: ${raw}`), {
        code: "AZURE_AUTHORITY_UNAVAILABLE",
      })
      : new PermanentError(say(`no credentials: ${raw}`), { code: "AZURE_CREDENTIAL_UNAVAILABLE" });
  }
  if (name === "RestError" && typeof e.statusCode === "number") {
    const status = e.statusCode;
    const code = typeof e.code === "string" && e.code ? e.code : context.armError?.code ?? `HTTP_${status}`;
    const message = say(`HTTP ${status} ${code}: ${context.armError?.message ?? raw}`);
    if (!transientStatus(status)) return new PermanentError(message, { code: azureCode(code) });
    const wait = retryAfterMs(e.response, context.now);
    return new TransientError(message, {
      code: azureCode(code),
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
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
