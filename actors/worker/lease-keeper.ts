/**
 * The lease keeper: every `heartbeatMs` extends the database leases and the
 * message ack deadlines of the attempts running here, in one statement. An
 * attempt whose lease is gone stops here: when the job was cancelled the
 * machine's `job.cancel` aborts it (reason `cancel`) and acks its message, and
 * its outcome is later added to the cancelled job; otherwise `lease.lost`
 * aborts it (reason `lease-lost`) and the message is left to the successor
 * (acked when the job already ended elsewhere).
 *
 * @module
 */
import { isFinalStatus } from "../../machines/job-status.ts";
import { applyJobEvent } from "../../machines/job-transition.ts";
import { snapshotOfStored } from "../../machines/job-write.ts";
import { type Attempt, finishAttempt, targetOf } from "./attempt.ts";
import { carryOut } from "./effects.ts";
import type { WorkerState } from "./worker-options.ts";

/** Keeps the leases of a worker's running attempts. */
export class LeaseKeeper {
  readonly #state: WorkerState;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(state: WorkerState) {
    this.#state = state;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.beat(), this.#state.o.heartbeatMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One heartbeat. */
  async beat(): Promise<void> {
    const { o, running } = this.#state;
    const attempts = [...running.values()].filter((a) => !a.abandoned);
    if (attempts.length === 0) return;
    let held: Set<string>;
    try {
      held = new Set(
        await o.store.heartbeat(attempts.map((a) => ({ id: a.id, leaseVersion: a.leaseVersion })), o.leaseMs),
      );
    } catch (error) {
      o.logger.warn({ err: error }, "Cannot extend leases now");
      return;
    }
    await Promise.all(attempts.map(async (attempt) => {
      if (held.has(attempt.id)) {
        await attempt.delivery.working().catch(() => {});
        return;
      }
      if (!attempt.abandoned) await this.#lost(attempt);
    }));
  }

  /** Stops an attempt whose lease is gone, as the machine says. */
  async #lost(attempt: Attempt): Promise<void> {
    const { o, slots } = this.#state;
    attempt.abandoned = true;
    finishAttempt(this.#state, attempt);
    const current = await o.store.getJob(attempt.id).catch(() => undefined);
    o.logger.info({ jobId: attempt.id, status: current?.status }, "Lease lost; stopped the job here");
    if (current?.status === "cancelled") {
      // What is stored is what the cancel committed; the attempt's outcome is added to it.
      attempt.cancelled = { snapshot: snapshotOfStored(current), leaseVersion: current.leaseVersion };
      const cancel = applyJobEvent(attempt.snapshot, { type: "job.cancel" });
      await carryOut(this.#state, targetOf(attempt), cancel.effects);
      return;
    }
    const lost = applyJobEvent(attempt.snapshot, { type: "lease.lost" });
    await carryOut(this.#state, targetOf(attempt), lost.effects);
    // The job ended elsewhere: nothing is left to do for this message. Else its successor has it.
    if (current && isFinalStatus(current.status)) await slots.settle(attempt.delivery, "ack");
    else slots.abandon(attempt.delivery);
  }
}
