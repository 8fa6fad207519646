/**
 * The in-memory Bus: one process, same semantics as the JetStream one (work queue
 * with ack deadlines and redelivery, delayed nak, term, dedupe window, a bounded
 * jobs stream that refuses new work, replayable events and logs bounded in bytes,
 * per job and in age). Used by the embedded default and passes the same contract
 * suite as the NATS bus.
 *
 * @module
 */
import {
  type Bus,
  BusFullError,
  type BusOptions,
  type Headers,
  type JobDelivery,
  type JobsInfo,
  type PublishAck,
  type PublishOptions,
  type PullOptions,
  type Responder,
  type StartAt,
  type StreamInfo,
  type StreamRecord,
  type Subscription,
} from "./bus.ts";
import { type Subjects, subjectsFor } from "./subjects.ts";
import { MemoryMessaging } from "./memory-messaging.ts";
import { Fifo, RecordStream } from "./record-stream.ts";
import { ErrorCode, TroupeError } from "../machines/errors.ts";

interface StoredJob {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: Headers;
  deliveries: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  state: "ready" | "delayed" | "inflight";
}

class MemoryBus implements Bus {
  readonly subjects: Subjects;
  #o: Required<BusOptions>;
  #jobs = new Map<number, StoredJob>();
  #ready: number[] = [];
  #readyHead = 0;
  #seq = 0;
  #dedupe = new Map<string, { at: number; seq: number }>();
  #waiters = new Set<() => void>();
  #events: RecordStream;
  #logs: RecordStream;
  #closed = false;
  #subscriptions = new Set<Subscription>();

  constructor(options: BusOptions = {}) {
    const given = Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ) as BusOptions;
    this.#o = {
      namespace: "troupe",
      ackWaitMs: 30_000,
      duplicateWindowMs: 120_000,
      maxJobMessages: 1_000_000,
      maxMessageBytes: 1024 * 1024,
      eventsMaxAgeMs: 7 * 24 * 3_600_000,
      // Held in this process's memory: smaller than the NATS defaults (on disk).
      logsMaxBytes: 256 * 1024 * 1024,
      logsMaxChunksPerJob: 262_144,
      eventsMaxBytes: 64 * 1024 * 1024,
      eventsMaxPerJob: 10_000,
      ...given,
    };
    this.subjects = subjectsFor(this.#o.namespace);
    const maxAgeMs = this.#o.eventsMaxAgeMs;
    this.#events = new RecordStream({
      maxBytes: this.#o.eventsMaxBytes,
      maxPerSubject: this.#o.eventsMaxPerJob,
      maxAgeMs,
    });
    this.#logs = new RecordStream({
      maxBytes: this.#o.logsMaxBytes,
      maxPerSubject: this.#o.logsMaxChunksPerJob,
      maxAgeMs,
    });
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TroupeError("The in-memory bus is closed", { code: ErrorCode.unavailable });
  }

  publishJob(kind: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    return this.publishRaw(this.subjects.job(kind), data, options);
  }

  publishRaw(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    this.#assertOpen();
    if (!subject.startsWith(this.subjects.jobPrefix)) {
      return Promise.reject(
        new TroupeError(
          `Subject "${subject}" is not a job subject of namespace "${this.subjects.namespace}"`,
          { code: ErrorCode.invalidSubject },
        ),
      );
    }
    if (data.length > this.#o.maxMessageBytes) {
      return Promise.reject(
        new TroupeError(
          `Message of ${data.length} bytes exceeds the bus limit of ${this.#o.maxMessageBytes} bytes`,
          { code: ErrorCode.tooLarge },
        ),
      );
    }
    const headers = { ...options.headers };
    const msgId = options.msgId ?? headers["Nats-Msg-Id"];
    const now = Date.now();
    if (msgId !== undefined) {
      headers["Nats-Msg-Id"] = msgId;
      const seen = this.#dedupe.get(msgId);
      if (seen && now - seen.at < this.#o.duplicateWindowMs) {
        return Promise.resolve({ seq: seen.seq, duplicate: true });
      }
    }
    if (this.#jobs.size >= this.#o.maxJobMessages) {
      return Promise.reject(
        new BusFullError(`The jobs stream is full (${this.#o.maxJobMessages} messages); try again later`),
      );
    }
    const seq = ++this.#seq;
    if (msgId !== undefined) {
      this.#dedupe.set(msgId, { at: now, seq });
      if (this.#dedupe.size > 10_000 && seq % 1000 === 0) this.#pruneDedupe(now);
    }
    this.#jobs.set(seq, { seq, subject, data, headers, deliveries: 0, timer: undefined, state: "ready" });
    this.#makeReady(seq);
    return Promise.resolve({ seq, duplicate: false });
  }

  #pruneDedupe(now: number): void {
    for (const [id, seen] of this.#dedupe) {
      if (now - seen.at >= this.#o.duplicateWindowMs) this.#dedupe.delete(id);
    }
  }

  #makeReady(seq: number): void {
    const job = this.#jobs.get(seq);
    if (!job) return;
    job.state = "ready";
    job.timer = undefined;
    this.#ready.push(seq);
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #take(max: number): JobDelivery[] {
    const out: JobDelivery[] = [];
    while (out.length < max && this.#readyHead < this.#ready.length) {
      const seq = this.#ready[this.#readyHead++] as number;
      const job = this.#jobs.get(seq);
      if (!job || job.state !== "ready") continue;
      job.state = "inflight";
      job.deliveries++;
      this.#arm(job, this.#o.ackWaitMs);
      out.push(this.#delivery(job));
    }
    if (this.#readyHead > 4096 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead);
      this.#readyHead = 0;
    }
    return out;
  }

  /** Redelivers `job` after `ms` unless settled first. */
  #arm(job: StoredJob, ms: number): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(() => this.#makeReady(job.seq), ms);
  }

  #delivery(job: StoredJob): JobDelivery {
    const deliveryCount = job.deliveries;
    const current = () => {
      const now = this.#jobs.get(job.seq);
      return now && now.state === "inflight" && now.deliveries === deliveryCount ? now : undefined;
    };
    const remove = () => {
      const j = this.#jobs.get(job.seq);
      if (j) {
        clearTimeout(j.timer);
        this.#jobs.delete(job.seq);
      }
      return Promise.resolve();
    };
    return {
      subject: job.subject,
      seq: job.seq,
      deliveryCount,
      data: job.data,
      headers: job.headers,
      ack: remove,
      term: remove,
      nak: (delayMs = 0) => {
        const j = current();
        if (j) {
          clearTimeout(j.timer);
          if (delayMs > 0) {
            j.state = "delayed";
            this.#arm(j, delayMs);
          } else {
            this.#makeReady(j.seq);
          }
        }
        return Promise.resolve();
      },
      working: () => {
        const j = current();
        if (j) this.#arm(j, this.#o.ackWaitMs);
        return Promise.resolve();
      },
    };
  }

  pullJobs(options: PullOptions): Promise<JobDelivery[]> {
    this.#assertOpen();
    const now = this.#take(options.max);
    if (now.length > 0 || options.expiresMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (value: JobDelivery[]) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const wake = () => {
        if (this.#closed) return finish([]);
        const got = this.#take(options.max);
        if (got.length > 0) finish(got);
        else this.#waiters.add(wake);
      };
      const onAbort = () => finish([]);
      const timer = setTimeout(() => finish([]), options.expiresMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.signal?.aborted) return finish([]);
      this.#waiters.add(wake);
    });
  }

  publishEvents(
    events: { jobId: string; data: Uint8Array; msgId?: string; headers?: Headers }[],
  ): Promise<void> {
    this.#assertOpen();
    for (const event of events) {
      this.#events.append(this.subjects.event(event.jobId), event.data, {
        ...event.headers,
        ...(event.msgId ? { "Nats-Msg-Id": event.msgId } : {}),
      });
    }
    return Promise.resolve();
  }

  publishLog(jobId: string, data: Uint8Array, options: PublishOptions = {}): Promise<void> {
    this.#assertOpen();
    const limit = Math.min(this.#o.maxMessageBytes, this.#o.logsMaxBytes);
    if (data.length > limit) {
      return Promise.reject(
        new TroupeError(`Message of ${data.length} bytes exceeds the logs stream's limit of ${limit} bytes`, {
          code: ErrorCode.tooLarge,
        }),
      );
    }
    this.#logs.append(this.subjects.log(jobId), data, { ...options.headers });
    return Promise.resolve();
  }

  watchEvents(jobId: string | undefined, startAt: StartAt = "all"): Subscription {
    return this.#watch(this.#events, jobId === undefined ? undefined : this.subjects.event(jobId), startAt);
  }

  watchLogs(jobId: string, startAt: StartAt = "all"): Subscription {
    return this.#watch(this.#logs, this.subjects.log(jobId), startAt);
  }

  #watch(stream: RecordStream, subject: string | undefined, startAt: StartAt): Subscription {
    const matches = (r: StreamRecord) => subject === undefined || r.subject === subject;
    const queue = new Fifo<StreamRecord>();
    let wake: (() => void) | undefined;
    let closed = false;
    const after = startAt === "all" ? 0 : startAt === "new" ? Infinity : startAt.afterSeq;
    if (after !== Infinity) { for (const record of stream.replay(subject, after)) queue.push(record); }
    const follower = (r: StreamRecord) => {
      if (!matches(r)) return;
      queue.push(r);
      wake?.();
    };
    stream.followers.add(follower);
    const subscriptions = this.#subscriptions;
    const subscription: Subscription = {
      close() {
        closed = true;
        stream.followers.delete(follower);
        subscriptions.delete(subscription);
        wake?.();
        return Promise.resolve();
      },
      async *[Symbol.asyncIterator]() {
        try {
          while (!closed) {
            const next = queue.shift();
            if (next) {
              yield next;
              continue;
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          closed = true;
          stream.followers.delete(follower);
        }
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  jobsInfo(): Promise<JobsInfo> {
    return Promise.resolve({ messages: this.#jobs.size });
  }

  streamInfo(stream: "events" | "logs"): Promise<StreamInfo> {
    return Promise.resolve((stream === "events" ? this.#events : this.#logs).info());
  }

  purgeJobs(): Promise<void> {
    for (const job of this.#jobs.values()) clearTimeout(job.timer);
    this.#jobs.clear();
    this.#ready = [];
    this.#readyHead = 0;
    return Promise.resolve();
  }

  #messaging = new MemoryMessaging();

  publish(subject: string, data: Uint8Array): Promise<void> {
    return this.#messaging.publish(subject, data);
  }

  subscribe(subject: string): Subscription {
    const subscription = this.#messaging.subscribe(subject);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): Responder {
    return this.#messaging.serve(subject, handler);
  }

  request(subject: string, data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    return this.#messaging.request(subject, data, options);
  }

  isConnected(): boolean {
    return !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#jobs.values()) clearTimeout(job.timer);
    for (const wake of [...this.#waiters]) wake();
    this.#waiters.clear();
    for (const sub of [...this.#subscriptions]) await sub.close();
    this.#messaging.close();
  }
}

/** Creates an in-memory bus. */
export function createMemoryBus(options: BusOptions = {}): Bus {
  return new MemoryBus(options);
}
