/**
 * How a host drives the job machine, purely: the initial snapshot, one event
 * at a time through xstate's `transition()` (the next snapshot and the
 * effects to carry out), the event a waiting state expects back, and the JSON
 * form stored in `jobs.snapshot`.
 *
 * @module
 */
import { type AnyActorScope, createActor } from "xstate";
import type { JobStatus } from "./job-status.ts";
import { effectsOf, type JobEffect } from "./job-effects.ts";
import {
  type DueEvent,
  initialJobContext,
  type JobEvent,
  type JobInput,
  jobMachine,
  type JobSnapshot,
  type PersistedJob,
} from "./job-machine.ts";

/**
 * One inert actor scope, made once and reused: xstate's `transition()` builds a
 * new scope (and an actor with its initial snapshot) on every call, which costs
 * more than the transition itself. Transitions are synchronous, so the collected
 * actions belong to the call that set `collected`.
 */
let collected: { type: string; params?: unknown }[] = [];
let inertScope: AnyActorScope | undefined;
function scope(): AnyActorScope {
  if (!inertScope) {
    const self = createActor(jobMachine, { input: { id: "inert", kind: "inert", maxAttempts: 1 } });
    inertScope = {
      self,
      defer: () => {},
      id: "",
      logger: () => {},
      sessionId: "",
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: (action: { type: string; params?: unknown }) => {
        collected.push(action);
      },
    } as unknown as AnyActorScope;
  }
  return inertScope;
}

/** The initial snapshot (state `pending`). */
export function createJobSnapshot(input: JobInput): JobSnapshot {
  return jobMachine.resolveState({ value: "pending", context: initialJobContext(input) });
}

/** The status of a snapshot. */
export function statusOf(snapshot: JobSnapshot): JobStatus {
  return snapshot.value as JobStatus;
}

/** What {@link applyJobEvent} gives. */
export interface JobTransition {
  snapshot: JobSnapshot;
  status: JobStatus;
  /** The state or the context changed: there is something to commit. */
  changed: boolean;
  /** The state accepted the event (it may have effects without a change). */
  accepted: boolean;
  /** What the host carries out after committing, settling the message last. */
  effects: JobEffect[];
}

/**
 * Applies one event. A state that does not accept it returns the snapshot
 * unchanged with no effects.
 *
 * @example
 * ```ts
 * const locked = applyJobEvent(createJobSnapshot({ id: "j-1", kind: "noop", maxAttempts: 3 }),
 *   { type: "job.lock", workerId: "w-1", leaseVersion: 1 });
 * applyJobEvent(locked.snapshot, { type: "job.start" }).effects; // [{ type: "run", attempt: 1 }]
 * ```
 */
export function applyJobEvent(snapshot: JobSnapshot, event: JobEvent): JobTransition {
  collected = [];
  const next = jobMachine.transition(snapshot, event as Parameters<typeof jobMachine.transition>[1], scope());
  const actions = collected;
  collected = [];
  const changed = next !== snapshot && (next.value !== snapshot.value || next.context !== snapshot.context);
  const effects = effectsOf(actions);
  return {
    snapshot: next,
    status: statusOf(next),
    changed,
    accepted: changed || effects.length > 0,
    effects,
  };
}

/**
 * The event a state waits for on its own (its `after` transition), which the
 * host sends when the delay it was given in a `republish` effect has passed;
 * undefined for a state that waits for nothing.
 */
export function dueEvent(snapshot: JobSnapshot): DueEvent | undefined {
  const node = jobMachine.getStateNodeById(`job.${statusOf(snapshot)}`);
  const type = node.after[0]?.eventType;
  return type === undefined ? undefined : { type: type as DueEvent["type"] };
}

/** The JSON-safe form stored in the database. */
export function persistJob(snapshot: JobSnapshot): PersistedJob {
  return { value: statusOf(snapshot), context: { ...snapshot.context } };
}

/** Rebuilds a snapshot from its stored form. */
export function restoreJob(persisted: PersistedJob): JobSnapshot {
  return jobMachine.resolveState({ value: persisted.value, context: persisted.context });
}
