/**
 * Outcome commits: the ends of attempts, turned into machine events, their
 * writes derived (machines/job-write.ts) and committed in batches guarded by
 * each job's fencing token, retried while the database is away; then each
 * accepted job's effects are carried out (republish a retry, ack). A batch
 * PostgreSQL refuses for its data is committed one by one, and an outcome
 * refused alone fails its job instead (UNSTORABLE). The outcome of an attempt
 * cancelled while it ran is added to the cancelled job (`job.outcome`).
 *
 * @module
 */
import type { Store, TransitionWrite } from "../../adapters/postgres/store.ts";
import { classifyStoreError } from "../../adapters/postgres/classify.ts";
import { storableText } from "../../bus/json-value-rules.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import type { JobStatus } from "../../machines/job-status.ts";
import { type JobSnapshot } from "../../machines/job-machine.ts";
import { applyJobEvent } from "../../machines/job-transition.ts";
import { jobWrite } from "../../machines/job-write.ts";
import { UNSTORABLE } from "./admit-separately.ts";
import { type Attempt, endEvent, endResult, finishAttempt, type HandlerEnd, targetOf } from "./attempt.ts";
import { carryOut } from "./effects.ts";
import { sleep, type WorkerState } from "./worker-options.ts";

type Committed = Awaited<ReturnType<Store["commit"]>>;

/** An attempt's end, ready to commit. */
interface Completion {
  attempt: Attempt;
  write: TransitionWrite;
  status: JobStatus;
  effects: JobEffect[];
  /** The machine before this outcome: where a refused outcome restarts from. */
  before: JobSnapshot;
}

/** Collects attempts' ends and commits them in batches. */
export class OutcomeCommits {
  readonly #state: WorkerState;
  #pending: Completion[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #committing: Promise<void> | undefined;

  constructor(state: WorkerState) {
    this.#state = state;
  }

  /** Takes a handler's end (its `onEnd`). */
  complete(attempt: Attempt, end: HandlerEnd): void {
    clearTimeout(attempt.timer);
    if (attempt.abandoned) {
      if (attempt.cancelled) void this.#addCancelledOutcome(attempt, end);
      return;
    }
    const { o } = this.#state;
    const before = attempt.snapshot;
    const next = applyJobEvent(before, endEvent(attempt, end, o.random()));
    attempt.snapshot = next.snapshot;
    const write = this.#write(
      attempt,
      before,
      next.snapshot,
      end.ok ? Date.now() - attempt.startedAt : undefined,
    );
    if (next.status === "success" && end.ok && end.outcome.refs?.length) {
      write.refs = end.outcome.refs.map((r) => ({
        system: storableText(r.system),
        ref: storableText(r.ref),
      }));
    }
    const error = next.snapshot.context.lastError;
    attempt.trace.end(next.status, next.status === "success" || !error ? undefined : error);
    // A hot path: build the line only when it is written.
    if (o.logger.isLevelEnabled("debug")) {
      o.logger.debug({
        ...attempt.trace.ids(),
        jobId: attempt.id,
        kind: attempt.kind,
        status: next.status,
        ...write.events.at(-1)?.data,
      }, `Job attempt ended: ${next.status}`);
    }
    this.#pending.push({ attempt, write, status: next.status, effects: next.effects, before });
    if (this.#pending.length >= o.batchSize) void this.flush();
    else if (!this.#timer) this.#timer = setTimeout(() => void this.flush(), 1);
  }

  /** Commits everything collected so far. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#committing) await this.#committing;
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0);
    this.#committing = this.#commit(batch).finally(() => {
      this.#committing = undefined;
    });
    await this.#committing;
    if (this.#pending.length > 0) await this.flush();
  }

  #write(attempt: Attempt, before: JobSnapshot, after: JobSnapshot, ms?: number): TransitionWrite {
    return {
      id: attempt.id,
      leaseVersion: attempt.leaseVersion,
      ...jobWrite(before, [{ snapshot: after, ...(ms === undefined ? {} : { note: { ms } }) }]),
    };
  }

  /** Lets an attempt go when its outcome cannot be committed before shutdown: its lease expires and a successor reruns it. */
  #giveUp(completion: Completion): void {
    completion.attempt.abandoned = true;
    finishAttempt(this.#state, completion.attempt);
    this.#state.slots.abandon(completion.attempt.delivery);
  }

  #pastGrace(): boolean {
    return this.#state.giveUpAt !== undefined && Date.now() > this.#state.giveUpAt;
  }

  /** Commits outcomes (retrying while the database is away), then carries out each accepted job's effects. */
  async #commit(batch: Completion[]): Promise<void> {
    const { o, stats } = this.#state;
    let committed: Committed | undefined;
    for (let failures = 0; committed === undefined; failures++) {
      const live = batch.filter((c) => !c.attempt.abandoned);
      if (live.length === 0) return;
      try {
        committed = await o.store.commit(live.map((c) => c.write));
      } catch (error) {
        if (this.#pastGrace()) {
          o.logger.error({ err: error, count: live.length }, "Giving up committing job outcomes at shutdown");
          for (const c of live) this.#giveUp(c);
          return;
        }
        if (classifyStoreError(error) === "data") {
          // One outcome PostgreSQL refuses must not hold back the others, nor come back forever.
          o.logger.warn(
            { err: error, count: live.length },
            "Cannot commit a batch of job outcomes; committing them one by one",
          );
          committed = await this.#commitOneByOne(live);
          break;
        }
        o.logger.warn({ err: error, count: live.length, failures }, "Cannot commit job outcomes; retrying");
        await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
      }
    }
    o.outbox.enqueue(committed.events);
    const accepted = new Set(committed.accepted);
    await Promise.all(batch.map(async (completion) => {
      const { attempt } = completion;
      if (attempt.abandoned) return;
      finishAttempt(this.#state, attempt);
      if (!accepted.has(attempt.id)) {
        stats.fenced++;
        o.logger.warn(
          { jobId: attempt.id, leaseVersion: attempt.leaseVersion },
          "Outcome refused: the lease was taken or the job cancelled",
        );
        this.#state.slots.abandon(attempt.delivery);
        return;
      }
      o.metrics.jobFinished(attempt.kind, completion.status, (Date.now() - attempt.startedAt) / 1000);
      if (completion.status === "success") stats.succeeded++;
      else if (completion.status === "failed") stats.failed++;
      else if (completion.status === "retry") stats.retried++;
      await carryOut(this.#state, targetOf(attempt), completion.effects);
    }));
  }

  /**
   * Commits outcomes one statement each, retrying while the database is away; an
   * outcome refused alone for its data fails its job instead (UNSTORABLE). At
   * shutdown past the grace, what is left is abandoned to lease expiry.
   */
  async #commitOneByOne(live: Completion[]): Promise<Committed> {
    const { o } = this.#state;
    const out: Committed = { accepted: [], events: [] };
    for (const completion of live) {
      let refused = false;
      for (let failures = 0;; failures++) {
        if (completion.attempt.abandoned) break;
        try {
          const committed = await o.store.commit([completion.write]);
          out.accepted.push(...committed.accepted);
          out.events.push(...committed.events);
          break;
        } catch (error) {
          if (classifyStoreError(error) === "data" && !refused) {
            refused = true;
            this.#refuse(completion, error);
            continue;
          }
          if (this.#pastGrace()) {
            o.logger.error(
              { err: error, jobId: completion.attempt.id },
              "Giving up committing a job outcome at shutdown",
            );
            this.#giveUp(completion);
            break;
          }
          o.logger.warn(
            { err: error, jobId: completion.attempt.id, failures },
            "Cannot commit a job outcome; retrying",
          );
          await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)));
        }
      }
    }
    return out;
  }

  /** Replaces an outcome PostgreSQL refused with the job's failure, without the refused data. */
  #refuse(completion: Completion, error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    const info: JobErrorInfo = {
      kind: "permanent",
      code: UNSTORABLE,
      message: typeof code === "string"
        ? `Outcome refused: PostgreSQL cannot store it (SQLSTATE ${storableText(code)})`
        : "Outcome refused: it cannot be encoded for PostgreSQL",
    };
    const next = applyJobEvent(completion.before, { type: "job.fail", error: info, jitter: 0 });
    const { attempt } = completion;
    attempt.snapshot = next.snapshot;
    completion.status = next.status;
    completion.effects = next.effects;
    completion.write = this.#write(attempt, completion.before, next.snapshot);
    this.#state.o.logger.warn({ jobId: attempt.id, code: info.code }, info.message);
  }

  /**
   * The outcome of an attempt cancelled while it ran (an exec command's exit
   * code and usage once stopped), added to the cancelled job with a write
   * guarded by the status and lease version the cancel left.
   */
  async #addCancelledOutcome(attempt: Attempt, end: HandlerEnd): Promise<void> {
    const cancelled = attempt.cancelled!;
    const result = endResult(end);
    if (result === undefined) return;
    const next = applyJobEvent(cancelled.snapshot, { type: "job.outcome", result });
    if (!next.changed) return;
    const write: TransitionWrite = {
      id: attempt.id,
      leaseVersion: cancelled.leaseVersion,
      expectStatus: "cancelled",
      ...jobWrite(cancelled.snapshot, [{ snapshot: next.snapshot }]),
    };
    try {
      const committed = await this.#state.o.store.commit([write]);
      this.#state.o.outbox.enqueue(committed.events);
    } catch (error) {
      this.#state.o.logger.warn(
        { err: error, jobId: attempt.id },
        "Cannot record the outcome of a cancelled attempt",
      );
    }
  }
}
