/**
 * AWS errors → Troupe errors, in one table. Transient errors (throttling, 5xx,
 * timeouts, reset connections) are retried by the job's backoff; permanent ones
 * (access denied, no such entity, invalid input, 4xx) fail the job at once.
 * Messages carry the AWS error code and AWS's message, with anything that looks
 * like a credential removed.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";

/** How one AWS error code is treated, and the stable Troupe code it gets. */
export interface AwsErrorRule {
  kind: "transient" | "permanent";
  code: string;
}

/** A rule that retries, and one that fails at once. */
export const transient = (code: string): AwsErrorRule => ({ kind: "transient", code });
export const permanent = (code: string): AwsErrorRule => ({ kind: "permanent", code });

/** The table: AWS wire error codes (STS and IAM Query APIs) → treatment. */
export const AWS_ERROR_RULES: Readonly<Record<string, AwsErrorRule>> = {
  Throttling: transient("AWS_THROTTLING"),
  ThrottlingException: transient("AWS_THROTTLING"),
  RequestLimitExceeded: transient("AWS_THROTTLING"),
  TooManyRequestsException: transient("AWS_THROTTLING"),
  ServiceUnavailable: transient("AWS_SERVICE_UNAVAILABLE"),
  ServiceUnavailableException: transient("AWS_SERVICE_UNAVAILABLE"),
  ServiceFailure: transient("AWS_SERVICE_FAILURE"),
  InternalFailure: transient("AWS_SERVICE_FAILURE"),
  InternalError: transient("AWS_SERVICE_FAILURE"),
  RequestTimeout: transient("AWS_TIMEOUT"),
  RequestTimeoutException: transient("AWS_TIMEOUT"),
  ConcurrentModification: transient("AWS_CONCURRENT_MODIFICATION"),
  IDPCommunicationError: transient("AWS_IDP_COMMUNICATION"),
  // A cached session that AWS considers expired: the run drops it, the retry assumes anew.
  ExpiredToken: transient("AWS_EXPIRED_TOKEN"),
  ExpiredTokenException: transient("AWS_EXPIRED_TOKEN"),
  AccessDenied: permanent("AWS_ACCESS_DENIED"),
  AccessDeniedException: permanent("AWS_ACCESS_DENIED"),
  NoSuchEntity: permanent("AWS_NO_SUCH_ENTITY"),
  InvalidInput: permanent("AWS_INVALID_INPUT"),
  ValidationError: permanent("AWS_INVALID_INPUT"),
  MalformedPolicyDocument: permanent("AWS_MALFORMED_POLICY_DOCUMENT"),
  LimitExceeded: permanent("AWS_LIMIT_EXCEEDED"),
  PolicyNotAttachable: permanent("AWS_POLICY_NOT_ATTACHABLE"),
  UnmodifiableEntity: permanent("AWS_UNMODIFIABLE_ENTITY"),
  InvalidClientTokenId: permanent("AWS_INVALID_CLIENT_TOKEN_ID"),
  SignatureDoesNotMatch: permanent("AWS_SIGNATURE_DOES_NOT_MATCH"),
  RegionDisabledException: permanent("AWS_REGION_DISABLED"),
  PackedPolicyTooLarge: permanent("AWS_PACKED_POLICY_TOO_LARGE"),
  // The SDK found no credentials anywhere in its chain: retrying finds none either.
  CredentialsProviderError: permanent("AWS_NO_CREDENTIALS"),
};

/** Where the SDK's default chain looks, for the message of a CredentialsProviderError. */
const CREDENTIALS_HINT = "the SDK looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and " +
  "~/.aws/credentials and config, AWS_WEB_IDENTITY_TOKEN_FILE, the container credentials endpoint " +
  "and the EC2 instance metadata service";

/** Connection-level failures (Node and undici error codes): always transient. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** What classify reads of an SDK or network error (all optional: anything may be thrown). */
interface AwsErrorLike {
  name?: string;
  code?: unknown;
  Code?: unknown;
  Error?: { Code?: unknown };
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string | undefined> };
}

/** The AWS error code of an SDK error (`NoSuchEntity`), else its name or Node code. */
export function awsErrorCode(error: unknown): string {
  const e = (typeof error === "object" && error !== null ? error : {}) as AwsErrorLike;
  for (const candidate of [e.Code, e.Error?.Code, e.name, e.code]) {
    if (typeof candidate === "string" && candidate !== "" && candidate !== "Error") return candidate;
  }
  return "UnknownError";
}

/** The HTTP status of an SDK error, when AWS answered. */
export function awsHttpStatus(error: unknown): number | undefined {
  return (error as AwsErrorLike | null)?.$metadata?.httpStatusCode;
}

/** The AWS request id of an SDK error or output, when AWS answered. */
export function awsRequestId(value: unknown): string | undefined {
  return (value as AwsErrorLike | null)?.$metadata?.requestId;
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date), when present. */
export function retryAfterMs(error: unknown, now: () => number = Date.now): number | undefined {
  const header = (error as AwsErrorLike | null)?.$response?.headers?.["retry-after"];
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

/**
 * Removes credentials from a message: the given secrets, anything shaped like an
 * access key id, and long base64 runs (secret keys are 40 characters, session
 * tokens hundreds). Also caps the length.
 */
export function sanitizeMessage(message: string, secrets: readonly string[] = []): string {
  let text = message;
  for (const secret of secrets) if (secret.length >= 8) text = text.split(secret).join("[redacted]");
  text = text
    .replace(/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, "[redacted]")
    .replace(/[A-Za-z0-9/+=]{40,}/g, "[redacted]")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * The treatment of an error: `extra` rules (a caller's service codes), the
 * table, then HTTP 429 (throttling, whatever its code), 5xx/4xx, then network
 * codes; unknown is transient.
 */
export function ruleFor(error: unknown, extra?: Readonly<Record<string, AwsErrorRule>>): AwsErrorRule {
  const code = awsErrorCode(error);
  const rule = extra?.[code] ?? AWS_ERROR_RULES[code];
  if (rule) return rule;
  const status = awsHttpStatus(error);
  if (status === 429) return transient("AWS_THROTTLING");
  const stable = `AWS_${
    code.replace(/Exception$/, "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/\W+/g, "_").toUpperCase()
  }`;
  if (status !== undefined && status >= 500) return transient(stable);
  if (status !== undefined && status >= 400) return permanent(stable);
  const nodeCode = (error as AwsErrorLike | null)?.code;
  if (typeof nodeCode === "string" && NETWORK_ERROR_CODES.has(nodeCode)) return transient("AWS_CONNECTION");
  if (code === "TimeoutError" || code === "AbortError") return transient("AWS_TIMEOUT");
  return transient("AWS_UNKNOWN");
}

/** Options of {@link classifyAwsError}. */
export interface ClassifyOptions {
  /** What failed, the start of the message: `Cannot attach policy "arn:…" to role "x" in account "…"`. */
  context: string;
  /** Values that must never appear in the message (secret keys, session tokens). */
  secrets?: readonly string[];
  /** A code for an AccessDenied of this step (e.g. a refused AssumeRole). */
  accessDeniedCode?: string;
  /** Codes of other AWS services, looked up before the shared table. */
  rules?: Readonly<Record<string, AwsErrorRule>>;
  now?: () => number;
}

/** Turns any error of an AWS call into a TransientError or a PermanentError. */
export function classifyAwsError(error: unknown, options: ClassifyOptions): TransientError | PermanentError {
  const code = awsErrorCode(error);
  const rule = ruleFor(error, options.rules);
  const raw = (error as AwsErrorLike | null)?.message ?? String(error);
  const detail = sanitizeMessage(raw, options.secrets);
  const hint = code === "CredentialsProviderError" ? ` (${CREDENTIALS_HINT})` : "";
  const message = `${options.context}: ${code}${detail && detail !== code ? `: ${detail}` : ""}${hint}`;
  if (rule.kind === "permanent") {
    const stable = rule.code === "AWS_ACCESS_DENIED" && options.accessDeniedCode
      ? options.accessDeniedCode
      : rule.code;
    return new PermanentError(message, { code: stable, cause: error });
  }
  const after = retryAfterMs(error, options.now);
  return new TransientError(
    message,
    after === undefined
      ? { code: rule.code, cause: error }
      : { code: rule.code, cause: error, retryAfterMs: after },
  );
}
