/**
 * The worker's plans: from a message or a locked row to the machine's steps,
 * the write derived from them (machines/job-write.ts) and the effects to
 * carry out once it is committed. Pure apart from the kind registry's
 * validation; the worker commits what these return.
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { ParsedJobMessage } from "../../bus/envelope.ts";
import { storableText } from "../../bus/json-value-rules.ts";
import type { JobRow, NewJob, TransitionWrite } from "../../adapters/postgres/store.ts";
import { type JobErrorInfo, toJobErrorInfo } from "../../machines/errors.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import { type JobEvent, type JobSnapshot } from "../../machines/job-machine.ts";
import { applyJobEvent, createJobSnapshot, dueEvent, statusOf } from "../../machines/job-transition.ts";
import { type JobStep, jobWrite, snapshotOfStored } from "../../machines/job-write.ts";
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

/** A new job's row, and what to do once it is admitted. */
export interface NewJobPlan {
  job: NewJob;
  /** Effects once inserted: `ack` for a job born failed, `run` for one admitted and started. */
  effects: JobEffect[];
  /** For an admitted-and-started job: its machine and validated payload. */
  start?: { snapshot: JobSnapshot; payload: unknown };
}

/** A locked job's next write, its machine, its validated payload and the effects once committed. */
export interface StartPlan {
  write: TransitionWrite;
  snapshot: JobSnapshot;
  payload: unknown;
  effects: JobEffect[];
}

/** Applies events in order from `from`, each of which must be accepted. */
function steps(id: string, from: JobSnapshot, events: { event: JobEvent; note?: Record<string, unknown> }[]) {
  const out: JobStep[] = [];
  const effects: JobEffect[] = [];
  let snapshot = from;
  for (const { event, note } of events) {
    const next = applyJobEvent(snapshot, event);
    if (!next.changed) {
      throw new Error(`Job "${id}": event "${event.type}" not accepted in state "${next.status}"`);
    }
    snapshot = next.snapshot;
    out.push(note ? { snapshot, note } : { snapshot });
    effects.push(...next.effects);
  }
  return { steps: out, snapshot, effects };
}

/**
 * Plans a new job from its message: the row to insert, born failed when the
 * message or payload is bad (its payload is not stored then), and started at
 * once (admit-and-start) when it is due and its kind has no concurrency limit.
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
  const kindName = parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "unknown");
  const kind = ctx.kinds.get(kindName);
  const maxAttempts = parsed.ok ? parsed.envelope.maxAttempts ?? kind?.maxAttempts ?? ctx.maxAttempts : 1;
  const created = createJobSnapshot({ id, kind: kindName, maxAttempts, backoff: ctx.backoff });
  const bornFailed = (error: JobErrorInfo, job: NewJob): NewJobPlan => {
    const made = steps(id, created, [{ event: { type: "job.reject", error } }]);
    job.write = jobWrite(null, [{ snapshot: created, note: eventData }, ...made.steps]);
    return { job, effects: made.effects };
  };
  if (!parsed.ok) {
    const error: JobErrorInfo = { kind: "permanent", code: parsed.code, message: parsed.message };
    return bornFailed(error, { id, kind: kindName, payload: null, maxAttempts });
  }
  const { envelope } = parsed;
  const job: NewJob = {
    id,
    kind: envelope.kind,
    payload: envelope.payload ?? null,
    maxAttempts,
    timeoutMs: envelope.timeoutMs ?? null,
    runAt: envelope.runAt ?? null,
    org: envelope.org ?? null,
    eventData,
  };
  let payload: unknown;
  try {
    payload = ctx.kinds.validate(envelope.kind, envelope.payload);
  } catch (error) {
    return bornFailed(toJobErrorInfo(error), job);
  }
  // Due now, no per-kind limit: admit and start in one statement if the id is new.
  if (
    envelope.runAt !== undefined || kind?.concurrency !== undefined ||
    delivery.deliveryCount > ctx.maxDeliveries
  ) {
    return { job, effects: [] };
  }
  const made = steps(id, created, [
    { event: { type: "job.lock", workerId: ctx.workerId, leaseVersion: 1 } },
    { event: { type: "job.start" } },
  ]);
  job.write = jobWrite(null, [{ snapshot: created, note: eventData }, ...made.steps]);
  job.lease = { workerId: ctx.workerId, leaseMs: ctx.leaseMs };
  return { job, effects: made.effects, start: { snapshot: made.snapshot, payload } };
}

/** Runs the machine of a locked job from its stored state to `running` (or `failed`). */
export function planStart(row: JobRow, delivery: JobDelivery, ctx: PlanContext): StartPlan {
  // The persisted snapshot is the last committed machine state; the row's status
  // may be ahead of it (a lock whose follow-up commit was lost), so go by the snapshot.
  const before = snapshotOfStored(row, ctx.backoff);
  const events: { event: JobEvent; note?: Record<string, unknown> }[] = [];
  const from = statusOf(before);
  // A retry's delay has passed (the lock took it only when due): the machine's own delayed event.
  const due = dueEvent(before);
  if (due) events.push({ event: due });
  const lease = { workerId: ctx.workerId, leaseVersion: row.leaseVersion };
  events.push({
    event: from === "locked" || from === "running"
      ? { type: "job.takeover", ...lease }
      : { type: "job.lock", ...lease },
  });
  let made = steps(row.id, before, events);
  let payload: unknown;
  if (statusOf(made.snapshot) !== "failed") {
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
    const last = steps(row.id, made.snapshot, [
      { event: rejection ? { type: "job.reject", error: rejection } : { type: "job.start" } },
    ]);
    made = {
      steps: [...made.steps, ...last.steps],
      snapshot: last.snapshot,
      effects: [...made.effects, ...last.effects],
    };
  }
  const write: TransitionWrite = {
    id: row.id,
    leaseVersion: row.leaseVersion,
    ...jobWrite(before, made.steps),
  };
  return { write, snapshot: made.snapshot, payload, effects: made.effects };
}
