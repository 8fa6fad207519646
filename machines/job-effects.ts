/**
 * The effects of a job transition: what the host carries out after committing
 * the write derived from the transition (machines/job-write.ts). The machine
 * names them as parameterised actions; {@link effectsOf} turns xstate's action
 * list into this plain list. Pure: no I/O.
 *
 * - `run`: start the handler for attempt `attempt`.
 * - `abort`: abort the running handler's signal with a {@link AbortWhy} reason.
 * - `republish`: put the job's message back on the bus, due after `delayMs`.
 *   A retry's backoff is the machine's own delayed transition (`after`); the
 *   host carries the delay out durably (the job's `run_at` and a new message,
 *   which whoever receives it early gives back until it is due), then sends the
 *   machine the `event` it scheduled (see `dueEvent()`).
 * - `ack` / `nak`: settle the message that brought the job (nak: deliver it
 *   again after `delayMs`). Always last in the list: the message is settled
 *   once everything else for the job is done.
 *
 * xstate's `xstate.cancel` (leaving `retry` before the delay passed) needs no
 * effect: the next write moves `run_at`, and a message that arrives for a job
 * in another state is handled by what that state accepts.
 *
 * @module
 */
import type { AbortWhy } from "./job-kind.ts";

/** One effect; see the module header. */
export type JobEffect =
  | { type: "run"; attempt: number }
  | { type: "abort"; reason: AbortWhy }
  | { type: "republish"; delayMs: number; event?: { type: string } }
  | { type: "ack" }
  | { type: "nak"; delayMs: number };

/** The names of effects, in the order a host carries them out when several come at once. */
const ORDER: Record<JobEffect["type"], number> = { abort: 0, republish: 1, run: 2, ack: 3, nak: 3 };

/** Maps xstate's executed actions (type and resolved params) to effects. */
export function effectsOf(actions: readonly { type: string; params?: unknown }[]): JobEffect[] {
  const effects: JobEffect[] = [];
  for (const action of actions) {
    const params = (action.params ?? {}) as Record<string, unknown>;
    switch (action.type) {
      case "run":
        effects.push({ type: "run", attempt: Number(params.attempt) });
        break;
      case "abort":
        effects.push({ type: "abort", reason: params.reason as AbortWhy });
        break;
      case "republish":
        effects.push({ type: "republish", delayMs: Number(params.delayMs ?? 0) });
        break;
      case "ack":
        effects.push({ type: "ack" });
        break;
      case "nak":
        effects.push({ type: "nak", delayMs: Number(params.delayMs ?? 0) });
        break;
      case "xstate.raise":
        // A delayed event the machine schedules for itself: the host carries the delay out.
        if (typeof params.delay === "number") {
          effects.push({
            type: "republish",
            delayMs: params.delay,
            event: { type: String((params.event as { type?: unknown } | undefined)?.type) },
          });
        }
        break;
    }
  }
  // Stable: effects of one kind keep the machine's order.
  return effects.map((effect, i) => ({ effect, i }))
    .sort((a, b) => ORDER[a.effect.type] - ORDER[b.effect.type] || a.i - b.i)
    .map(({ effect }) => effect);
}
