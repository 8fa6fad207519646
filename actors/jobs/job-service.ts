/**
 * What a user can do with jobs, independent of how they ask (HTTP or CLI with
 * direct access): submit, read, list, cancel. A submission is validated against
 * its kind's schema, published with its id as msg id, then admitted to
 * PostgreSQL so it can be read at once (the worker would admit it anyway).
 * What PostgreSQL could not store (U+0000, lone surrogates, nesting deeper than
 * 64: bus/json-value-rules.ts) and messages over the size limit are refused
 * before anything is published.
 *
 * @module
 */
import type { Bus } from "../../bus/bus.ts";
import type {
  JobEventRow,
  JobRow,
  ListOptions,
  Store,
  TransitionWrite,
} from "../../adapters/postgres/store.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import type { OutboxPublisher } from "../outbox/outbox-publisher.ts";
import type { Logger } from "../observability/logger.ts";
import type { WorkerMetrics } from "../observability/metrics.ts";
import { encodeEnvelope } from "../../bus/envelope.ts";
import { assertStorableJson } from "../../bus/json-value-rules.ts";
import { validateJobId } from "../../bus/subjects.ts";
import { ErrorCode, TroupeError, ValidationError } from "../../machines/errors.ts";
import { isFinalStatus } from "../../machines/job-status.ts";
import { type JobEvent } from "../../machines/job-machine.ts";
import { applyJobEvent } from "../../machines/job-transition.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import { jobWrite, snapshotOfStored } from "../../machines/job-write.ts";
import { endSpan, startPublishSpan } from "../observability/tracing.ts";

/** A submission. */
export interface SubmitRequest {
  kind: string;
  id?: string;
  payload?: unknown;
  maxAttempts?: number;
  timeoutMs?: number;
  runAt?: string;
  org?: string;
  /** Who asked (for the audit trail). */
  actor?: string;
}

/** What a submission gave. */
export interface SubmitResult {
  id: string;
  /** True when a job with this id already existed: nothing new was started. */
  duplicate: boolean;
  job: JobRow | undefined;
}

/** Message header naming who submitted a job through the API (for the audit trail). */
export const ACTOR_HEADER = "Troupe-Actor";

export class NotFoundError extends TroupeError {
  override name = "NotFoundError";
  constructor(message: string) {
    super(message, { code: ErrorCode.notFound });
  }
}

export class JobService {
  #bus: Bus;
  #store: Store;
  #kinds: KindRegistry;
  #outbox: OutboxPublisher;
  #log: Logger;
  #defaults: { maxAttempts: number };
  #maxPayloadBytes: number | undefined;
  #metrics: Pick<WorkerMetrics, "jobCancelled"> | undefined;
  #backoff: { baseMs: number; maxMs: number } | undefined;

  /** `maxPayloadBytes`: the largest job message (the worker's limit); unset, no limit here. */
  constructor(options: {
    bus: Bus;
    store: Store;
    kinds: KindRegistry;
    outbox: OutboxPublisher;
    logger: Logger;
    maxAttempts: number;
    maxPayloadBytes?: number;
    /** Counts cancels (`troupe_jobs_total{outcome="cancelled"}`): a cancel ends a job here, not in a worker. */
    metrics?: Pick<WorkerMetrics, "jobCancelled">;
    /** The workers' retry backoff, for the machine of a job cancelled before its first lock (else the machine's default). */
    backoff?: { baseMs: number; maxMs: number };
  }) {
    this.#bus = options.bus;
    this.#store = options.store;
    this.#kinds = options.kinds;
    this.#outbox = options.outbox;
    this.#log = options.logger;
    this.#defaults = { maxAttempts: options.maxAttempts };
    this.#maxPayloadBytes = options.maxPayloadBytes;
    this.#metrics = options.metrics;
    this.#backoff = options.backoff;
  }

  get kinds(): KindRegistry {
    return this.#kinds;
  }

  /** Validates, publishes, admits. Resubmitting an id is a no-op. */
  async submit(request: SubmitRequest): Promise<SubmitResult> {
    const definition = this.#kinds.require(request.kind);
    const id = request.id === undefined ? crypto.randomUUID() : validateJobId(request.id);
    // Before the schema and the encoder: both recurse, and neither knows what PostgreSQL refuses.
    assertStorableJson(id, { path: "id", what: "Job" });
    if (request.org !== undefined) assertStorableJson(request.org, { path: "org", what: "Job" });
    assertStorableJson(request.payload, { path: "payload" });
    const payload = request.payload ?? null;
    this.#kinds.validate(request.kind, request.payload);
    let runAt: Date | undefined;
    if (request.runAt !== undefined) {
      runAt = new Date(request.runAt);
      if (Number.isNaN(runAt.getTime())) {
        throw new ValidationError(`Invalid runAt "${request.runAt}": use an ISO 8601 date`, {
          field: "runAt",
        });
      }
    }
    const existing = await this.#store.getJob(id);
    if (existing) return { id, duplicate: true, job: existing };
    const maxAttempts = request.maxAttempts ?? definition.maxAttempts ?? this.#defaults.maxAttempts;
    const envelope = {
      id,
      payload,
      maxAttempts,
      ...optional({ timeoutMs: request.timeoutMs, runAt, org: request.org }),
    };
    const data = encodeEnvelope(envelope);
    if (this.#maxPayloadBytes !== undefined && data.length > this.#maxPayloadBytes) {
      throw new TroupeError(
        `Job message of ${data.length} bytes exceeds the limit of ${this.#maxPayloadBytes} bytes`,
        { code: ErrorCode.tooLarge },
      );
    }
    // Who asked travels with the message too, for when the worker admits it first;
    // so does the trace (`traceparent`), so the worker's spans join the request's.
    const { span, headers } = startPublishSpan(this.#bus.subjects.job(request.kind), {
      jobId: id,
      msgId: id,
    });
    if (request.actor) headers[ACTOR_HEADER] = request.actor;
    let ack;
    try {
      ack = await this.#bus.publishJob(request.kind, data, { msgId: id, headers });
      endSpan(span);
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
    try {
      const admitted = await this.#store.admit([{
        id,
        kind: request.kind,
        payload,
        maxAttempts,
        timeoutMs: request.timeoutMs ?? null,
        runAt: runAt ?? null,
        org: request.org ?? null,
        eventData: { source: "api", ...(request.actor ? { actor: request.actor } : {}) },
      }]);
      this.#outbox.enqueue(admitted.events);
      const job = await this.#store.getJob(id);
      return { id, duplicate: ack.duplicate, job };
    } catch (error) {
      // Published: the worker admits it from the message. Say so, don't fail the request.
      this.#log.warn(
        { err: error, jobId: id },
        "Published a job but could not admit it yet; the worker will",
      );
      return { id, duplicate: ack.duplicate, job: undefined };
    }
  }

  async get(id: string): Promise<JobRow> {
    const job = await this.#store.getJob(validateJobId(id));
    if (!job) throw new NotFoundError(`Job "${id}" not found`);
    return job;
  }

  list(options: ListOptions): Promise<{ jobs: JobRow[]; nextCursor?: string }> {
    return this.#store.listJobs(options);
  }

  async events(id: string, afterId?: number): Promise<JobEventRow[]> {
    await this.get(id);
    return this.#store.jobEvents(id, afterId === undefined ? {} : { afterId });
  }

  /** Brings a failed or cancelled job back: pending, attempts reset, published again. */
  async retry(id: string, actor?: string): Promise<JobRow> {
    const job = await this.get(id);
    if (job.status !== "failed" && job.status !== "cancelled") {
      throw new TroupeError(
        `Cannot retry job "${id}": it is ${job.status}; only failed or cancelled jobs can be retried`,
        { code: ErrorCode.conflict },
      );
    }
    const done = await this.#change(id, { type: "job.redrive" }, actor, (now) => {
      if (now.status === "failed" || now.status === "cancelled") return;
      throw new TroupeError(`Cannot retry job "${id}": it is ${now.status}`, { code: ErrorCode.conflict });
    });
    // The machine's `republish` effect: the message that brings the job to a worker.
    for (const effect of done.effects) {
      if (effect.type !== "republish") continue;
      const msgId = `${id}:redrive:${done.event.id}`;
      const { span, headers } = startPublishSpan(this.#bus.subjects.job(job.kind), { jobId: id, msgId });
      try {
        await this.#bus.publishJob(job.kind, encodeEnvelope({ id }), { msgId, headers });
        endSpan(span);
      } catch (error) {
        endSpan(span, error);
        throw error;
      }
    }
    return this.get(id);
  }

  /**
   * Cancels a job that is not final. The worker running it learns at its next
   * heartbeat (its lease is taken) and carries out the machine's `abort` and `ack` there.
   */
  async cancel(id: string, actor?: string): Promise<JobRow> {
    const job = await this.get(id);
    if (isFinalStatus(job.status)) {
      throw new TroupeError(`Cannot cancel job "${id}": it is already ${job.status}`, {
        code: ErrorCode.conflict,
      });
    }
    await this.#change(id, { type: "job.cancel", reason: "cancelled by user" }, actor, (now) => {
      if (isFinalStatus(now.status)) {
        throw new TroupeError(`Cannot cancel job "${id}": it is already ${now.status}`, {
          code: ErrorCode.conflict,
        });
      }
    });
    this.#metrics?.jobCancelled(job.kind);
    return this.get(id);
  }

  /**
   * Applies `event` to the job's stored machine and commits the derived write,
   * guarded by the status and lease version it read (this service holds no
   * lease) and taking the fencing token from any holder. Reads again when the
   * job changed meanwhile; `check` refuses a state the event does not fit.
   */
  async #change(
    id: string,
    event: JobEvent,
    actor: string | undefined,
    check: (job: JobRow) => void,
  ): Promise<{ event: JobEventRow; effects: JobEffect[] }> {
    for (let tries = 0; tries < 10; tries++) {
      const job = await this.get(id);
      check(job);
      const before = snapshotOfStored(job, this.#backoff);
      const next = applyJobEvent(before, event);
      if (!next.changed) {
        throw new TroupeError(
          `Cannot change job "${id}": "${event.type}" does not apply when it is ${job.status}`,
          {
            code: ErrorCode.conflict,
          },
        );
      }
      const write: TransitionWrite = {
        id,
        leaseVersion: job.leaseVersion,
        expectStatus: job.status,
        bumpLease: true,
        ...jobWrite(before, [{ snapshot: next.snapshot, note: actor ? { actor } : {} }]),
      };
      const committed = await this.#store.commit([write]);
      if (committed.accepted.length === 0) continue;
      this.#outbox.enqueue(committed.events);
      return { event: committed.events[committed.events.length - 1]!, effects: next.effects };
    }
    throw new TroupeError(`Cannot change job "${id}": it keeps changing; try again`, {
      code: ErrorCode.conflict,
    });
  }
}

function optional<T extends Record<string, unknown>>(values: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export { eventToJson, jobToJson } from "./job-json.ts";
