/**
 * An append-only record stream of the in-memory bus (events or logs), bounded as
 * the JetStream ones are (`discard: old`): total bytes (with what a record costs
 * in memory beyond them), records per subject and age. Past a bound the oldest records go first and their data is released;
 * expired records go at the next append or replay. Live followers see every
 * record appended.
 *
 * @module
 */
import type { Headers, StreamInfo, StreamRecord } from "./bus.ts";

/** Bounds of one stream. */
export interface StreamBounds {
  /** Bytes kept: subject, headers and data of each record, plus {@link RECORD_OVERHEAD_BYTES}. */
  maxBytes: number;
  /** Records kept per subject. */
  maxPerSubject: number;
  /** Records kept at most this long. */
  maxAgeMs: number;
  /** What each record costs beyond its subject, headers and data; default {@link RECORD_OVERHEAD_BYTES}. */
  overheadBytes?: number;
}

interface Kept {
  /** Undefined once removed: the data is released, the entry waits to leave the global queue. */
  record: StreamRecord | undefined;
  size: number;
  at: number;
}

/** A first-in first-out queue with O(1) removal at the front (`Array.shift()` is O(n) on long arrays). */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Keeps the items `keep` says yes to, in order. */
  filter(keep: (item: T) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter((item) => item !== undefined && keep(item));
    this.#head = 0;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}

const encoder = new TextEncoder();

/**
 * What a record costs in this process beyond its subject, headers and data,
 * counted against `maxBytes` so the bound is about memory: the record and its
 * queue entries, its `Uint8Array` and `ArrayBuffer`, the headers object and the
 * subject string. A heap snapshot of 80,000 job events (about 165 bytes each)
 * showed about 470 bytes more a record, rounded up here; JetStream adds a
 * smaller overhead of its own to each message.
 */
export const RECORD_OVERHEAD_BYTES = 512;

function sizeOf(subject: string, data: Uint8Array, headers: Headers, overhead: number): number {
  let size = overhead + encoder.encode(subject).byteLength + data.byteLength;
  for (const [key, value] of Object.entries(headers)) size += key.length + value.length + 4;
  return size;
}

/** One bounded stream. */
export class RecordStream {
  readonly followers = new Set<(record: StreamRecord) => void>();
  readonly #bounds: StreamBounds;
  readonly #now: () => number;
  /** Every record in order; removed ones linger (record undefined) until they reach the front. */
  #all = new Fifo<Kept>();
  #removedInAll = 0;
  #bySubject = new Map<string, Fifo<Kept>>();
  #bytes = 0;
  #messages = 0;
  #seq = 0;

  constructor(bounds: StreamBounds, now: () => number = Date.now) {
    this.#bounds = bounds;
    this.#now = now;
  }

  /** Stores a record, trims past the bounds, then tells the followers. */
  append(subject: string, data: Uint8Array, headers: Headers): StreamRecord {
    const now = this.#now();
    const record: StreamRecord = { subject, seq: ++this.#seq, data, headers };
    const kept: Kept = {
      record,
      size: sizeOf(subject, data, headers, this.#bounds.overheadBytes ?? RECORD_OVERHEAD_BYTES),
      at: now,
    };
    this.#all.push(kept);
    let mine = this.#bySubject.get(subject);
    if (mine === undefined) this.#bySubject.set(subject, mine = new Fifo());
    mine.push(kept);
    this.#bytes += kept.size;
    this.#messages++;
    while (mine.length > this.#bounds.maxPerSubject) this.#removeFirstOf(mine, subject);
    this.#trim(now);
    for (const follower of this.followers) follower(record);
    return record;
  }

  /** Records after `afterSeq`, of `subject` (or all), oldest first. */
  replay(subject: string | undefined, afterSeq: number): StreamRecord[] {
    this.#trim(this.#now());
    const source = subject === undefined ? this.#all : this.#bySubject.get(subject);
    const out: StreamRecord[] = [];
    for (const kept of source ?? []) {
      if (kept.record !== undefined && kept.record.seq > afterSeq) out.push(kept.record);
    }
    return out;
  }

  /** Records and bytes kept now. */
  info(): StreamInfo {
    this.#trim(this.#now());
    return { messages: this.#messages, bytes: this.#bytes };
  }

  /** Removes the oldest records while over the byte bound or past the age. */
  #trim(now: number): void {
    const oldest = now - this.#bounds.maxAgeMs;
    for (;;) {
      const first = this.#all.peek();
      if (first === undefined) break;
      if (first.record === undefined) {
        this.#all.shift();
        this.#removedInAll--;
        continue;
      }
      if (this.#bytes <= this.#bounds.maxBytes && first.at > oldest) break;
      const subject = first.record.subject;
      const mine = this.#bySubject.get(subject) as Fifo<Kept>;
      this.#removeFirstOf(mine, subject);
    }
    // Removed entries stuck behind a long-lived record: drop them once they outnumber the live ones.
    if (this.#removedInAll > 1024 && this.#removedInAll > this.#messages) {
      this.#all.filter((kept) => kept.record !== undefined);
      this.#removedInAll = 0;
    }
  }

  /** Removes the oldest record of one subject; it leaves the global queue lazily. */
  #removeFirstOf(mine: Fifo<Kept>, subject: string): void {
    const kept = mine.shift() as Kept;
    if (mine.length === 0) this.#bySubject.delete(subject);
    kept.record = undefined;
    this.#bytes -= kept.size;
    this.#messages--;
    this.#removedInAll++;
  }
}
