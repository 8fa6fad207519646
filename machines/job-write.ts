/**
 * The one place a job's write is derived: from the snapshot before and the
 * snapshot after each step of the machine, the row's columns (status,
 * attempts, result, last error, when it is due, whether the lease is let go)
 * and one audit row per state entered. Every writer (the worker's admit,
 * lock, outcome and release; the job service's cancel and redrive) commits
 * what this returns, so the row, the snapshot and the audit trail cannot
 * disagree. Pure: no I/O.
 *
 * @module
 */
import type { JobErrorInfo } from "./errors.ts";
import type { JobStatus } from "./job-status.ts";
import { type JobSnapshot, type PersistedJob } from "./job-machine.ts";
import { applyJobEvent, createJobSnapshot, persistJob, restoreJob, statusOf } from "./job-transition.ts";

/** An audit row: the state entered and what it carries. */
export interface AuditRow {
  status: JobStatus;
  data: Record<string, unknown>;
}

/** What one committed change of a job writes. */
export interface JobWrite {
  status: JobStatus;
  snapshot: PersistedJob;
  attempts: number;
  /** What the last finished attempt produced (null: nothing). */
  result: unknown;
  lastError: JobErrorInfo | null;
  /** When the job is due again, ms from now by the database's clock; undefined leaves `run_at`. */
  runInMs?: number;
  /** The job leaves the locked/running states: no lease is held any more. */
  releaseLease: boolean;
  /** One per state entered, in order. */
  events: AuditRow[];
}

/** One step: the snapshot after an event, and what the host adds to its audit row (who asked, how long it took). */
export interface JobStep {
  snapshot: JobSnapshot;
  note?: Record<string, unknown>;
}

const leased = (status: JobStatus) => status === "locked" || status === "running";

/** The audit row of entering `after` from `before` (null: the job is new), or undefined when no state was entered. */
export function auditRow(
  before: PersistedJob | null,
  after: PersistedJob,
  note: Record<string, unknown> = {},
): AuditRow | undefined {
  const to = after.value;
  const from = before?.value;
  const c = after.context;
  // Re-entering a state counts when the lease changed hands (a takeover of a locked job).
  if (before && from === to && before.context.leaseVersion === c.leaseVersion) return undefined;
  let data: Record<string, unknown>;
  switch (to) {
    case "pending":
      if (from === "failed" || from === "cancelled") data = { redrive: true };
      else if (from !== undefined && leased(from)) {
        data = { released: true, worker: before!.context.workerId };
      } else data = {};
      break;
    case "locked":
      data = { worker: c.workerId, leaseVersion: c.leaseVersion };
      if (from !== undefined && leased(from)) data.takeover = true;
      break;
    case "running":
      data = { attempt: c.attempts };
      break;
    case "success":
      data = { attempt: c.attempts };
      break;
    case "retry":
      data = { attempt: c.attempts, error: c.lastError, retryInMs: c.retryDelayMs ?? 0 };
      if (c.result !== null && c.result !== undefined) data.result = c.result;
      break;
    case "failed":
      data = from === "running" ? { attempt: c.attempts, error: c.lastError } : { error: c.lastError };
      if (from === "running" && c.result !== null && c.result !== undefined) data.result = c.result;
      break;
    case "cancelled":
      data = { reason: c.lastError?.message ?? "Cancelled" };
      break;
  }
  return { status: to, data: { ...data, ...note } };
}

/**
 * Derives the write of a change from the snapshot before it (null for a new
 * job) and the snapshots after each of its steps.
 *
 * @example
 * ```ts
 * const lock = applyJobEvent(pending, { type: "job.lock", workerId: "w-1", leaseVersion: 2 });
 * const start = applyJobEvent(lock.snapshot, { type: "job.start" });
 * jobWrite(pending, [{ snapshot: lock.snapshot }, { snapshot: start.snapshot }]);
 * // { status: "running", attempts: 1, releaseLease: false, events: [
 * //   { status: "locked", data: { worker: "w-1", leaseVersion: 2 } },
 * //   { status: "running", data: { attempt: 1 } }], ... }
 * ```
 */
export function jobWrite(before: JobSnapshot | null, steps: JobStep[]): JobWrite {
  if (steps.length === 0) throw new RangeError("A job write needs at least one step");
  const events: AuditRow[] = [];
  let prev = before ? persistJob(before) : null;
  const first = prev;
  for (const step of steps) {
    const next = persistJob(step.snapshot);
    const row = auditRow(prev, next, step.note);
    if (row) events.push(row);
    prev = next;
  }
  const after = prev!;
  const status = statusOf(steps[steps.length - 1]!.snapshot);
  const write: JobWrite = {
    status,
    snapshot: after,
    attempts: after.context.attempts,
    result: after.context.result ?? null,
    lastError: after.context.lastError,
    releaseLease: !leased(status),
    events,
  };
  if (status === "retry") write.runInMs = after.context.retryDelayMs ?? 0;
  // A redrive is due at once.
  if (status === "pending" && (first?.value === "failed" || first?.value === "cancelled")) write.runInMs = 0;
  return write;
}

/** What {@link snapshotOfStored} reads of a stored job. */
export interface StoredJob {
  id: string;
  kind: string;
  status: JobStatus;
  maxAttempts: number;
  lastError: unknown;
  /** The persisted snapshot, or null: a job admitted pending (or born failed by an older version) and never locked. */
  snapshot: unknown;
}

/**
 * The machine of a stored job: its persisted snapshot, or for a job without one
 * the machine's initial state (taken to `failed` with its error when it was born failed).
 */
export function snapshotOfStored(job: StoredJob, backoff?: { baseMs: number; maxMs: number }): JobSnapshot {
  if (job.snapshot) return restoreJob(job.snapshot as PersistedJob);
  const created = createJobSnapshot({
    id: job.id,
    kind: job.kind,
    maxAttempts: job.maxAttempts,
    ...(backoff ? { backoff } : {}),
  });
  if (job.status !== "failed") return created;
  const error = (job.lastError ?? { kind: "permanent", code: "FAILED", message: "Failed" }) as JobErrorInfo;
  return applyJobEvent(created, { type: "job.reject", error }).snapshot;
}
