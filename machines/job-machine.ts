/**
 * The job machine, the brain of a job. PURE: it imports xstate and its own
 * folder, nothing else; no clock, no randomness, no I/O. A host drives it with
 * `applyJobEvent()` (machines/job-transition.ts, xstate's pure `transition()`), which returns the next
 * snapshot and the {@link JobEffect}s the host carries out: it commits the
 * write derived from the two snapshots (machines/job-write.ts), then runs the
 * effects (start or abort the handler, republish the message after a delay),
 * then settles the message (ack or nak).
 *
 * States are named exactly as the `jobs.status` column:
 * `pending → locked → running → success | retry | failed`, `retry → pending`
 * after a backoff (the machine's own delayed transition), `cancelled` from any
 * state but the final ones, and `failed | cancelled → pending` by a redrive.
 *
 * @module
 */
import { assign, setup, type SnapshotFrom } from "xstate";
import type { JobErrorInfo } from "./errors.ts";
import type { AbortWhy } from "./job-kind.ts";
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
  /**
   * What the last finished attempt produced: the handler's result on success,
   * and on failure or cancel whatever structured outcome it gave (an exec
   * command's exit code, signal, OOM flag, CPU and memory), else null.
   */
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
  | { type: "job.fail"; error: JobErrorInfo; jitter: number; result?: unknown }
  | { type: "job.reject"; error: JobErrorInfo }
  | { type: "job.release" }
  /** The attempt's time limit passed: abort the handler; its end is the attempt's outcome. */
  | { type: "job.timeout" }
  /** The holder learnt its lease is gone (taken over): abort the handler, write nothing. */
  | { type: "lease.lost" }
  | { type: "job.cancel"; reason?: string }
  /** The outcome of the attempt a cancel interrupted, arriving after the cancel. */
  | { type: "job.outcome"; result: unknown }
  /** Brings a failed or cancelled job back (the dead-letter redrive). */
  | { type: "job.redrive" }
  /** The machine's own delayed event (see `dueEvent()` in job-transition.ts): the backoff has passed. */
  | DueEvent;

/** A delayed event the machine schedules itself (xstate's `after`), sent back by the host when due. */
export interface DueEvent {
  type: `xstate.after.${string}`;
}

/** The context of a new job. */
export function initialJobContext(input: JobInput): JobContext {
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

const abort = (reason: AbortWhy) => ({ type: "abort", params: { reason } }) as const;
const nakNow = { type: "nak", params: { delayMs: 0 } } as const;

/** The job machine. */
export const jobMachine = setup({
  types: {} as { context: JobContext; events: JobEvent; input: JobInput },
  guards: {
    canRetry: ({ context, event }) =>
      event.type === "job.fail" && event.error.kind === "transient" && context.attempts < context.maxAttempts,
    lostAttemptLeft: ({ context }) => context.attempts < context.maxAttempts,
  },
  actions: {
    // Effects: named, parameterised, without implementations. The host carries them out.
    run: (_, _params: { attempt: number }) => {},
    abort: (_, _params: { reason: AbortWhy }) => {},
    republish: (_, _params: { delayMs: number }) => {},
    ack: () => {},
    nak: (_, _params: { delayMs: number }) => {},
    assignCancelled: assign(({ event }) => ({
      lastError: {
        kind: "permanent" as const,
        code: "CANCELLED",
        message: (event.type === "job.cancel" ? event.reason : undefined) ?? "Cancelled",
      },
      workerId: null,
      retryDelayMs: null,
    })),
    assignLease: assign(({ event }) =>
      event.type === "job.lock" || event.type === "job.takeover"
        ? { workerId: event.workerId, leaseVersion: event.leaseVersion }
        : {}
    ),
    assignRedrive: assign({ attempts: 0, workerId: null, retryDelayMs: null }),
  },
  delays: {
    retryBackoff: ({ context }) => context.retryDelayMs ?? 0,
  },
}).createMachine({
  id: "job",
  initial: "pending",
  context: ({ input }) => initialJobContext(input),
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
        "job.release": { target: "pending", actions: [assign({ workerId: null }), nakNow] },
        "job.cancel": { target: "cancelled", actions: "assignCancelled" },
      },
    },
    running: {
      entry: { type: "run", params: ({ context }) => ({ attempt: context.attempts }) },
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
              result: event.result ?? null,
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
            actions: assign(({ event }) => ({
              lastError: event.error,
              result: event.result ?? null,
              workerId: null,
              retryDelayMs: null,
            })),
          },
        ],
        // No target: the handler is aborted and its end is the attempt's outcome.
        "job.timeout": { actions: abort("timeout") },
        // No target: the job goes on elsewhere; this host only stops its handler.
        "lease.lost": { actions: abort("lease-lost") },
        // A successor found the attempt's lease expired: the attempt counts as lost.
        "job.takeover": [
          {
            guard: "lostAttemptLeft",
            target: "locked",
            actions: ["assignLease", assign(({ context }) => ({ lastError: workerLost(context.attempts) }))],
          },
          {
            target: "failed",
            actions: assign(({ context }) => ({ lastError: workerLost(context.attempts), workerId: null })),
          },
        ],
        // A graceful release gives the attempt back: it was interrupted, not failed.
        "job.release": {
          target: "pending",
          actions: [
            abort("shutdown"),
            assign(({ context }) => ({ workerId: null, attempts: Math.max(0, context.attempts - 1) })),
            nakNow,
          ],
        },
        "job.cancel": { target: "cancelled", actions: [abort("cancel"), "assignCancelled"] },
      },
    },
    retry: {
      entry: "ack",
      // The host carries the delay out durably (run_at, a republished message) and sends this back when due.
      after: { retryBackoff: "pending" },
      on: {
        "job.cancel": { target: "cancelled", actions: "assignCancelled" },
      },
    },
    success: { type: "final", entry: "ack" },
    // Final for the worker; only a redrive brings them back.
    failed: {
      entry: "ack",
      on: {
        "job.redrive": {
          target: "pending",
          actions: ["assignRedrive", { type: "republish", params: { delayMs: 0 } }],
        },
      },
    },
    cancelled: {
      entry: "ack",
      on: {
        "job.outcome": { actions: assign(({ event }) => ({ result: event.result ?? null })) },
        "job.redrive": {
          target: "pending",
          actions: ["assignRedrive", { type: "republish", params: { delayMs: 0 } }],
        },
      },
    },
  },
});

/** A snapshot of the job machine. */
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** What is stored in `jobs.snapshot`: plain JSON. */
export interface PersistedJob {
  value: JobStatus;
  context: JobContext;
}
