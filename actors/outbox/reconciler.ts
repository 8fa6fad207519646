/**
 * The reconciler: nothing waits forever. Periodically it republishes jobs that
 * PostgreSQL says should be on the bus but may not be (a lost message, a crashed
 * publisher, a retry whose republish failed), and relays outbox rows a crash left
 * unpublished. Several reconcilers share the work (`FOR UPDATE SKIP LOCKED`).
 *
 * @module
 */
import type { Bus } from "../../bus/bus.ts";
import type { Store } from "../../adapters/postgres/store.ts";
import type { Logger } from "../observability/logger.ts";
import type { OutboxPublisher } from "./outbox-publisher.ts";
import { encodeEnvelope } from "../../bus/envelope.ts";

export interface ReconcilerOptions {
  bus: Bus;
  store: Store;
  outbox: OutboxPublisher;
  logger: Logger;
  /** How often it looks. Default 5,000 ms. */
  intervalMs?: number;
  /** How late a job must be before it is republished. Default 30,000 ms. */
  graceMs?: number;
}

export class Reconciler {
  #o: Required<ReconcilerOptions>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  republished = 0;

  constructor(options: ReconcilerOptions) {
    this.#o = { intervalMs: 5000, graceMs: 30_000, ...options };
  }

  start(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().then(() => {}, (error) => {
        this.#o.logger.warn({ err: error }, "Reconciler pass failed; trying again later");
      }).finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, this.#o.intervalMs);
  }

  /** One pass: republish stale jobs, relay stale outbox rows. Returns how many jobs it republished. */
  async runOnce(): Promise<number> {
    const { store, bus, logger, graceMs } = this.#o;
    let total = 0;
    for (;;) {
      const stale = await store.claimStale(graceMs, 500);
      for (const job of stale) {
        await bus.publishJob(job.kind, encodeEnvelope({ id: job.id }), {
          msgId: `${job.id}:rc:${job.attempts}:${Date.now()}`,
        });
      }
      total += stale.length;
      if (stale.length < 500) break;
    }
    if (total > 0) logger.info({ count: total }, "Republished jobs whose message was late or lost");
    this.republished += total;
    await this.#o.outbox.relayStale(Math.min(graceMs, 5000));
    return total;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
