/**
 * What a job kind is: a name, an input schema and a handler. Pure types: kinds
 * live in adapters/ (they talk to the outside world), the registry in actors/.
 *
 * @module
 */
import type { z } from "zod";

/** What a handler gets for one attempt. */
export interface JobRun<P> {
  id: string;
  kind: string;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** The payload, already validated by the kind's schema. */
  payload: P;
  org: string | null;
  /**
   * Aborted on cancel, timeout, lost lease or shutdown; pass it to every I/O call.
   * Its `reason` is a {@link JobAbort} saying which.
   */
  signal: AbortSignal;
}

/** Why a handler's signal was aborted. */
export const AbortWhy = {
  cancel: "cancel",
  timeout: "timeout",
  shutdown: "shutdown",
  leaseLost: "lease-lost",
} as const;
export type AbortWhy = (typeof AbortWhy)[keyof typeof AbortWhy];

/**
 * The reason of an aborted handler signal. On `cancel` and `timeout` the work
 * should stop; on `shutdown` and `lease-lost` another worker carries the job on,
 * so work that outlives the handler (a remote command) may be left running.
 */
export class JobAbort extends Error {
  override name = "JobAbort";
  readonly why: AbortWhy;
  constructor(why: AbortWhy, message: string) {
    super(message);
    this.why = why;
  }
}

/** What a handler returns on success. */
export interface JobOutcome {
  result?: unknown;
  /** External references (e.g. an AWS request id), stored in `job_refs`. */
  refs?: { system: string; ref: string }[];
}

/** A job kind. */
export interface JobKind<S extends z.ZodType = z.ZodType> {
  /** Dot-separated name, the last tokens of `<ns>.jobs.<kind>`. */
  kind: string;
  /** Short description, for docs and `/status`. */
  description: string;
  /** The payload schema; a violation fails the job with a message naming the field. */
  schema: S;
  /** Most attempts of this kind unless the job says otherwise. */
  maxAttempts?: number;
  /** Per-attempt time limit unless the job says otherwise. */
  timeoutMs?: number;
  /** Most jobs of this kind one worker runs at once. */
  concurrency?: number;
  /** Runs one attempt: throw TransientError or PermanentError to fail it. */
  run(job: JobRun<z.output<S>>): Promise<JobOutcome | void>;
}

/** Helps TypeScript infer the payload type of a kind from its schema. */
export function defineKind<S extends z.ZodType>(kind: JobKind<S>): JobKind<S> {
  return kind;
}
