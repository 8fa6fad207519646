/**
 * The worker's slots: every pulled message holds one from the pull until it is
 * settled (ack, nak, term) or abandoned (left to redelivery after a lost
 * lease or a shutdown that could not commit), and a message of a kind with a
 * concurrency limit also holds one of its kind's slots. {@link Slots.#free} is
 * the one place a slot is given back, once per message, whatever the path.
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { Logger } from "../observability/logger.ts";

/** How a message is settled: removed, removed for good (never processable), or given back after a delay. */
export type Settlement = "ack" | "term" | { nakMs: number };

/** Slots of one worker. */
export class Slots {
  readonly #capacity: number;
  readonly #logger: Logger;
  #used = 0;
  #waiters: (() => void)[] = [];
  /** Messages holding a slot, and the kind slot each holds (if any). */
  #held = new Map<JobDelivery, string | undefined>();
  #byKind = new Map<string, number>();

  constructor(options: { capacity: number; logger: Logger }) {
    this.#capacity = options.capacity;
    this.#logger = options.logger;
  }

  /** Slots free now. */
  get free(): number {
    return this.#capacity - this.#used;
  }

  /** Resolves when a slot may be free (or on {@link wakeAll}). */
  whenFree(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes every waiter (at shutdown). */
  wakeAll(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Pulled messages take a slot each. */
  take(deliveries: readonly JobDelivery[]): void {
    for (const delivery of deliveries) {
      if (this.#held.has(delivery)) continue;
      this.#held.set(delivery, undefined);
      this.#used++;
    }
  }

  /**
   * Takes a slot of `kind` for a message, unless `limit` of that kind are
   * already held. Other batches in flight see it at once.
   */
  takeKind(delivery: JobDelivery, kind: string, limit: number): boolean {
    if (!this.#held.has(delivery)) return false;
    if (this.#held.get(delivery) === kind) return true;
    const used = this.#byKind.get(kind) ?? 0;
    if (used >= limit) return false;
    this.#byKind.set(kind, used + 1);
    this.#held.set(delivery, kind);
    return true;
  }

  /** Settles a message and frees its slots. Settling twice does nothing. */
  async settle(delivery: JobDelivery, how: Settlement, reason?: string): Promise<void> {
    if (!this.#held.has(delivery)) return;
    this.#free(delivery);
    try {
      if (how === "ack") await delivery.ack();
      else if (how === "term") await delivery.term(reason);
      else await delivery.nak(how.nakMs);
    } catch (error) {
      this.#logger.warn(
        { err: error, seq: delivery.seq },
        "Cannot settle a job message; it will be redelivered",
      );
    }
  }

  /** Frees a message's slots without settling it: the bus redelivers it after its ack deadline. */
  abandon(delivery: JobDelivery): void {
    if (this.#held.has(delivery)) this.#free(delivery);
  }

  /** The one place a slot is given back. */
  #free(delivery: JobDelivery): void {
    const kind = this.#held.get(delivery);
    this.#held.delete(delivery);
    this.#used--;
    if (kind !== undefined) {
      const left = (this.#byKind.get(kind) ?? 1) - 1;
      if (left <= 0) this.#byKind.delete(kind);
      else this.#byKind.set(kind, left);
    }
    this.wakeAll();
  }
}
