/**
 * The worker: pulls job messages in batches, admits and locks them in
 * PostgreSQL, runs each job's machine and handler, commits every transition
 * (guarded by the lease's fencing token), then carries out what the machine
 * said (start or abort the handler, republish, ack or nak). PostgreSQL is the
 * truth; the bus is the doorbell.
 *
 * Its parts, one concept a file: the pull loop (here), slots (slots.ts: the
 * one place a slot is freed), admission (admission.ts, with job-plans.ts and
 * admit-separately.ts), running attempts (attempt.ts), outcome commits
 * (outcome-commits.ts), heartbeats and lost leases (lease-keeper.ts), and the
 * effects of the machine (effects.ts).
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { TransitionWrite } from "../../adapters/postgres/store.ts";
import { applyJobEvent } from "../../machines/job-transition.ts";
import { jobWrite } from "../../machines/job-write.ts";
import { Admission } from "./admission.ts";
import { type Attempt, finishAttempt, startAttempt, targetOf } from "./attempt.ts";
import { carryOut } from "./effects.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { OutcomeCommits } from "./outcome-commits.ts";
import { Slots } from "./slots.ts";
import {
  emptyStats,
  resolveWorkerOptions,
  sleep,
  type WorkerOptions,
  type WorkerState,
  type WorkerStats,
} from "./worker-options.ts";

export type { WorkerOptions, WorkerStats } from "./worker-options.ts";

/** Batches admitted and locked at once: the next batch forms while these are in the database. */
const MAX_ADMITTING = 2;

export class Worker {
  readonly id: string;
  readonly stats: WorkerStats = emptyStats();
  #state: WorkerState;
  #admission: Admission;
  #outcomes: OutcomeCommits;
  #leases: LeaseKeeper;
  #pullAbort = new AbortController();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #batches = new Set<Promise<void>>();
  #admitting = 0;
  #admitWaiters: (() => void)[] = [];

  constructor(options: WorkerOptions) {
    const o = resolveWorkerOptions(options);
    this.id = options.workerId;
    this.#state = {
      id: this.id,
      o,
      stats: this.stats,
      slots: new Slots({ capacity: o.concurrency, logger: o.logger }),
      running: new Map<string, Attempt>(),
      giveUpAt: undefined,
    };
    this.#outcomes = new OutcomeCommits(this.#state);
    this.#leases = new LeaseKeeper(this.#state);
    this.#admission = new Admission(this.#state, (start) => {
      startAttempt(this.#state, start, (attempt, end) => this.#outcomes.complete(attempt, end));
    });
  }

  /** Jobs this worker runs now. */
  get inFlight(): number {
    return this.#state.running.size;
  }

  /** Starts pulling. */
  start(): void {
    if (this.#loop) return;
    this.#leases.start();
    this.#loop = this.#pullLoop();
  }

  async #pullLoop(): Promise<void> {
    const { o, slots, stats } = this.#state;
    let failures = 0;
    while (!this.#stopping) {
      const free = slots.free;
      if (free <= 0) {
        await slots.whenFree();
        continue;
      }
      // Batches form while earlier ones are in the database: at most two admit/lock at once.
      while (this.#admitting >= MAX_ADMITTING && !this.#stopping) {
        await new Promise<void>((resolve) => this.#admitWaiters.push(resolve));
      }
      if (this.#stopping) break;
      let deliveries: JobDelivery[];
      try {
        deliveries = await o.bus.pullJobs({
          max: Math.min(o.batchSize, free),
          expiresMs: 1000,
          signal: this.#pullAbort.signal,
        });
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        failures++;
        o.logger.warn({ err: error, failures }, "Cannot pull jobs; retrying");
        await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
        continue;
      }
      if (deliveries.length === 0) continue;
      if (this.#stopping) {
        await Promise.allSettled(deliveries.map((d) => d.nak(0)));
        break;
      }
      slots.take(deliveries);
      stats.received += deliveries.length;
      const again = deliveries.filter((d) => d.deliveryCount > 1).length;
      if (again > 0) o.metrics.redelivered(again);
      this.#admitting++;
      const batch = this.#admission.admit(deliveries).catch(async (error) => {
        o.logger.error({ err: error }, "Batch failed unexpectedly; its messages will be redelivered");
        const handedOff = new Set([...this.#state.running.values()].map((a) => a.delivery));
        await Promise.all(
          deliveries.filter((d) => !handedOff.has(d)).map((d) => slots.settle(d, { nakMs: 1000 })),
        );
      }).finally(() => {
        this.#admitting--;
        for (const wake of this.#admitWaiters.splice(0)) wake();
      });
      this.#batches.add(batch);
      void batch.finally(() => this.#batches.delete(batch));
    }
  }

  /**
   * Stops pulling, lets running jobs finish within `graceMs`, then releases the
   * rest (the machine's `job.release`: back to pending, handler aborted, message
   * given back at once) and flushes the outbox.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    const { o, slots, running } = this.#state;
    this.#stopping = true;
    this.#state.giveUpAt = Date.now() + graceMs + 5000;
    this.#pullAbort.abort();
    slots.wakeAll();
    for (const wake of this.#admitWaiters.splice(0)) wake();
    await this.#loop?.catch(() => {});
    await Promise.allSettled([...this.#batches]);
    const deadline = Date.now() + graceMs;
    while (running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, graceMs));
    await this.#outcomes.flush();
    const left = [...running.values()].filter((attempt) => !attempt.abandoned);
    if (left.length > 0) {
      o.logger.info({ count: left.length }, "Grace period over; releasing running jobs");
      const writes: TransitionWrite[] = [];
      const released = left.map((attempt) => {
        // Its end, if it comes now, is not committed: the release is.
        attempt.abandoned = true;
        const next = applyJobEvent(attempt.snapshot, { type: "job.release" });
        writes.push({
          id: attempt.id,
          leaseVersion: attempt.leaseVersion,
          ...jobWrite(attempt.snapshot, [{ snapshot: next.snapshot }]),
        });
        return { attempt, effects: next.effects };
      });
      try {
        const committed = await o.store.commit(writes);
        o.outbox.enqueue(committed.events);
      } catch (error) {
        o.logger.warn({ err: error }, "Cannot release jobs; their leases will expire instead");
      }
      await Promise.all(released.map(async ({ attempt, effects }) => {
        const target = targetOf(attempt);
        finishAttempt(this.#state, attempt);
        await carryOut(this.#state, target, effects);
      }));
    }
    this.#leases.stop();
    await o.outbox.flush();
  }
}
