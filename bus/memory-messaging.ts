/**
 * Core messaging of the in-memory bus (agent control): live publish/subscribe
 * with NATS wildcards, and request/reply with one responder per subject at a
 * time (the first registered answers, like a NATS queue group of one).
 *
 * @module
 */
import { NoResponderError, type Responder, type StreamRecord, type Subscription } from "./bus.ts";
import { subjectMatches } from "./subject-match.ts";

type Follower = (record: StreamRecord) => void;

/** Pub/sub and request/reply inside one process. */
export class MemoryMessaging {
  #followers = new Map<Follower, string>();
  #responders = new Map<string, ((data: Uint8Array) => Promise<Uint8Array> | Uint8Array)[]>();

  publish(subject: string, data: Uint8Array): Promise<void> {
    const record: StreamRecord = { subject, seq: 0, data, headers: {} };
    for (const [follower, filter] of this.#followers) if (subjectMatches(filter, subject)) follower(record);
    return Promise.resolve();
  }

  subscribe(filter: string): Subscription {
    const queue: StreamRecord[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const follower: Follower = (record) => {
      queue.push(record);
      wake?.();
    };
    this.#followers.set(follower, filter);
    const followers = this.#followers;
    return {
      close() {
        closed = true;
        followers.delete(follower);
        wake?.();
        return Promise.resolve();
      },
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          const next = queue.shift();
          if (next) yield next;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
  }

  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): Responder {
    const list = this.#responders.get(subject) ?? [];
    list.push(handler);
    this.#responders.set(subject, list);
    return {
      close: () => {
        const now = this.#responders.get(subject) ?? [];
        const left = now.filter((h) => h !== handler);
        if (left.length) this.#responders.set(subject, left);
        else this.#responders.delete(subject);
        return Promise.resolve();
      },
    };
  }

  async request(
    subject: string,
    data: Uint8Array,
    options: { timeoutMs?: number } = {},
  ): Promise<Uint8Array> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const handler = this.#responders.get(subject)?.[0];
    if (!handler) throw new NoResponderError(subject, timeoutMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => handler(data)),
        new Promise<never>((
          _,
          reject,
        ) => (timer = setTimeout(() => reject(new NoResponderError(subject, timeoutMs)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    for (const follower of this.#followers.keys()) this.#followers.delete(follower);
    this.#responders.clear();
  }
}
