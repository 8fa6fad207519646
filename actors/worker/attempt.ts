/**
 * One attempt running on this worker: its handler under an AbortSignal, its
 * time limit (the machine's `job.timeout`, whose `abort` effect stops the
 * handler), and the machine event its end makes (`job.succeed` or `job.fail`,
 * with the structured outcome a failed attempt carries).
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { JobRow } from "../../adapters/postgres/store.ts";
import { findJsonViolation, storableText } from "../../bus/json-value-rules.ts";
import { ErrorCode, type JobErrorInfo, resultOfError, toJobErrorInfo } from "../../machines/errors.ts";
import { AbortWhy, JobAbort, type JobOutcome } from "../../machines/job-kind.ts";
import { type JobEvent, type JobSnapshot } from "../../machines/job-machine.ts";
import { applyJobEvent } from "../../machines/job-transition.ts";
import { JobTrace } from "../observability/job-trace.ts";
import { carryOut, type EffectTarget } from "./effects.ts";
import { UNSTORABLE } from "./admit-separately.ts";
import type { WorkerState } from "./worker-options.ts";

/** A running attempt. */
export interface Attempt {
  id: string;
  kind: string;
  delivery: JobDelivery;
  leaseVersion: number;
  /** The machine as last committed (`running` while the handler runs). */
  snapshot: JobSnapshot;
  controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
  timeoutMs: number;
  /** Set when the lease is lost or released: its end is not committed as a transition. */
  abandoned: boolean;
  /** Set when the job was cancelled while this ran: the stored machine its outcome is added to. */
  cancelled?: { snapshot: JobSnapshot; leaseVersion: number };
  startedAt: number;
  /** The attempt's spans (a no-op without a tracing SDK). */
  trace: JobTrace;
}

/** How a handler ended. */
export type HandlerEnd = { ok: true; outcome: JobOutcome } | { ok: false; error: unknown };

/** What starting an attempt needs to know of its row. */
export type RunTarget = Pick<JobRow, "id" | "kind" | "maxAttempts" | "timeoutMs" | "org" | "leaseVersion">;

/** Starts the handler of a job whose `running` write was committed; `onEnd` gets its end once. */
export function startAttempt(
  state: WorkerState,
  start: { row: RunTarget; snapshot: JobSnapshot; delivery: JobDelivery; payload: unknown },
  onEnd: (attempt: Attempt, end: HandlerEnd) => void,
): Attempt {
  const { row, snapshot, delivery } = start;
  const definition = state.o.kinds.require(row.kind);
  const timeoutMs = row.timeoutMs ?? definition.timeoutMs ?? state.o.timeoutMs;
  const attemptNo = snapshot.context.attempts;
  const trace = new JobTrace({
    jobId: row.id,
    kind: row.kind,
    subject: delivery.subject,
    headers: delivery.headers,
    attempt: attemptNo,
    deliveryCount: delivery.deliveryCount,
    consumer: state.o.bus.subjects.streams.jobs,
  });
  trace.transition("locked", { "troupe.worker.id": state.id, "troupe.lease.version": row.leaseVersion });
  trace.transition("running", { "troupe.job.attempt": attemptNo });
  const attempt: Attempt = {
    id: row.id,
    kind: row.kind,
    delivery,
    leaseVersion: row.leaseVersion,
    snapshot,
    controller: new AbortController(),
    timer: undefined,
    timeoutMs,
    abandoned: false,
    startedAt: Date.now(),
    trace,
  };
  attempt.timer = setTimeout(() => {
    const timedOut = applyJobEvent(attempt.snapshot, { type: "job.timeout" });
    void carryOut(state, targetOf(attempt), timedOut.effects);
  }, timeoutMs);
  state.running.set(row.id, attempt);
  state.stats.started++;
  state.o.metrics.attemptStarted(row.kind);
  const promise: Promise<JobOutcome | void> = trace.run(() =>
    definition.run({
      id: row.id,
      kind: row.kind,
      attempt: attemptNo,
      maxAttempts: row.maxAttempts,
      payload: start.payload,
      org: row.org,
      signal: attempt.controller.signal,
    })
  );
  promise.then(
    (outcome) => onEnd(attempt, { ok: true, outcome: outcome ?? {} }),
    (error) => onEnd(attempt, { ok: false, error }),
  );
  return attempt;
}

/** The effect target of a running attempt. */
export function targetOf(attempt: Attempt): EffectTarget {
  return {
    id: attempt.id,
    kind: attempt.kind,
    delivery: attempt.delivery,
    attempts: attempt.snapshot.context.attempts,
    controller: attempt.controller,
    timeoutMs: attempt.timeoutMs,
    headers: attempt.trace.headers(),
  };
}

/** Ends an attempt here: its timer, its span, its place among the running ones. Its slot is freed with its message. */
export function finishAttempt(state: WorkerState, attempt: Attempt): void {
  clearTimeout(attempt.timer);
  // An attempt that ends without an outcome (lease lost, released at shutdown) ends its span here.
  attempt.trace.end(attempt.abandoned ? "abandoned" : "finished");
  if (state.running.get(attempt.id) === attempt) state.running.delete(attempt.id);
}

/** An error as the job keeps it: its text made storable (a message may quote anything, cut mid-pair). */
function storableError(error: JobErrorInfo): JobErrorInfo {
  return { ...error, code: storableText(error.code), message: storableText(error.message) };
}

/** A structured outcome PostgreSQL can store, or undefined. */
function storableResult(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  return findJsonViolation(value, { path: "result", what: "Result" }) ? undefined : value;
}

/**
 * The machine event a handler's end makes. A result PostgreSQL cannot store
 * would fail every commit of its batch: it fails its job instead (UNSTORABLE).
 */
export function endEvent(attempt: Attempt, end: HandlerEnd, jitter: number): JobEvent {
  const refused = end.ok
    ? findJsonViolation(end.outcome.result ?? null, { path: "result", what: "Result" })
    : undefined;
  if (end.ok && !refused) return { type: "job.succeed", result: end.outcome.result ?? null };
  const reason = attempt.controller.signal.reason;
  let error: JobErrorInfo;
  let result: unknown;
  if (refused) error = { kind: "permanent", code: UNSTORABLE, message: refused.message };
  else {
    const thrown = (end as { error: unknown }).error;
    result = storableResult(resultOfError(thrown));
    if (reason instanceof JobAbort && reason.why === AbortWhy.timeout) {
      error = { kind: "transient", code: ErrorCode.timeout, message: reason.message };
    } else error = storableError(toJobErrorInfo(thrown));
  }
  return { type: "job.fail", error, jitter, ...(result === undefined ? {} : { result }) };
}

/** The structured outcome of an attempt's end, whatever it was (for a cancelled job). */
export function endResult(end: HandlerEnd): unknown {
  return storableResult(end.ok ? end.outcome.result : resultOfError(end.error));
}
