/**
 * The Bus port: how job messages, job events and job logs move between actors.
 * Two implementations pass one contract suite (test/contract/bus.contract.ts):
 * NATS JetStream (`nats-bus.ts`) and in-memory (`memory-bus.ts`).
 *
 * Semantics both keep:
 * - Jobs are a work queue: each message goes to one consumer; an unacked message
 *   is redelivered after the ack deadline (`ackWaitMs`), `working()` pushes that
 *   deadline out, `nak(delayMs)` redelivers after the delay, `term()` drops it.
 * - Publishing with a `msgId` seen inside the dedupe window is a no-op that
 *   reports `duplicate: true`.
 * - The jobs stream refuses new messages when full (`discard: new`): publish
 *   throws {@link BusFullError}.
 * - Events and logs are append-only streams that can be replayed from the start
 *   and then followed live. Each is bounded in total bytes, per job and in age;
 *   past a bound the oldest records go first (`discard: old`).
 *
 * @module
 */
import type { Subjects } from "./subjects.ts";
import { TransientError, type TroupeErrorOptions } from "../machines/errors.ts";

/** Message headers: plain string pairs (`Nats-Msg-Id`, `traceparent`, ...). */
export type Headers = Record<string, string>;

/** Options of a publish. */
export interface PublishOptions {
  /** Dedupe key (`Nats-Msg-Id`). */
  msgId?: string;
  headers?: Headers;
}

/** What the bus says of a publish. */
export interface PublishAck {
  seq: number;
  /** True when `msgId` was already seen inside the dedupe window. */
  duplicate: boolean;
}

/** One delivery of a job message to a consumer. */
export interface JobDelivery {
  subject: string;
  /** The stream sequence of the message (stable across redeliveries). */
  seq: number;
  /** 1 on first delivery, then 2, 3, ... */
  deliveryCount: number;
  data: Uint8Array;
  headers: Headers;
  /** Removes the message: the work is done (or recorded as failed). */
  ack(): Promise<void>;
  /** Gives the message back, to be redelivered after `delayMs` (0: at once). */
  nak(delayMs?: number): Promise<void>;
  /** Removes the message without redelivery: it can never be processed. */
  term(reason?: string): Promise<void>;
  /** Extends the ack deadline: the work is still going on. */
  working(): Promise<void>;
}

/** A record of the events or logs stream. */
export interface StreamRecord {
  subject: string;
  seq: number;
  data: Uint8Array;
  headers: Headers;
}

/** Where a subscription starts. */
export type StartAt = "all" | "new" | { afterSeq: number };

/** A live subscription: iterate it; `close()` ends the iteration. */
export interface Subscription extends AsyncIterable<StreamRecord> {
  close(): Promise<void>;
}

/** A request handler registered with {@link Bus.serve}. */
export interface Responder {
  close(): Promise<void>;
}

/** No one answered a request in time: transient (the responder may be restarting). */
export class NoResponderError extends TransientError {
  override name = "NoResponderError";
  constructor(subject: string, timeoutMs: number, options: TroupeErrorOptions = {}) {
    super(`No one answered "${subject}" within ${timeoutMs} ms`, { code: "UNAVAILABLE", ...options });
  }
}

/** Options of {@link Bus.pullJobs}. */
export interface PullOptions {
  /** At most this many deliveries. */
  max: number;
  /** Wait at most this long for the first message; returns [] when none came. */
  expiresMs: number;
  signal?: AbortSignal;
}

/** Bus counters, for /status and tests. */
export interface JobsInfo {
  /** Messages stored in the jobs stream (not yet acked or termed). */
  messages: number;
}

/** The Bus port. */
export interface Bus {
  readonly subjects: Subjects;
  /** Creates or updates streams and the consumer, idempotently. */
  init(): Promise<void>;
  /** Publishes a job message on `subjects.job(kind)`. */
  publishJob(kind: string, data: Uint8Array, options?: PublishOptions): Promise<PublishAck>;
  /** Publishes raw bytes on any job subject (as `nats pub` would; no validation of the kind). */
  publishRaw(subject: string, data: Uint8Array, options?: PublishOptions): Promise<PublishAck>;
  /** Publishes many events at once (pipelined), in order per job. */
  publishEvents(
    events: { jobId: string; data: Uint8Array; msgId?: string; headers?: Headers }[],
  ): Promise<void>;
  /** Publishes one log chunk of a job. */
  publishLog(jobId: string, data: Uint8Array, options?: PublishOptions): Promise<void>;
  /** Pulls up to `max` job deliveries from the shared durable consumer. */
  pullJobs(options: PullOptions): Promise<JobDelivery[]>;
  /** Replays then follows the events of one job (`jobId`) or of all jobs (`undefined`). */
  watchEvents(jobId: string | undefined, startAt?: StartAt): Subscription;
  /** Replays then follows the logs of one job. */
  watchLogs(jobId: string, startAt?: StartAt): Subscription;
  /** Publishes a live core message (agent control): no stream, no replay, no one listening is fine. */
  publish(subject: string, data: Uint8Array): Promise<void>;
  /** Follows live core messages on `subject` (`*` and `>` wildcards allowed); records have `seq` 0. */
  subscribe(subject: string): Subscription;
  /** Answers requests on `subject` with `handler`'s reply until closed. */
  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): Responder;
  /** Sends a request and waits for the reply; a TransientError (`UNAVAILABLE`) when no one answers in time. */
  request(subject: string, data: Uint8Array, options?: { timeoutMs?: number }): Promise<Uint8Array>;
  /** Counts of the jobs stream. */
  jobsInfo(): Promise<JobsInfo>;
  /** What the events or logs stream holds now. */
  streamInfo(stream: "events" | "logs"): Promise<StreamInfo>;
  /** Deletes every message of the jobs stream (admin and tests: simulates a lost message). */
  purgeJobs(): Promise<void>;
  /** Whether the bus is connected now. */
  isConnected(): boolean;
  /** Drains and closes. */
  close(): Promise<void>;
}

/** The jobs stream is full and refuses new work (`discard: new`). */
export class BusFullError extends TransientError {
  override name = "BusFullError";
  constructor(message: string, options: TroupeErrorOptions = {}) {
    super(message, { code: "BUS_FULL", ...options });
  }
}

/** Tuning shared by both implementations. */
export interface BusOptions {
  /** Namespace (root token of every subject). Default `troupe`. */
  namespace?: string;
  /** Ack deadline of job deliveries. Default 30,000 ms. */
  ackWaitMs?: number;
  /** Dedupe window of the jobs stream. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Most job messages the jobs stream holds before refusing more. Default 1,000,000. */
  maxJobMessages?: number;
  /** Largest message accepted. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Events/logs kept at most this long. Default 7 days. */
  eventsMaxAgeMs?: number;
  /** Bytes the logs stream keeps, the oldest chunks going first. Default 1 GiB on NATS, 256 MiB in memory. */
  logsMaxBytes?: number;
  /**
   * Chunks the logs stream keeps per job, its oldest going first. Default 262,144: a
   * chunk as stored takes more than 64 bytes, so a job within the agent's default
   * 16 MiB output cap never reaches it.
   */
  logsMaxChunksPerJob?: number;
  /** Bytes the events stream keeps, the oldest events going first. Default 1 GiB on NATS, 64 MiB in memory. */
  eventsMaxBytes?: number;
  /** Events the events stream keeps per job, its oldest going first. Default 10,000. */
  eventsMaxPerJob?: number;
}

/** What an events or logs stream holds now. */
export interface StreamInfo {
  messages: number;
  /** As the implementation counts it against its byte bound (NATS: its stored size). */
  bytes: number;
}
