/**
 * Typed errors shared by every layer. Adapters throw them; the worker turns them
 * into machine events. Pure: no I/O.
 *
 * Glossary: a *transient* error may succeed if tried again later (throttling,
 * timeouts, 5xx, a reset connection); a *permanent* one never will (access denied,
 * not found, validation).
 *
 * @module
 */

/** Stable error codes. */
export const ErrorCode = {
  transient: "TRANSIENT",
  permanent: "PERMANENT",
  validation: "VALIDATION",
  unknownKind: "UNKNOWN_KIND",
  tooLarge: "PAYLOAD_TOO_LARGE",
  malformed: "MALFORMED_MESSAGE",
  invalidSubject: "INVALID_SUBJECT",
  config: "CONFIG",
  notFound: "NOT_FOUND",
  conflict: "CONFLICT",
  unavailable: "UNAVAILABLE",
  fenced: "FENCED",
  workerLost: "WORKER_LOST",
  timeout: "TIMEOUT",
  cancelled: "CANCELLED",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options every Troupe error takes. */
export interface TroupeErrorOptions {
  cause?: unknown;
  code?: string;
  /**
   * What the attempt produced before it failed (plain JSON, e.g. an exec
   * command's exit code, signal, OOM flag, CPU and memory): kept as the job's
   * `result` and in the audit row of the attempt's end.
   */
  result?: unknown;
}

/** Base of every typed Troupe error: a stable `code`, an optional `cause`. */
export class TroupeError extends Error {
  override name = "TroupeError";
  readonly code: string;
  /** See {@link TroupeErrorOptions.result}. */
  readonly result: unknown;
  constructor(message: string, options: TroupeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "TROUPE";
    this.result = options.result;
  }
}

/** May succeed later: the job is retried with backoff, honouring `retryAfterMs`. */
export class TransientError extends TroupeError {
  override name = "TransientError";
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: TroupeErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, { code: ErrorCode.transient, ...options });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Will never succeed: the job fails at once and is never retried. */
export class PermanentError extends TroupeError {
  override name = "PermanentError";
  constructor(message: string, options: TroupeErrorOptions = {}) {
    super(message, { code: ErrorCode.permanent, ...options });
  }
}

/** Input that fails its schema: permanent, and names the offending field. */
export class ValidationError extends PermanentError {
  override name = "ValidationError";
  readonly field: string | undefined;
  constructor(message: string, options: TroupeErrorOptions & { field?: string } = {}) {
    super(message, { code: ErrorCode.validation, ...options });
    this.field = options.field;
  }
}

/** Bad configuration: names the variable, never its value when it is a secret. */
export class ConfigError extends TroupeError {
  override name = "ConfigError";
  constructor(message: string, options: TroupeErrorOptions = {}) {
    super(message, { code: ErrorCode.config, ...options });
  }
}

/** A write refused because the writer no longer holds the job's lease. */
export class FencedError extends TroupeError {
  override name = "FencedError";
  constructor(message: string, options: TroupeErrorOptions = {}) {
    super(message, { code: ErrorCode.fenced, ...options });
  }
}

/** What the job machine records of a failure: plain data, safe to persist. */
export interface JobErrorInfo {
  /** `transient` is retried; `permanent` fails the job at once. */
  kind: "transient" | "permanent";
  code: string;
  message: string;
  retryAfterMs?: number;
}

/** The structured outcome a failed attempt's error carries (see {@link TroupeErrorOptions.result}), if any. */
export function resultOfError(error: unknown): unknown {
  return error instanceof TroupeError ? error.result : undefined;
}

/**
 * Normalises any throwable once, at the boundary: typed errors keep their class,
 * everything unknown counts as transient.
 */
export function toJobErrorInfo(error: unknown): JobErrorInfo {
  if (error instanceof PermanentError) {
    return { kind: "permanent", code: error.code, message: error.message };
  }
  if (error instanceof TransientError) {
    const info: JobErrorInfo = { kind: "transient", code: error.code, message: error.message };
    if (error.retryAfterMs !== undefined) info.retryAfterMs = error.retryAfterMs;
    return info;
  }
  if (error instanceof TroupeError) {
    return { kind: "transient", code: error.code, message: error.message };
  }
  if (error instanceof Error) {
    return { kind: "transient", code: ErrorCode.transient, message: error.message || error.name };
  }
  return { kind: "transient", code: ErrorCode.transient, message: String(error) };
}
