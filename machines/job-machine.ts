/**
 * The job machine. PURE: it imports xstate and its own folder, nothing else; no
 * clock, no randomness, no I/O. Hosts (actors/worker/worker.ts) drive it with
 * `applyJobEvent()` (xstate's pure `transition()`), commit the resulting snapshot,
 * then run the named actions it lists (`runHandler`, `abortHandler`,
 * `scheduleRetry`), then ack.
 *
 * States are named exactly as the `jobs.status` column:
 * `pending → locked → running → success | retry | failed`, `retry → pending`
 * after a backoff, and `cancelled` from any non-final state.
 *
 * @module
 */
import { type AnyActorScope, assign, createActor, setup, type SnapshotFrom } from "xstate";
import type { JobErrorInfo } from "./errors.ts";
import type { JobStatus } from "./job-status.ts";
import { backoffDelayMs } from "./backoff.ts";

/** What a job machine starts from. */
export interface JobInput {
  id: string;
  kind: string;
  maxAttempts: number;
  backoff?: { baseMs: number; maxMs: number };
}

/** The machine's context: plain JSON. */
export interface JobContext {
  id: string;
  kind: string;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  workerId: string | null;
  /** The fencing token of the current lease. */
  leaseVersion: number;
  lastError: JobErrorInfo | null;
  result: unknown;
  /** Delay before the next attempt, set on entering `retry`. */
  retryDelayMs: number | null;
}

/** Events, with dotted names. */
export type JobEvent =
  | { type: "job.lock"; workerId: string; leaseVersion: number }
  | { type: "job.takeover"; workerId: string; leaseVersion: number }
  | { type: "job.start" }
  | { type: "job.succeed"; result?: unknown }
  | { type: "job.fail"; error: JobErrorInfo; jitter: number }
  | { type: "job.reject"; error: JobErrorInfo }
  | { type: "job.release" }
  | { type: "backoff.elapsed" }
  | { type: "job.cancel"; reason?: string };

/** The context of a new job. */
function initialContext(input: JobInput): JobContext {
  return {
    id: input.id,
    kind: input.kind,
    attempts: 0,
    maxAttempts: input.maxAttempts,
    backoff: input.backoff ?? { baseMs: 1000, maxMs: 300_000 },
    workerId: null,
    leaseVersion: 0,
    lastError: null,
    result: null,
    retryDelayMs: null,
  };
}

const workerLost = (attempt: number): JobErrorInfo => ({
  kind: "transient",
  code: "WORKER_LOST",
  message: `Worker lost during attempt ${attempt}`,
});

/** The job machine. */
export const jobMachine = setup({
  types: {} as { context: JobContext; events: JobEvent; input: JobInput },
  guards: {
    canRetry: ({ context, event }) =>
      event.type === "job.fail" && event.error.kind === "transient" && context.attempts < context.maxAttempts,
    lostAttemptLeft: ({ context }) => context.attempts < context.maxAttempts,
  },
  actions: {
    runHandler: () => {},
    abortHandler: () => {},
    scheduleRetry: () => {},
    assignCancelled: assign(({ event }) => ({
      lastError: {
        kind: "permanent" as const,
        code: "CANCELLED",
        message: (event.type === "job.cancel" ? event.reason : undefined) ?? "Cancelled",
      },
      workerId: null,
    })),
    assignLease: assign(({ event }) =>
      event.type === "job.lock" || event.type === "job.takeover"
        ? { workerId: event.workerId, leaseVersion: event.leaseVersion }
        : {}
    ),
  },
  delays: {
    retryBackoff: ({ context }) => context.retryDelayMs ?? 0,
  },
}).createMachine({
  id: "job",
  initial: "pending",
  context: ({ input }) => initialContext(input),
  states: {
    pending: {
      on: {
        "job.lock": { target: "locked", actions: "assignLease" },
        "job.reject": { target: "failed", actions: assign(({ event }) => ({ lastError: event.error })) },
        "job.cancel": { target: "cancelled", actions: "assignCancelled" },
      },
    },
    locked: {
      on: {
        "job.start": {
          target: "running",
          actions: assign(({ context }) => ({ attempts: context.attempts + 1 })),
        },
        "job.takeover": { target: "locked", reenter: true, actions: "assignLease" },
        "job.reject": {
          target: "failed",
          actions: assign(({ event }) => ({ lastError: event.error, workerId: null })),
        },
        "job.release": { target: "pending", actions: assign({ workerId: null }) },
        "job.cancel": { target: "cancelled", actions: "assignCancelled" },
      },
    },
    running: {
      entry: "runHandler",
      on: {
        "job.succeed": {
          target: "success",
          actions: assign(({ event }) => ({ result: event.result ?? null, lastError: null, workerId: null })),
        },
        "job.fail": [
          {
            guard: "canRetry",
            target: "retry",
            actions: assign(({ context, event }) => ({
              lastError: event.error,
              workerId: null,
              retryDelayMs: backoffDelayMs({
                attempt: context.attempts,
                baseMs: context.backoff.baseMs,
                maxMs: context.backoff.maxMs,
                jitter: event.jitter,
                ...(event.error.retryAfterMs === undefined ? {} : { retryAfterMs: event.error.retryAfterMs }),
              }),
            })),
          },
          {
            target: "failed",
            actions: assign(({ event }) => ({ lastError: event.error, workerId: null, retryDelayMs: null })),
          },
        ],
        "job.takeover": [
          {
            guard: "lostAttemptLeft",
            target: "locked",
            actions: [
              "abortHandler",
              "assignLease",
              assign(({ context }) => ({ lastError: workerLost(context.attempts) })),
            ],
          },
          {
            target: "failed",
            actions: [
              "abortHandler",
              assign(({ context }) => ({ lastError: workerLost(context.attempts), workerId: null })),
            ],
          },
        ],
        // A graceful release gives the attempt back: it was interrupted, not failed.
        "job.release": {
          target: "pending",
          actions: [
            "abortHandler",
            assign(({ context }) => ({ workerId: null, attempts: Math.max(0, context.attempts - 1) })),
          ],
        },
        "job.cancel": { target: "cancelled", actions: ["abortHandler", "assignCancelled"] },
      },
    },
    retry: {
      entry: "scheduleRetry",
      after: { retryBackoff: "pending" },
      on: {
        "backoff.elapsed": "pending",
        "job.cancel": { target: "cancelled", actions: "assignCancelled" },
      },
    },
    success: { type: "final" },
    failed: { type: "final" },
    cancelled: { type: "final" },
  },
});

/** A snapshot of the job machine. */
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** What is stored in `jobs.snapshot`: plain JSON. */
export interface PersistedJob {
  value: JobStatus;
  context: JobContext;
}

/**
 * One inert actor scope, made once and reused: xstate's `transition()` builds a
 * new scope (and an actor with its initial snapshot) on every call, which costs
 * more than the transition itself. Transitions are synchronous, so the collected
 * actions belong to the call that set `collected`.
 */
let collected: { type: string }[] = [];
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
      actionExecutor: (action: { type: string }) => {
        collected.push(action);
      },
    } as unknown as AnyActorScope;
  }
  return inertScope;
}

/** The initial snapshot (state `pending`). */
export function createJobSnapshot(input: JobInput): JobSnapshot {
  return jobMachine.resolveState({ value: "pending", context: initialContext(input) });
}

/** The status of a snapshot. */
export function statusOf(snapshot: JobSnapshot): JobStatus {
  return snapshot.value as JobStatus;
}

/**
 * Applies one event. `changed` is false when the state does not accept it (the
 * snapshot is then returned unchanged); `actions` lists the named actions to run.
 */
export function applyJobEvent(
  snapshot: JobSnapshot,
  event: JobEvent,
): { snapshot: JobSnapshot; status: JobStatus; changed: boolean; actions: string[] } {
  collected = [];
  const next = jobMachine.transition(snapshot, event, scope());
  const actions = collected;
  collected = [];
  const changed = next !== snapshot && (next.value !== snapshot.value || next.context !== snapshot.context);
  return {
    snapshot: next,
    status: statusOf(next),
    changed,
    actions: actions.map((action) => action.type).filter((type) => !type.startsWith("xstate.")),
  };
}

/** The JSON-safe form stored in the database. */
export function persistJob(snapshot: JobSnapshot): PersistedJob {
  return { value: statusOf(snapshot), context: { ...snapshot.context } };
}

/** Rebuilds a snapshot from its stored form. */
export function restoreJob(persisted: PersistedJob): JobSnapshot {
  return jobMachine.resolveState({ value: persisted.value, context: persisted.context });
}

/** A fresh `pending` snapshot for a failed or cancelled job brought back (attempts reset, last error kept). */
export function redriveJobSnapshot(snapshot: JobSnapshot): JobSnapshot {
  const context = { ...snapshot.context, attempts: 0, workerId: null, retryDelayMs: null };
  return jobMachine.resolveState({ value: "pending", context });
}
