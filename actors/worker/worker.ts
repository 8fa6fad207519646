/**
 * The worker: pulls job messages in batches, admits and locks them in PostgreSQL,
 * runs each job's machine and handler, commits every transition (guarded by the
 * lease's fencing token), then acks. PostgreSQL is the truth; the bus is the
 * doorbell.
 *
 * Per batch: one admit statement, one lock statement, one commit of the
 * `locked`/`running` transitions; handlers run concurrently; their outcomes are
 * committed in batches too. Each job keeps its own machine snapshot and audit rows.
 * When the admit statement fails for any reason but a lost connection, the rows
 * are admitted one by one, so one row PostgreSQL refuses holds back no other
 * (actors/worker/admit-separately.ts).
 *
 * @module
 */
import type { Bus, JobDelivery } from "../../bus/bus.ts";
import type { JobRow, NewJob, Store, TransitionWrite } from "../../adapters/postgres/store.ts";
import type { JobStatus } from "../../machines/job-status.ts";
import { AbortWhy, JobAbort, type JobOutcome } from "../../machines/job-kind.ts";
import {
  encodeEnvelope,
  type ParsedJobMessage,
  parseJobMessage,
  storableHeaders,
} from "../../bus/envelope.ts";
import { findJsonViolation, storableText } from "../../bus/json-value-rules.ts";
import { classifyStoreError } from "../../adapters/postgres/classify.ts";
import { admitSeparately, UNSTORABLE } from "./admit-separately.ts";
import { ErrorCode, type JobErrorInfo, toJobErrorInfo } from "../../machines/errors.ts";
import { applyJobEvent, type JobEvent, type JobSnapshot, persistJob } from "../../machines/job-machine.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import { planNewJob, planStart, type StartPlan } from "./job-plans.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics, type WorkerMetrics } from "../observability/metrics.ts";
import type { OutboxPublisher } from "../outbox/outbox-publisher.ts";
import { JobTrace } from "../observability/job-trace.ts";

/** Options of {@link Worker}. */
export interface WorkerOptions {
  bus: Bus;
  store: Store;
  kinds: KindRegistry;
  outbox: OutboxPublisher;
  logger: Logger;
  /** Unique per process. */
  workerId: string;
  /** Most jobs in flight at once. Default 256. */
  concurrency?: number;
  /** Most messages pulled at once. Default 256. */
  batchSize?: number;
  /** Lease length. Default 30,000 ms. */
  leaseMs?: number;
  /** Heartbeat period. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Largest message body. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Default attempts when neither job nor kind says. Default 3. */
  maxAttempts?: number;
  /** Default per-attempt time limit. Default 1 hour. */
  timeoutMs?: number;
  /** Backoff of retries. */
  backoff?: { baseMs: number; maxMs: number };
  /** A message delivered more often than this fails its job. Default 50. */
  maxDeliveries?: number;
  /** Randomness for backoff jitter (injected for tests). */
  random?: () => number;
  /** Where counters go (default: nowhere). */
  metrics?: WorkerMetrics;
}

/** A running job. */
interface InFlight {
  id: string;
  kind: string;
  delivery: JobDelivery;
  leaseVersion: number;
  snapshot: JobSnapshot;
  controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set when the lease is lost or released: its outcome is not committed. */
  abandoned: boolean;
  startedAt: number;
  /** The attempt's spans (a no-op without a tracing SDK). */
  trace: JobTrace;
}

/** What running a job needs to know of its row. */
type RunTarget = Pick<JobRow, "id" | "kind" | "maxAttempts" | "timeoutMs" | "org" | "leaseVersion">;

interface Completion {
  job: InFlight;
  write: TransitionWrite;
  status: JobStatus;
  /** The machine before this outcome: where a refused outcome restarts from. */
  before: JobSnapshot;
}

/** Counters, for /status, metrics and tests. */
export interface WorkerStats {
  received: number;
  started: number;
  succeeded: number;
  failed: number;
  retried: number;
  duplicates: number;
  rejected: number;
  fenced: number;
  deferred: number;
}

/** Batches admitted and locked at once: the next batch forms while these are in the database. */
const MAX_ADMITTING = 2;

/** An error as the job keeps it: its text made storable (a message may quote anything, cut mid-pair). */
function storableError(error: JobErrorInfo): JobErrorInfo {
  return { ...error, code: storableText(error.code), message: storableText(error.message) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Worker {
  readonly id: string;
  readonly stats: WorkerStats = {
    received: 0,
    started: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    duplicates: 0,
    rejected: 0,
    fenced: 0,
    deferred: 0,
  };
  #o: Required<Omit<WorkerOptions, "heartbeatMs">> & { heartbeatMs: number };
  #slotsUsed = 0;
  #running = new Map<string, InFlight>();
  #runningByKind = new Map<string, number>();
  #completions: Completion[] = [];
  #completionTimer: ReturnType<typeof setTimeout> | undefined;
  #committing: Promise<void> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #pullAbort = new AbortController();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #slotWaiters: (() => void)[] = [];
  #batches = new Set<Promise<void>>();
  #admitting = 0;
  /** Set by stop(): after this, outcomes that cannot be committed are left to lease expiry. */
  #giveUpAt: number | undefined;
  #admitWaiters: (() => void)[] = [];
  /** Deliveries already acked, naked or termed (each releases its slot once). */
  #settled = new WeakSet<JobDelivery>();
  /** Deliveries handed to a running handler (settled when it completes). */
  #handedOff = new WeakSet<JobDelivery>();

  constructor(options: WorkerOptions) {
    const leaseMs = options.leaseMs ?? 30_000;
    this.#o = {
      concurrency: 256,
      batchSize: 256,
      leaseMs,
      maxPayloadBytes: 256 * 1024,
      maxAttempts: 3,
      timeoutMs: 3_600_000,
      backoff: { baseMs: 1000, maxMs: 300_000 },
      maxDeliveries: 50,
      random: Math.random,
      metrics: createMetrics({ enabled: false }),
      ...options,
      heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
    };
    this.id = options.workerId;
  }

  /** Jobs this worker runs now. */
  get inFlight(): number {
    return this.#running.size;
  }

  /** Starts pulling. */
  start(): void {
    if (this.#loop) return;
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#o.heartbeatMs);
    this.#loop = this.#pullLoop();
  }

  async #pullLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      const free = this.#o.concurrency - this.#slotsUsed;
      if (free <= 0) {
        await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        continue;
      }
      // Batches form while earlier ones are in the database: at most two admit/lock at once.
      while (this.#admitting >= MAX_ADMITTING && !this.#stopping) {
        await new Promise<void>((resolve) => this.#admitWaiters.push(resolve));
      }
      if (this.#stopping) break;
      let deliveries: JobDelivery[];
      try {
        deliveries = await this.#o.bus.pullJobs({
          max: Math.min(this.#o.batchSize, free),
          expiresMs: 1000,
          signal: this.#pullAbort.signal,
        });
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        failures++;
        this.#o.logger.warn({ err: error, failures }, "Cannot pull jobs; retrying");
        await sleep(Math.min(2000, 100 * 2 ** Math.min(failures, 5)));
        continue;
      }
      if (deliveries.length === 0) continue;
      if (this.#stopping) {
        await Promise.allSettled(deliveries.map((d) => d.nak(0)));
        break;
      }
      this.#slotsUsed += deliveries.length;
      this.stats.received += deliveries.length;
      const again = deliveries.filter((d) => d.deliveryCount > 1).length;
      if (again > 0) this.#o.metrics.redelivered(again);
      this.#admitting++;
      const batch = this.#processBatch(deliveries).catch(async (error) => {
        this.#o.logger.error({ err: error }, "Batch failed unexpectedly; its messages will be redelivered");
        await Promise.all(
          deliveries.filter((d) => !this.#handedOff.has(d)).map((d) => this.#settle(d, { nakMs: 1000 })),
        );
      }).finally(() => {
        this.#admitting--;
        for (const wake of this.#admitWaiters.splice(0)) wake();
      });
      this.#batches.add(batch);
      void batch.finally(() => this.#batches.delete(batch));
    }
  }

  #releaseSlots(count: number): void {
    this.#slotsUsed -= count;
    const waiters = this.#slotWaiters.splice(0, this.#slotWaiters.length);
    for (const wake of waiters) wake();
  }

  /** Settles a delivery that will not run here. */
  async #settle(
    delivery: JobDelivery,
    how: "ack" | "term" | { nakMs: number },
    reason?: string,
  ): Promise<void> {
    if (this.#settled.has(delivery)) return;
    this.#settled.add(delivery);
    try {
      if (how === "ack") await delivery.ack();
      else if (how === "term") await delivery.term(reason);
      else await delivery.nak(how.nakMs);
    } catch (error) {
      this.#o.logger.warn(
        { err: error, seq: delivery.seq },
        "Cannot settle a job message; it will be redelivered",
      );
    } finally {
      this.#releaseSlots(1);
    }
  }

  async #processBatch(deliveries: JobDelivery[]): Promise<void> {
    /** Kind slots reserved in this batch, released unless the job starts running. */
    const reserved = new Map<string, string>();
    try {
      await this.#admitAndStart(deliveries, reserved);
    } finally {
      for (const kind of reserved.values()) this.#releaseKind(kind);
    }
  }

  #releaseKind(kind: string): void {
    const left = (this.#runningByKind.get(kind) ?? 1) - 1;
    if (left <= 0) this.#runningByKind.delete(kind);
    else this.#runningByKind.set(kind, left);
  }

  async #admitAndStart(deliveries: JobDelivery[], reserved: Map<string, string>): Promise<void> {
    const { bus, store, kinds, logger } = this.#o;
    // 1. Parse; a message without a usable id can never be a job: record it, then ack it.
    const byId = new Map<string, { delivery: JobDelivery; parsed: ParsedJobMessage }>();
    const newJobs: NewJob[] = [];
    /** New jobs admitted and started in one statement (see NewJob.start). */
    const starts = new Map<string, { snapshot: JobSnapshot; payload: unknown; job: NewJob }>();
    for (const delivery of deliveries) {
      const parsed = parseJobMessage(
        {
          kind: bus.subjects.kindOf(delivery.subject),
          data: delivery.data,
          headers: delivery.headers,
          seq: delivery.seq,
        },
        { maxPayloadBytes: this.#o.maxPayloadBytes },
      );
      const id = parsed.ok ? parsed.envelope.id : parsed.id;
      if (id === undefined) {
        this.stats.rejected++;
        this.#o.metrics.rejected(parsed.ok ? "no_id" : parsed.code.toLowerCase());
        const reason = parsed.ok ? "no id" : `${parsed.code}: ${parsed.message}`;
        logger.warn(
          { subject: storableText(delivery.subject), seq: delivery.seq, reason },
          "Rejected a job message without a usable id",
        );
        await this.#recordRejected(delivery, reason);
        continue;
      }
      if (byId.has(id)) {
        // The same job twice in one batch (a republish): the first delivery does the work.
        this.stats.duplicates++;
        await this.#settle(delivery, "ack");
        continue;
      }
      byId.set(id, { delivery, parsed });
      const made = planNewJob(id, parsed, delivery, this.#o);
      newJobs.push(made.job);
      if (made.start) starts.set(id, made.start);
    }
    if (byId.size === 0) return;

    // 2. Admit: insert what is new (born failed when the message is bad).
    let admitted: Set<string>;
    /** Ids settled during admission (refused or to deliver again): nothing more to do for them. */
    const settled = new Set<string>();
    try {
      const result = await store.admit(newJobs);
      this.#o.outbox.enqueue(result.events);
      admitted = new Set(result.inserted);
    } catch (error) {
      if (classifyStoreError(error) === "transient") {
        logger.warn(
          { err: error, count: byId.size },
          "Cannot admit jobs; their messages will be redelivered",
        );
        await Promise.all([...byId.values()].map(({ delivery }) => this.#settle(delivery, { nakMs: 1000 })));
        return;
      }
      logger.warn(
        { err: error, count: byId.size },
        "Cannot admit a batch of jobs; admitting them one by one",
      );
      const each = await admitSeparately(store, newJobs);
      this.#o.outbox.enqueue(each.events);
      admitted = each.inserted;
      for (const [id, { reason, stored }] of each.refused) {
        const { delivery, parsed } = byId.get(id)!;
        settled.add(id);
        this.#o.metrics.rejected("unstorable");
        logger.warn({ jobId: id, stored }, reason);
        if (stored === "unrecorded") {
          this.stats.rejected++;
          await this.#recordRejected(delivery, reason);
        } else {
          this.stats.failed++;
          this.#o.metrics.jobFinished(
            parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "unknown"),
            "failed",
            0,
          );
          await this.#settle(delivery, "ack");
        }
      }
      for (const id of each.retry) {
        settled.add(id);
        await this.#settle(byId.get(id)!.delivery, { nakMs: 1000 });
      }
    }
    const toLock: string[] = [];
    for (const [id, { delivery, parsed }] of byId) {
      if (settled.has(id)) continue;
      const start = starts.get(id);
      if (start && admitted.has(id)) {
        this.#run(
          {
            id,
            kind: start.job.kind,
            maxAttempts: start.job.maxAttempts,
            timeoutMs: start.job.timeoutMs ?? null,
            org: start.job.org ?? null,
            leaseVersion: 1,
          },
          start.snapshot,
          delivery,
          start.payload,
        );
        continue;
      }
      if (!parsed.ok && admitted.has(id)) {
        this.stats.failed++;
        this.#o.metrics.rejected(parsed.code.toLowerCase());
        this.#o.metrics.jobFinished(parsed.kind ?? "unknown", "failed", 0);
        logger.info({ jobId: id, code: parsed.code }, `Job failed on arrival: ${parsed.message}`);
        await this.#settle(delivery, "ack");
        continue;
      }
      const kind = parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "");
      const limit = kinds.get(kind)?.concurrency;
      if (limit !== undefined) {
        // Reserve a slot of the kind now: other batches in flight see it at once.
        if ((this.#runningByKind.get(kind) ?? 0) >= limit) {
          this.stats.deferred++;
          await this.#settle(delivery, { nakMs: 250 });
          continue;
        }
        this.#runningByKind.set(kind, (this.#runningByKind.get(kind) ?? 0) + 1);
        reserved.set(id, kind);
      }
      toLock.push(id);
    }
    if (toLock.length === 0) return;

    // 3. Lock with one conditional UPDATE.
    let results;
    try {
      results = await store.lock(toLock.map((id) => ({ id, workerId: this.id, leaseMs: this.#o.leaseMs })));
    } catch (error) {
      logger.warn(
        { err: error, count: toLock.length },
        "Cannot lock jobs; their messages will be redelivered",
      );
      await Promise.all(toLock.map((id) => this.#settle(byId.get(id)!.delivery, { nakMs: 1000 })));
      return;
    }
    const writes: TransitionWrite[] = [];
    const starting: {
      row: JobRow;
      write: TransitionWrite;
      snapshot: JobSnapshot;
      delivery: JobDelivery;
      payload: unknown;
    }[] = [];
    for (const result of results) {
      const { delivery } = byId.get(result.id)!;
      if (!result.locked) {
        if (result.reason === "final") {
          this.stats.duplicates++;
          logger.debug(
            { jobId: result.id, status: result.status },
            "Dropped a duplicate delivery of a finished job",
          );
          await this.#settle(delivery, "ack");
        } else if (result.reason === "missing") {
          logger.warn({ jobId: result.id }, "Dropped a message whose job row is missing");
          await this.#settle(delivery, "ack");
        } else {
          this.stats.deferred++;
          await this.#settle(delivery, {
            nakMs: Math.max(50, Math.min(result.retryInMs ?? 1000, 60_000) + 20),
          });
        }
        continue;
      }
      let plan: StartPlan;
      try {
        plan = planStart(result.job, delivery, this.#o);
      } catch (error) {
        logger.error(
          { err: error, jobId: result.id },
          "Cannot plan the job's next transition; its message will be redelivered",
        );
        await this.#settle(delivery, { nakMs: 5000 });
        continue;
      }
      writes.push(plan.write);
      if (plan.write.status === "running") starting.push({ ...plan, row: result.job, delivery });
    }
    if (writes.length === 0) return;

    // 4. Commit locked/running (or failed), then start handlers.
    let accepted: Set<string>;
    try {
      const committed = await store.commit(writes);
      this.#o.outbox.enqueue(committed.events);
      accepted = new Set(committed.accepted);
    } catch (error) {
      logger.warn(
        { err: error, count: writes.length },
        "Cannot commit locks; their messages will be redelivered",
      );
      await Promise.all(writes.map((w) => this.#settle(byId.get(w.id)!.delivery, { nakMs: 1000 })));
      return;
    }
    for (const write of writes) {
      const { delivery } = byId.get(write.id)!;
      if (!accepted.has(write.id)) {
        this.stats.fenced++;
        await this.#settle(delivery, { nakMs: 1000 });
      } else if (write.status !== "running") {
        this.stats.failed++;
        await this.#settle(delivery, "ack");
      }
    }
    for (const start of starting) {
      if (!accepted.has(start.row.id)) continue;
      // The reserved kind slot now belongs to the running job (released by #finish).
      const wasReserved = reserved.delete(start.row.id);
      this.#run(start.row, start.snapshot, start.delivery, start.payload, wasReserved);
    }
  }

  /** Records a message that cannot become a job (storable metadata only, never its body), then acks it. */
  async #recordRejected(delivery: JobDelivery, reason: string): Promise<void> {
    await this.#o.store.recordRejected({
      subject: storableText(delivery.subject),
      reason: storableText(reason),
      seq: delivery.seq,
      headers: storableHeaders(delivery.headers),
    }).catch((error) => this.#o.logger.error({ err: error }, "Cannot record a rejected message"));
    // Recorded: ack removes it from the work queue (a term would leave it stored there).
    await this.#settle(delivery, "ack");
  }

  #run(
    row: RunTarget,
    snapshot: JobSnapshot,
    delivery: JobDelivery,
    payload: unknown,
    kindReserved = false,
  ): void {
    const definition = this.#o.kinds.require(row.kind);
    const controller = new AbortController();
    const timeoutMs = row.timeoutMs ?? definition.timeoutMs ?? this.#o.timeoutMs;
    const attempt = snapshot.context.attempts;
    const jobTrace = new JobTrace({
      jobId: row.id,
      kind: row.kind,
      subject: delivery.subject,
      headers: delivery.headers,
      attempt,
      deliveryCount: delivery.deliveryCount,
      consumer: this.#o.bus.subjects.streams.jobs,
    });
    jobTrace.transition("locked", { "troupe.worker.id": this.id, "troupe.lease.version": row.leaseVersion });
    jobTrace.transition("running", { "troupe.job.attempt": attempt });
    const job: InFlight = {
      id: row.id,
      kind: row.kind,
      delivery,
      leaseVersion: row.leaseVersion,
      snapshot,
      controller,
      timer: undefined,
      abandoned: false,
      startedAt: Date.now(),
      trace: jobTrace,
    };
    job.timer = setTimeout(() => {
      controller.abort(new JobAbort(AbortWhy.timeout, `Attempt timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    this.#handedOff.add(delivery);
    this.#running.set(row.id, job);
    if (!kindReserved) this.#runningByKind.set(row.kind, (this.#runningByKind.get(row.kind) ?? 0) + 1);
    this.stats.started++;
    this.#o.metrics.attemptStarted(row.kind);
    const promise: Promise<JobOutcome | void> = jobTrace.run(() =>
      definition.run({
        id: row.id,
        kind: row.kind,
        attempt,
        maxAttempts: row.maxAttempts,
        payload,
        org: row.org,
        signal: controller.signal,
      })
    );
    promise.then(
      (outcome) => this.#complete(job, { ok: true, outcome: outcome ?? {} }),
      (error) => this.#complete(job, { ok: false, error }),
    );
  }

  #complete(job: InFlight, outcome: { ok: true; outcome: JobOutcome } | { ok: false; error: unknown }): void {
    clearTimeout(job.timer);
    if (job.abandoned) return;
    const attempt = job.snapshot.context.attempts;
    let event: JobEvent;
    let data: Record<string, unknown>;
    // A result PostgreSQL cannot store would fail every commit of its batch: it fails its job instead.
    const refused = outcome.ok
      ? findJsonViolation(outcome.outcome.result ?? null, { path: "result", what: "Result" })
      : undefined;
    if (outcome.ok && !refused) {
      event = { type: "job.succeed", result: outcome.outcome.result ?? null };
      data = { attempt, ms: Date.now() - job.startedAt };
    } else {
      const reason = job.controller.signal.reason;
      let error: JobErrorInfo;
      if (refused) error = { kind: "permanent", code: UNSTORABLE, message: refused.message };
      else if (reason instanceof JobAbort && reason.why === AbortWhy.timeout) {
        error = { kind: "transient", code: ErrorCode.timeout, message: reason.message };
      } else error = storableError(toJobErrorInfo((outcome as { error: unknown }).error));
      event = { type: "job.fail", error, jitter: this.#o.random() };
      data = { attempt, error };
    }
    const before = job.snapshot;
    const next = applyJobEvent(job.snapshot, event);
    job.snapshot = next.snapshot;
    const persisted = persistJob(next.snapshot);
    if (next.status === "retry") data.retryInMs = persisted.context.retryDelayMs ?? 0;
    const write: TransitionWrite = {
      id: job.id,
      leaseVersion: job.leaseVersion,
      status: next.status,
      snapshot: persisted,
      attempts: persisted.context.attempts,
      releaseLease: true,
      events: [{ status: next.status, data }],
    };
    if (next.status === "success") {
      write.result = persisted.context.result ?? null;
      write.lastError = null;
      if (outcome.ok && outcome.outcome.refs?.length) {
        write.refs = outcome.outcome.refs.map((r) => ({
          system: storableText(r.system),
          ref: storableText(r.ref),
        }));
      }
    } else {
      write.lastError = persisted.context.lastError;
    }
    if (next.status === "retry") write.runInMs = persisted.context.retryDelayMs ?? 0;
    job.trace.end(next.status, outcome.ok ? undefined : (data.error as { code: string; message: string }));
    // A hot path: build the line only when it is written.
    if (this.#o.logger.isLevelEnabled("debug")) {
      this.#o.logger.debug({
        ...job.trace.ids(),
        jobId: job.id,
        kind: job.kind,
        status: next.status,
        ...data,
      }, `Job attempt ended: ${next.status}`);
    }
    this.#completions.push({ job, write, status: next.status, before });
    if (this.#completions.length >= this.#o.batchSize) void this.#flushCompletions();
    else if (!this.#completionTimer) {
      this.#completionTimer = setTimeout(() => void this.#flushCompletions(), 1);
    }
  }

  async #flushCompletions(): Promise<void> {
    if (this.#completionTimer) {
      clearTimeout(this.#completionTimer);
      this.#completionTimer = undefined;
    }
    while (this.#committing) await this.#committing;
    if (this.#completions.length === 0) return;
    const batch = this.#completions.splice(0, this.#completions.length);
    this.#committing = this.#commitCompletions(batch).finally(() => {
      this.#committing = undefined;
    });
    await this.#committing;
    if (this.#completions.length > 0) await this.#flushCompletions();
  }

  /** Commits outcomes (retrying while the database is away), then republishes retries and acks. */
  async #commitCompletions(batch: Completion[]): Promise<void> {
    const { store, bus, logger } = this.#o;
    let committed: Awaited<ReturnType<Store["commit"]>> | undefined;
    for (let failures = 0; committed === undefined; failures++) {
      const live = batch.filter((c) => !c.job.abandoned);
      if (live.length === 0) return;
      try {
        committed = await store.commit(live.map((c) => c.write));
      } catch (error) {
        if (this.#giveUpAt !== undefined && Date.now() > this.#giveUpAt) {
          // Shutting down with the database away: the leases expire and a successor reruns these.
          logger.error({ err: error, count: live.length }, "Giving up committing job outcomes at shutdown");
          for (const c of live) {
            c.job.abandoned = true;
            this.#finish(c.job);
            this.#releaseSlots(1);
          }
          return;
        }
        if (classifyStoreError(error) === "data") {
          // One outcome PostgreSQL refuses must not hold back the others, nor come back forever.
          logger.warn(
            { err: error, count: live.length },
            "Cannot commit a batch of job outcomes; committing them one by one",
          );
          committed = await this.#commitOneByOne(live);
          break;
        }
        logger.warn({ err: error, count: live.length, failures }, "Cannot commit job outcomes; retrying");
        await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
      }
    }
    this.#o.outbox.enqueue(committed.events);
    const accepted = new Set(committed.accepted);
    const retries: Completion[] = [];
    const settles: Promise<void>[] = [];
    for (const completion of batch) {
      const { job } = completion;
      if (job.abandoned) continue;
      this.#finish(job);
      if (!accepted.has(job.id)) {
        this.stats.fenced++;
        logger.warn(
          { jobId: job.id, leaseVersion: job.leaseVersion },
          "Outcome refused: the lease was taken or the job cancelled",
        );
        this.#releaseSlots(1);
        continue;
      }
      this.#o.metrics.jobFinished(job.kind, completion.status, (Date.now() - job.startedAt) / 1000);
      if (completion.status === "success") this.stats.succeeded++;
      else if (completion.status === "failed") this.stats.failed++;
      else if (completion.status === "retry") {
        this.stats.retried++;
        retries.push(completion);
        continue;
      }
      settles.push(this.#settle(job.delivery, "ack"));
    }
    // A retry is a new message with a new msg id, or the dedupe window would swallow it.
    await Promise.all(retries.map(async ({ job, write }) => {
      try {
        await bus.publishJob(job.kind, encodeEnvelope({ id: job.id }), {
          msgId: `${job.id}:${write.attempts + 1}`,
          headers: job.trace.headers(),
        });
      } catch (error) {
        logger.warn({ err: error, jobId: job.id }, "Cannot republish a retry; the reconciler will");
      }
      await this.#settle(job.delivery, "ack");
    }));
    await Promise.all(settles);
  }

  /**
   * Commits outcomes one statement each, retrying while the database is away; an
   * outcome refused alone for its data fails its job instead (UNSTORABLE). At
   * shutdown past the grace, what is left is abandoned to lease expiry.
   */
  async #commitOneByOne(live: Completion[]): Promise<Awaited<ReturnType<Store["commit"]>>> {
    const out: Awaited<ReturnType<Store["commit"]>> = { accepted: [], events: [] };
    for (const completion of live) {
      let refused = false;
      for (let failures = 0;; failures++) {
        if (completion.job.abandoned) break;
        try {
          const committed = await this.#o.store.commit([completion.write]);
          out.accepted.push(...committed.accepted);
          out.events.push(...committed.events);
          break;
        } catch (error) {
          if (classifyStoreError(error) === "data" && !refused) {
            refused = true;
            this.#refuseOutcome(completion, error);
            continue;
          }
          if (this.#giveUpAt !== undefined && Date.now() > this.#giveUpAt) {
            this.#o.logger.error(
              { err: error, jobId: completion.job.id },
              "Giving up committing a job outcome at shutdown",
            );
            completion.job.abandoned = true;
            this.#finish(completion.job);
            this.#releaseSlots(1);
            break;
          }
          this.#o.logger.warn(
            { err: error, jobId: completion.job.id, failures },
            "Cannot commit a job outcome; retrying",
          );
          await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
        }
      }
    }
    return out;
  }

  /** Replaces an outcome PostgreSQL refused with the job's failure, without the refused data. */
  #refuseOutcome(completion: Completion, error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    const info: JobErrorInfo = {
      kind: "permanent",
      code: UNSTORABLE,
      message: typeof code === "string"
        ? `Outcome refused: PostgreSQL cannot store it (SQLSTATE ${storableText(code)})`
        : "Outcome refused: it cannot be encoded for PostgreSQL",
    };
    const next = applyJobEvent(completion.before, { type: "job.fail", error: info, jitter: 0 });
    const persisted = persistJob(next.snapshot);
    const { job } = completion;
    job.snapshot = next.snapshot;
    completion.status = next.status;
    completion.write = {
      id: job.id,
      leaseVersion: job.leaseVersion,
      status: next.status,
      snapshot: persisted,
      attempts: persisted.context.attempts,
      releaseLease: true,
      lastError: persisted.context.lastError,
      events: [{ status: next.status, data: { attempt: completion.before.context.attempts, error: info } }],
    };
    this.#o.logger.warn({ jobId: job.id, code: info.code }, info.message);
  }

  #finish(job: InFlight): void {
    clearTimeout(job.timer);
    // An attempt that ends without an outcome (lease lost, released at shutdown) ends its span here.
    job.trace.end(job.abandoned ? "abandoned" : "finished");
    if (this.#running.get(job.id) !== job) return;
    this.#running.delete(job.id);
    this.#releaseKind(job.kind);
  }

  /** Extends leases and ack deadlines of running jobs; aborts the ones whose lease is gone. */
  async #heartbeat(): Promise<void> {
    const jobs = [...this.#running.values()].filter((job) => !job.abandoned);
    if (jobs.length === 0) return;
    let held: Set<string>;
    try {
      held = new Set(
        await this.#o.store.heartbeat(
          jobs.map((j) => ({ id: j.id, leaseVersion: j.leaseVersion })),
          this.#o.leaseMs,
        ),
      );
    } catch (error) {
      this.#o.logger.warn({ err: error }, "Cannot extend leases now");
      return;
    }
    await Promise.all(jobs.map(async (job) => {
      if (held.has(job.id)) {
        await job.delivery.working().catch(() => {});
        return;
      }
      if (job.abandoned) return;
      job.abandoned = true;
      this.#finish(job);
      const current = await this.#o.store.getJob(job.id).catch(() => undefined);
      job.controller.abort(
        current?.status === "cancelled"
          ? new JobAbort(AbortWhy.cancel, `Job "${job.id}" was cancelled`)
          : new JobAbort(AbortWhy.leaseLost, `Lease of job "${job.id}" lost: another worker took it over`),
      );
      this.#o.logger.info({ jobId: job.id, status: current?.status }, "Lease lost; stopped the job here");
      if (
        current &&
        (current.status === "cancelled" || current.status === "success" || current.status === "failed")
      ) {
        await this.#settle(job.delivery, "ack");
      } else {
        this.#releaseSlots(1);
      }
    }));
  }

  /**
   * Stops pulling, lets running jobs finish within `graceMs`, then releases the
   * rest (back to pending, message given back at once) and flushes the outbox.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    this.#stopping = true;
    this.#giveUpAt = Date.now() + graceMs + 5000;
    this.#pullAbort.abort();
    for (const wake of this.#slotWaiters.splice(0)) wake();
    for (const wake of this.#admitWaiters.splice(0)) wake();
    await this.#loop?.catch(() => {});
    await Promise.allSettled([...this.#batches]);
    const deadline = Date.now() + graceMs;
    while (this.#running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, graceMs));
    await this.#flushCompletions();
    const left = [...this.#running.values()].filter((job) => !job.abandoned);
    if (left.length > 0) {
      this.#o.logger.info({ count: left.length }, "Grace period over; releasing running jobs");
      const writes: TransitionWrite[] = [];
      for (const job of left) {
        job.abandoned = true;
        job.controller.abort(new JobAbort(AbortWhy.shutdown, "Worker shutting down"));
        this.#finish(job);
        const next = applyJobEvent(job.snapshot, { type: "job.release" });
        const persisted = persistJob(next.snapshot);
        writes.push({
          id: job.id,
          leaseVersion: job.leaseVersion,
          status: next.status,
          snapshot: persisted,
          attempts: persisted.context.attempts,
          releaseLease: true,
          events: [{ status: next.status, data: { released: true, worker: this.id } }],
        });
      }
      try {
        const committed = await this.#o.store.commit(writes);
        this.#o.outbox.enqueue(committed.events);
      } catch (error) {
        this.#o.logger.warn({ err: error }, "Cannot release jobs; their leases will expire instead");
      }
      await Promise.all(left.map((job) => this.#settle(job.delivery, { nakMs: 0 })));
    }
    clearInterval(this.#heartbeatTimer);
    await this.#o.outbox.flush();
  }
}
