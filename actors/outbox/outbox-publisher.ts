/**
 * Publishes committed `job_events` rows on the bus, then marks them published.
 * Rows are queued right after their transaction commits and flushed in batches;
 * rows a crash left behind are picked up by {@link OutboxPublisher.relayStale}.
 * A row is never published before its transaction committed, so no event
 * describes a state that was rolled back.
 *
 * @module
 */
import type { Bus } from "../../bus/bus.ts";
import type { JobEventRow, Store } from "../../adapters/postgres/store.ts";
import type { Logger } from "../observability/logger.ts";
import { encodeEventRows } from "../jobs/event-message.ts";

export class OutboxPublisher {
  #bus: Bus;
  #store: Store;
  #log: Logger;
  #queue: JobEventRow[] = [];
  #flushing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  published = 0;

  constructor(options: { bus: Bus; store: Store; logger: Logger }) {
    this.#bus = options.bus;
    this.#store = options.store;
    this.#log = options.logger;
  }

  /** Queues committed rows; they are published within a few milliseconds. */
  enqueue(rows: JobEventRow[]): void {
    if (rows.length === 0) return;
    for (const row of rows) this.#queue.push(row);
    if (this.#queue.length >= 1000) void this.flush();
    else if (!this.#timer && !this.#closed) this.#timer = setTimeout(() => void this.flush(), 2);
  }

  /** Publishes everything queued. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#flushing) await this.#flushing;
    if (this.#queue.length === 0) return;
    const rows = this.#queue.splice(0, this.#queue.length);
    this.#flushing = this.#publish(rows).finally(() => {
      this.#flushing = undefined;
    });
    await this.#flushing;
    if (this.#queue.length > 0) await this.flush();
  }

  async #publish(rows: JobEventRow[]): Promise<void> {
    try {
      await this.#bus.publishEvents(encodeEventRows(rows));
    } catch (error) {
      // Left unpublished in the outbox: relayStale() retries them.
      this.#log.warn(
        { err: error, count: rows.length },
        "Cannot publish job events now; the outbox relay will retry",
      );
      return;
    }
    try {
      const outboxIds = new Set<number>();
      for (const row of rows) if (row.outboxId !== undefined) outboxIds.add(row.outboxId);
      await this.#store.markPublished([...outboxIds]);
      this.published += rows.length;
    } catch (error) {
      // Published but not marked: a relay republishes them with the same msg id (deduped).
      this.#log.warn(
        { err: error, count: rows.length },
        "Cannot mark job events published; they may be sent again",
      );
    }
  }

  /** Publishes rows left unpublished for `olderThanMs` (a crash between commit and publish). */
  async relayStale(olderThanMs: number, limit = 1000): Promise<number> {
    const rows = await this.#store.unpublishedEvents(olderThanMs, limit);
    if (rows.length > 0) await this.#publish(rows);
    return rows.length;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
