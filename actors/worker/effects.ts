/**
 * Carries out a job's effects (machines/job-effects.ts) after its write was
 * committed: abort the handler's signal, republish the job's message, start
 * the handler, and settle the message last. The machine decides what; this
 * file only knows how.
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import { encodeEnvelope } from "../../bus/envelope.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import { type AbortWhy, JobAbort } from "../../machines/job-kind.ts";
import type { WorkerState } from "./worker-options.ts";

/** The job the effects are about. */
export interface EffectTarget {
  id: string;
  kind: string;
  /** The message that brought the job here, settled by `ack` / `nak`. */
  delivery: JobDelivery;
  /** Attempts started so far: a republished retry carries the next one in its msg id. */
  attempts: number;
  /** The running handler's controller, for `abort`. */
  controller?: AbortController;
  /** The attempt's time limit, for the timeout's message. */
  timeoutMs?: number;
  /** Trace context for a republished message. */
  headers?: Record<string, string>;
  /** Starts the handler, for `run`. */
  run?: (attempt: number) => void;
}

/** The reason a handler's signal is aborted with. */
export function abortReason(why: AbortWhy, target: { id: string; timeoutMs?: number }): JobAbort {
  switch (why) {
    case "cancel":
      return new JobAbort(why, `Job "${target.id}" was cancelled`);
    case "timeout":
      return new JobAbort(why, `Attempt timed out after ${target.timeoutMs ?? "?"} ms`);
    case "lease-lost":
      return new JobAbort(why, `Lease of job "${target.id}" lost: another worker took it over`);
    case "shutdown":
      return new JobAbort(why, "Worker shutting down");
  }
}

/** Carries out `effects` in order (the machine puts the message's settlement last). */
export async function carryOut(
  state: WorkerState,
  target: EffectTarget,
  effects: JobEffect[],
): Promise<void> {
  for (const effect of effects) {
    switch (effect.type) {
      case "abort":
        if (target.controller && !target.controller.signal.aborted) {
          target.controller.abort(abortReason(effect.reason, target));
        }
        break;
      case "run":
        target.run?.(effect.attempt);
        break;
      case "republish":
        // A new message with a new msg id, or the dedupe window would swallow it. It is
        // due after the delay (the committed run_at): a worker receiving it earlier gives it back.
        try {
          await state.o.bus.publishJob(target.kind, encodeEnvelope({ id: target.id }), {
            msgId: `${target.id}:${target.attempts + 1}`,
            ...(target.headers ? { headers: target.headers } : {}),
          });
        } catch (error) {
          state.o.logger.warn(
            { err: error, jobId: target.id },
            "Cannot republish a retry; the reconciler will",
          );
        }
        break;
      case "ack":
        await state.slots.settle(target.delivery, "ack");
        break;
      case "nak":
        await state.slots.settle(target.delivery, { nakMs: effect.delayMs });
        break;
    }
  }
}
