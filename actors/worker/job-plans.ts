/**
 * The worker's plans: from a message or a locked row to the machine transitions
 * and the rows to write. Pure apart from the kind registry's validation; the
 * worker commits what these return.
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { ParsedJobMessage } from "../../bus/envelope.ts";
import { storableText } from "../../bus/json-value-rules.ts";
import type { JobRow, NewJob, TransitionWrite } from "../../adapters/postgres/store.ts";
import type { JobStatus } from "../../machines/job-status.ts";
import { type JobErrorInfo, toJobErrorInfo } from "../../machines/errors.ts";
import {
  applyJobEvent,
  createJobSnapshot,
  type JobEvent,
  type JobSnapshot,
  type PersistedJob,
  persistJob,
  restoreJob,
} from "../../machines/job-machine.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import { ACTOR_HEADER } from "../jobs/job-service.ts";

/** What plans depend on. */
export interface PlanContext {
  workerId: string;
  kinds: KindRegistry;
  maxAttempts: number;
  leaseMs: number;
  maxDeliveries: number;
  backoff: { baseMs: number; maxMs: number };
}

/** A new job's row, and its start when it is admitted and started at once. */
export interface NewJobPlan {
  job: NewJob;
  start?: { snapshot: JobSnapshot; payload: unknown; job: NewJob };
}

/** A locked job's next write, its machine, and its validated payload. */
export interface StartPlan {
  write: TransitionWrite;
  snapshot: JobSnapshot;
  payload: unknown;
}

/**
 * Plans a new job from its message: the row to insert, born failed when the
 * message or payload is bad (its payload is not stored then), and started at once (admit-and-start) when it is due
 * and its kind has no concurrency limit.
 */
export function planNewJob(
  id: string,
  parsed: ParsedJobMessage,
  delivery: JobDelivery,
  ctx: PlanContext,
): NewJobPlan {
  // A header may hold U+0000 (NATS allows it); the audit row must still be storable.
  const header = delivery.headers[ACTOR_HEADER];
  const actor = header ? storableText(header.slice(0, 200)) : undefined;
  const eventData: Record<string, unknown> = actor
    ? { source: "api", actor, seq: delivery.seq }
    : { source: "bus", seq: delivery.seq };
  if (!parsed.ok) {
    return {
      job: {
        id,
        kind: parsed.kind ?? "unknown",
        payload: null,
        maxAttempts: 1,
        eventData,
        failed: {
          error: { kind: "permanent", code: parsed.code, message: parsed.message } satisfies JobErrorInfo,
        },
      },
    };
  }
  const { envelope } = parsed;
  const kind = ctx.kinds.get(envelope.kind);
  const job: NewJob = {
    id,
    kind: envelope.kind,
    payload: envelope.payload ?? null,
    maxAttempts: envelope.maxAttempts ?? kind?.maxAttempts ?? ctx.maxAttempts,
    timeoutMs: envelope.timeoutMs ?? null,
    runAt: envelope.runAt ?? null,
    org: envelope.org ?? null,
    eventData,
  };
  let payload: unknown;
  try {
    payload = ctx.kinds.validate(envelope.kind, envelope.payload);
  } catch (error) {
    job.failed = { error: toJobErrorInfo(error) };
    return { job };
  }
  // Due now, no per-kind limit: admit and start in one statement if the id is new.
  if (
    envelope.runAt !== undefined || kind?.concurrency !== undefined ||
    delivery.deliveryCount > ctx.maxDeliveries
  ) {
    return { job };
  }
  let snapshot = createJobSnapshot({
    id,
    kind: envelope.kind,
    maxAttempts: job.maxAttempts,
    backoff: ctx.backoff,
  });
  snapshot = applyJobEvent(snapshot, { type: "job.lock", workerId: ctx.workerId, leaseVersion: 1 }).snapshot;
  snapshot = applyJobEvent(snapshot, { type: "job.start" }).snapshot;
  const persisted = persistJob(snapshot);
  job.start = {
    workerId: ctx.workerId,
    leaseMs: ctx.leaseMs,
    attempts: persisted.context.attempts,
    snapshot: persisted,
    events: [
      { status: "locked", data: { worker: ctx.workerId, leaseVersion: 1 } },
      { status: "running", data: { attempt: 1 } },
    ],
  };
  return { job, start: { snapshot, payload, job } };
}

/** Runs the machine of a locked job from its stored state to `running` (or `failed`). */
export function planStart(row: JobRow, delivery: JobDelivery, ctx: PlanContext): StartPlan {
  let snapshot = row.snapshot
    ? restoreJob(row.snapshot as PersistedJob)
    : createJobSnapshot({ id: row.id, kind: row.kind, maxAttempts: row.maxAttempts, backoff: ctx.backoff });
  const events: TransitionWrite["events"] = [];
  const step = (event: JobEvent, data: Record<string, unknown>) => {
    const next = applyJobEvent(snapshot, event);
    if (!next.changed) {
      throw new Error(`Job "${row.id}": event "${event.type}" not accepted in state "${next.status}"`);
    }
    snapshot = next.snapshot;
    events.push({ status: next.status, data });
  };
  const lease = { worker: ctx.workerId, leaseVersion: row.leaseVersion };
  // The persisted snapshot is the last committed machine state; the row's status
  // may be ahead of it (a lock whose follow-up commit was lost), so go by the snapshot.
  const from = snapshot.value as JobStatus;
  if (from === "retry") step({ type: "backoff.elapsed" }, {});
  if (from === "locked" || from === "running") {
    step({ type: "job.takeover", workerId: ctx.workerId, leaseVersion: row.leaseVersion }, {
      ...lease,
      takeover: true,
    });
  } else {
    step({ type: "job.lock", workerId: ctx.workerId, leaseVersion: row.leaseVersion }, lease);
  }
  let payload: unknown;
  if (snapshot.value !== "failed") {
    let rejection: JobErrorInfo | undefined;
    try {
      payload = ctx.kinds.validate(row.kind, row.payload);
    } catch (error) {
      rejection = toJobErrorInfo(error);
    }
    if (!rejection && delivery.deliveryCount > ctx.maxDeliveries) {
      rejection = {
        kind: "permanent",
        code: "MAX_DELIVERIES",
        message:
          `Message delivered ${delivery.deliveryCount} times without completing (limit ${ctx.maxDeliveries})`,
      };
    }
    if (rejection) step({ type: "job.reject", error: rejection }, { error: rejection });
    else step({ type: "job.start" }, { attempt: snapshot.context.attempts + 1 });
  }
  const persisted = persistJob(snapshot);
  const write: TransitionWrite = {
    id: row.id,
    leaseVersion: row.leaseVersion,
    status: persisted.value,
    snapshot: persisted,
    attempts: persisted.context.attempts,
    events,
  };
  if (persisted.value === "failed") {
    write.lastError = persisted.context.lastError;
    write.releaseLease = true;
  }
  return { write, snapshot, payload };
}
