/**
 * The NATS JetStream Bus. Streams `<NS>_JOBS` (work queue, dedupe window,
 * `discard: new`), `<NS>_EVENTS` and `<NS>_LOGS` (limits: max age, max bytes, max
 * messages per job; `discard: old`) are created or
 * updated idempotently by `init()`; workers share one durable pull consumer.
 * A background `consume()` keeps a bounded buffer that `pullJobs()` drains, so a
 * batch returns as soon as messages are there; nats.js reconnects by itself and
 * the consume loop restarts if it ends, so work resumes after an outage.
 *
 * Avoids nats-server 2.10+ features (CI runs 2.9): one filter subject per consumer.
 *
 * @module
 */
import {
  connect,
  headers as natsHeaders,
  type MsgHdrs,
  nanos,
  type NatsConnection,
} from "@nats-io/transport-node";
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
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
import { natsRequest, natsServe, natsSubscribe } from "./nats-messaging.ts";
import { ErrorCode, TransientError, TroupeError } from "../machines/errors.ts";

/** Options of {@link createNatsBus}. */
export interface NatsBusOptions extends BusOptions {
  servers: string | string[];
  name?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Messages buffered ahead of `pullJobs()`. Default 512. */
  prefetch?: number;
  /** Told of connection changes (`disconnect`, `reconnecting`, `reconnect`, `error`, ...), for logs. */
  onStatus?: (status: { type: string; server?: string }) => void;
}

function toHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const [key, values] of h) if (values[0] !== undefined) out[key] = values[0];
  return out;
}

function fromHeaders(headers: Headers | undefined, msgId: string | undefined): MsgHdrs | undefined {
  const entries = Object.entries(headers ?? {}).filter(([key]) => key !== "Nats-Msg-Id");
  if (entries.length === 0) return undefined;
  const h = natsHeaders();
  for (const [key, value] of entries) h.set(key, value);
  if (msgId) h.set("Nats-Msg-Id", msgId);
  return h;
}

function withMsgId(msgId: string): MsgHdrs {
  const h = natsHeaders();
  h.set("Nats-Msg-Id", msgId);
  return h;
}

/** Maps a publish failure to a typed error; never includes credentials. */
function publishError(error: unknown, subject: string): Error {
  const message = (error as Error)?.message ?? String(error);
  const code = (error as { code?: number }).code;
  if (/maximum messages|maximum bytes|resource limits/i.test(message) || code === 10077 || code === 10047) {
    return new BusFullError(`The jobs stream is full; refused "${subject}" (${message})`, { cause: error });
  }
  if (/message size exceeds|maximum payload/i.test(message)) {
    return new TroupeError(`Message on "${subject}" is too large for the stream: ${message}`, {
      code: ErrorCode.tooLarge,
      cause: error,
    });
  }
  return new TransientError(`Cannot publish on "${subject}": ${message}`, { cause: error });
}

class NatsBus implements Bus {
  readonly subjects: Subjects;
  #nc: NatsConnection;
  #js: JetStreamClient;
  #jsm: JetStreamManager | undefined;
  #o: Required<BusOptions> & { prefetch: number; onStatus?: NatsBusOptions["onStatus"] };
  #durable: string;
  #buffer: JsMsg[] = [];
  #waiters = new Set<() => void>();
  #space: (() => void) | undefined;
  #messages: ConsumerMessages | undefined;
  #consumeLoop: Promise<void> | undefined;
  #closed = false;
  #subscriptions = new Set<Subscription>();

  constructor(nc: NatsConnection, options: NatsBusOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#o = {
      namespace: "troupe",
      ackWaitMs: 30_000,
      duplicateWindowMs: 120_000,
      maxJobMessages: 1_000_000,
      maxMessageBytes: 1024 * 1024,
      eventsMaxAgeMs: 7 * 24 * 3_600_000,
      logsMaxBytes: 1024 * 1024 * 1024,
      logsMaxChunksPerJob: 262_144,
      eventsMaxBytes: 1024 * 1024 * 1024,
      eventsMaxPerJob: 10_000,
      prefetch: 512,
      ...stripUndefined(options),
    };
    this.subjects = subjectsFor(this.#o.namespace);
    this.#durable = `${this.subjects.streams.jobs}_WORKERS`;
  }

  async #manager(): Promise<JetStreamManager> {
    this.#jsm ??= await jetstreamManager(this.#nc);
    return this.#jsm;
  }

  async #ensureStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
    const jsm = await this.#manager();
    try {
      await jsm.streams.add(config);
    } catch (error) {
      if (!/already in use|already exists/i.test((error as Error).message)) throw error;
      const { retention: _r, storage: _s, ...changeable } = config;
      await jsm.streams.update(config.name, changeable);
    }
  }

  async init(): Promise<void> {
    const { streams } = this.subjects;
    await this.#ensureStream({
      name: streams.jobs,
      subjects: [this.subjects.jobsFilter],
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      storage: StorageType.File,
      max_msgs: this.#o.maxJobMessages,
      max_msg_size: this.#o.maxMessageBytes,
      duplicate_window: nanos(this.#o.duplicateWindowMs),
    });
    const bounded = [
      [streams.events, this.subjects.eventsFilter, this.#o.eventsMaxBytes, this.#o.eventsMaxPerJob],
      [streams.logs, this.subjects.logsFilter, this.#o.logsMaxBytes, this.#o.logsMaxChunksPerJob],
    ] as const;
    for (const [name, filter, maxBytes, maxPerJob] of bounded) {
      // Subjects are `<ns>.events.<jobId>` and `<ns>.logs.<jobId>`: the per-subject cap bounds one job.
      await this.#ensureStream({
        name,
        subjects: [filter],
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        storage: StorageType.File,
        max_age: nanos(this.#o.eventsMaxAgeMs),
        max_bytes: maxBytes,
        max_msgs_per_subject: maxPerJob,
        max_msg_size: Math.min(this.#o.maxMessageBytes, maxBytes),
        // JetStream wants the dedupe window within the max age.
        duplicate_window: nanos(Math.min(this.#o.duplicateWindowMs, 120_000, this.#o.eventsMaxAgeMs)),
      });
    }
    const jsm = await this.#manager();
    const consumer = {
      durable_name: this.#durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.#o.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: 50_000,
      filter_subject: this.subjects.jobsFilter,
    };
    try {
      await jsm.consumers.add(streams.jobs, consumer);
    } catch (error) {
      if (!/already in use|already exists|consumer name already/i.test((error as Error).message)) throw error;
      await jsm.consumers.update(streams.jobs, this.#durable, {
        ack_wait: consumer.ack_wait,
        max_ack_pending: consumer.max_ack_pending,
      });
    }
  }

  publishJob(kind: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    return this.publishRaw(this.subjects.job(kind), data, options);
  }

  async publishRaw(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    if (data.length > this.#o.maxMessageBytes) {
      throw new TroupeError(
        `Message of ${data.length} bytes exceeds the bus limit of ${this.#o.maxMessageBytes} bytes`,
        { code: ErrorCode.tooLarge },
      );
    }
    const msgId = options.msgId ?? options.headers?.["Nats-Msg-Id"];
    const headers = fromHeaders(options.headers, msgId);
    try {
      const ack = await this.#js.publish(subject, data, {
        ...(msgId ? { msgID: msgId } : {}),
        ...(headers ? { headers } : {}),
        timeout: 5000,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      throw publishError(error, subject);
    }
  }

  /**
   * Events go out as plain publishes captured by the events stream, then one
   * flush (a round trip) per batch: a JetStream publish per event costs a request
   * and its ack each, which bounded throughput. Events are notifications of rows
   * already committed in PostgreSQL (the audit trail is the truth); their msg id
   * makes a republish by the outbox relay a no-op.
   */
  async publishEvents(
    events: { jobId: string; data: Uint8Array; msgId?: string; headers?: Headers }[],
  ): Promise<void> {
    try {
      for (const event of events) {
        const headers = fromHeaders(event.headers, event.msgId) ??
          (event.msgId ? withMsgId(event.msgId) : undefined);
        this.#nc.publish(this.subjects.event(event.jobId), event.data, headers ? { headers } : undefined);
      }
      await this.#nc.flush();
    } catch (error) {
      throw publishError(error, this.subjects.eventsFilter);
    }
  }

  async publishLog(jobId: string, data: Uint8Array, options: PublishOptions = {}): Promise<void> {
    const subject = this.subjects.log(jobId);
    const headers = fromHeaders(options.headers, options.msgId);
    try {
      await this.#js.publish(subject, data, {
        ...(options.msgId ? { msgID: options.msgId } : {}),
        ...(headers ? { headers } : {}),
      });
    } catch (error) {
      throw publishError(error, subject);
    }
  }

  /** Keeps the buffer filled from a `consume()` of the durable consumer; restarts it when it ends. */
  #startConsuming(): void {
    if (this.#consumeLoop) return;
    this.#consumeLoop = (async () => {
      while (!this.#closed) {
        try {
          const consumer = await this.#js.consumers.get(this.subjects.streams.jobs, this.#durable);
          const messages = await consumer.consume({ max_messages: this.#o.prefetch });
          this.#messages = messages;
          for await (const msg of messages) {
            this.#buffer.push(msg);
            for (const wake of [...this.#waiters]) wake();
            while (this.#buffer.length >= this.#o.prefetch && !this.#closed) {
              await new Promise<void>((resolve) => (this.#space = resolve));
            }
            if (this.#closed) break;
          }
        } catch {
          // Connection trouble or a missing consumer: try again shortly.
        }
        if (!this.#closed) await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
  }

  #delivery(msg: JsMsg): JobDelivery {
    const settle = (fn: () => void) => {
      try {
        fn();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(
          new TransientError(`Cannot settle message ${msg.seq}: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      }
    };
    return {
      subject: msg.subject,
      seq: msg.seq,
      deliveryCount: msg.info.deliveryCount,
      data: msg.data,
      headers: toHeaders(msg.headers),
      ack: () => settle(() => msg.ack()),
      nak: (delayMs = 0) => settle(() => msg.nak(delayMs > 0 ? delayMs : undefined)),
      // nats-server 2.9 does not understand "+TERM <reason>": the reason is logged by the caller instead.
      term: () => settle(() => msg.term()),
      working: () => settle(() => msg.working()),
    };
  }

  #take(max: number): JobDelivery[] {
    const taken = this.#buffer.splice(0, max);
    if (taken.length > 0 && this.#buffer.length < this.#o.prefetch) {
      this.#space?.();
      this.#space = undefined;
    }
    return taken.map((msg) => this.#delivery(msg));
  }

  pullJobs(options: PullOptions): Promise<JobDelivery[]> {
    if (this.#closed) {
      return Promise.reject(new TroupeError("The NATS bus is closed", { code: ErrorCode.unavailable }));
    }
    this.#startConsuming();
    const now = this.#take(options.max);
    if (now.length > 0 || options.expiresMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = (value: JobDelivery[]) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const wake = () => finish(this.#take(options.max));
      const onAbort = () => finish([]);
      const timer = setTimeout(() => finish([]), options.expiresMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.signal?.aborted) return finish([]);
      this.#waiters.add(wake);
    });
  }

  watchEvents(jobId: string | undefined, startAt: StartAt = "all"): Subscription {
    return this.#watch(
      this.subjects.streams.events,
      jobId === undefined ? this.subjects.eventsFilter : this.subjects.event(jobId),
      startAt,
    );
  }

  watchLogs(jobId: string, startAt: StartAt = "all"): Subscription {
    return this.#watch(this.subjects.streams.logs, this.subjects.log(jobId), startAt);
  }

  #watch(stream: string, filter: string, startAt: StartAt): Subscription {
    let messages: ConsumerMessages | undefined;
    let consumer: Consumer | undefined;
    let closed = false;
    const js = this.#js;
    const subscriptions = this.#subscriptions;
    // An ordered consumer outlives its reader on the server (5 minutes of inactivity):
    // a reader that goes (an SSE client that disconnects) deletes it at once.
    const remove = async () => {
      const made = consumer;
      consumer = undefined;
      await made?.delete().catch(() => {});
    };
    const subscription: Subscription = {
      async close() {
        closed = true;
        subscriptions.delete(subscription);
        await messages?.close();
        await remove();
      },
      async *[Symbol.asyncIterator]() {
        const options = startAt === "all"
          ? { filter_subjects: filter, deliver_policy: DeliverPolicy.All }
          : startAt === "new"
          ? { filter_subjects: filter, deliver_policy: DeliverPolicy.New }
          : {
            filter_subjects: filter,
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: startAt.afterSeq + 1,
          };
        consumer = await js.consumers.get(stream, options);
        if (closed) return await remove();
        messages = await consumer.consume();
        try {
          for await (const msg of messages) {
            if (closed) break;
            const record: StreamRecord = {
              subject: msg.subject,
              seq: msg.seq,
              data: msg.data,
              headers: toHeaders(msg.headers),
            };
            yield record;
          }
        } finally {
          await messages.close();
          await remove();
        }
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  publish(subject: string, data: Uint8Array): Promise<void> {
    this.#nc.publish(subject, data);
    return Promise.resolve();
  }

  subscribe(subject: string): Subscription {
    const subscription = natsSubscribe(this.#nc, subject, (s) => this.#subscriptions.delete(s));
    this.#subscriptions.add(subscription);
    return subscription;
  }

  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): Responder {
    // Handlers answer their own errors; one that throws leaves the requester to time out.
    return natsServe(this.#nc, subject, handler, () => this.#o.onStatus?.({ type: "error" }));
  }

  request(subject: string, data: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    return natsRequest(this.#nc, subject, data, options.timeoutMs ?? 5000);
  }

  async jobsInfo(): Promise<JobsInfo> {
    const jsm = await this.#manager();
    const info = await jsm.streams.info(this.subjects.streams.jobs);
    return { messages: info.state.messages };
  }

  async streamInfo(stream: "events" | "logs"): Promise<StreamInfo> {
    const jsm = await this.#manager();
    const info = await jsm.streams.info(this.subjects.streams[stream]);
    return { messages: info.state.messages, bytes: info.state.bytes };
  }

  async purgeJobs(): Promise<void> {
    const jsm = await this.#manager();
    await jsm.streams.purge(this.subjects.streams.jobs);
  }

  isConnected(): boolean {
    return !this.#closed && !this.#nc.isClosed() && this.#nc.info !== undefined && !this.#reconnecting;
  }

  #reconnecting = false;

  /** Watches connection status so `isConnected()` is honest. */
  watchStatus(): void {
    void (async () => {
      for await (const status of this.#nc.status()) {
        const wasReconnecting = this.#reconnecting;
        if (status.type === "disconnect" || status.type === "reconnecting") this.#reconnecting = true;
        if (status.type === "reconnect") this.#reconnecting = false;
        // Report changes, not every reconnect attempt.
        if (status.type === "reconnecting" && wasReconnecting) continue;
        const server = (status as { server?: unknown }).server;
        this.#o.onStatus?.({ type: status.type, ...(typeof server === "string" ? { server } : {}) });
      }
    })().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#space?.();
    for (const wake of [...this.#waiters]) wake();
    for (const sub of [...this.#subscriptions]) await sub.close().catch(() => {});
    await this.#messages?.close().catch(() => {});
    // Unacked buffered messages are redelivered after the ack wait.
    this.#buffer = [];
    await this.#consumeLoop?.catch(() => {});
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  }
  return out;
}

/** Connects to NATS (retrying forever on later disconnects) and returns the bus; call `init()` next. */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name ?? "troupe",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...(options.user ? { user: options.user } : {}),
      ...(options.pass ? { pass: options.pass } : {}),
      ...(options.token ? { token: options.token } : {}),
    });
  } catch (error) {
    const servers = ([] as string[]).concat(options.servers).map((s) => s.replace(/\/\/[^@/]*@/, "//"));
    throw new TransientError(`Cannot connect to NATS at ${servers.join(",")}: ${(error as Error).message}`, {
      code: ErrorCode.unavailable,
      cause: error,
    });
  }
  const bus = new NatsBus(nc, options);
  bus.watchStatus();
  return bus;
}
