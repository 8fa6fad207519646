/**
 * Admission of a batch of pulled messages: parse each (a message without a
 * usable id is recorded and acked), admit the new jobs in one statement (born
 * failed when the message is bad, or admitted and started at once), lock the
 * others with one conditional UPDATE, commit each locked job's planned write
 * (to `running`, or `failed`), then carry out the machine's effects: `run`
 * starts the handler, `ack` settles a job that will not run. When the admit
 * statement fails for any reason but a lost connection, the rows are admitted
 * one by one (actors/worker/admit-separately.ts).
 *
 * @module
 */
import type { JobDelivery } from "../../bus/bus.ts";
import type { NewJob, TransitionWrite } from "../../adapters/postgres/store.ts";
import { type ParsedJobMessage, parseJobMessage, storableHeaders } from "../../bus/envelope.ts";
import { storableText } from "../../bus/json-value-rules.ts";
import { classifyStoreError } from "../../adapters/postgres/classify.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import type { JobSnapshot } from "../../machines/job-machine.ts";
import { admitSeparately } from "./admit-separately.ts";
import { planNewJob, planStart, type StartPlan } from "./job-plans.ts";
import type { RunTarget } from "./attempt.ts";
import { carryOut } from "./effects.ts";
import type { WorkerState } from "./worker-options.ts";

/** A job to start once its `running` write is committed. */
export interface Start {
  row: RunTarget;
  snapshot: JobSnapshot;
  delivery: JobDelivery;
  payload: unknown;
}

/** A message of the batch with a usable id. */
interface Entry {
  delivery: JobDelivery;
  parsed: ParsedJobMessage;
  effects: JobEffect[];
  start?: { snapshot: JobSnapshot; payload: unknown; job: NewJob };
}

/** Admits and starts batches; `start` runs a job's handler (the `run` effect). */
export class Admission {
  readonly #state: WorkerState;
  readonly #start: (start: Start) => void;

  constructor(state: WorkerState, start: (start: Start) => void) {
    this.#state = state;
    this.#start = start;
  }

  /** Settles, admits, locks and starts what `deliveries` bring. Every message is settled or handed to a handler. */
  async admit(deliveries: JobDelivery[]): Promise<void> {
    const { o, stats, slots } = this.#state;
    const { store, logger } = o;
    // 1. Parse; a message without a usable id can never be a job: record it, then ack it.
    const byId = new Map<string, Entry>();
    const newJobs: NewJob[] = [];
    for (const delivery of deliveries) {
      const parsed = parseJobMessage(
        {
          kind: o.bus.subjects.kindOf(delivery.subject),
          data: delivery.data,
          headers: delivery.headers,
          seq: delivery.seq,
        },
        { maxPayloadBytes: o.maxPayloadBytes },
      );
      const id = parsed.ok ? parsed.envelope.id : parsed.id;
      if (id === undefined) {
        stats.rejected++;
        o.metrics.rejected(parsed.ok ? "no_id" : parsed.code.toLowerCase());
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
        stats.duplicates++;
        await slots.settle(delivery, "ack");
        continue;
      }
      const plan = planNewJob(id, parsed, delivery, { ...o, workerId: this.#state.id });
      newJobs.push(plan.job);
      byId.set(id, {
        delivery,
        parsed,
        effects: plan.effects,
        ...(plan.start ? { start: { ...plan.start, job: plan.job } } : {}),
      });
    }
    if (byId.size === 0) return;

    // 2. Admit: insert what is new, as planned.
    let admitted: Set<string>;
    /** Ids settled during admission (refused or to deliver again): nothing more to do for them. */
    const settled = new Set<string>();
    try {
      const result = await store.admit(newJobs);
      o.outbox.enqueue(result.events);
      admitted = new Set(result.inserted);
    } catch (error) {
      if (classifyStoreError(error) === "transient") {
        logger.warn(
          { err: error, count: byId.size },
          "Cannot admit jobs; their messages will be redelivered",
        );
        await Promise.all([...byId.values()].map(({ delivery }) => slots.settle(delivery, { nakMs: 1000 })));
        return;
      }
      logger.warn(
        { err: error, count: byId.size },
        "Cannot admit a batch of jobs; admitting them one by one",
      );
      const each = await admitSeparately(store, newJobs);
      o.outbox.enqueue(each.events);
      admitted = each.inserted;
      for (const [id, { reason, stored }] of each.refused) {
        const { delivery, parsed } = byId.get(id)!;
        settled.add(id);
        o.metrics.rejected("unstorable");
        logger.warn({ jobId: id, stored }, reason);
        if (stored === "unrecorded") {
          stats.rejected++;
          await this.#recordRejected(delivery, reason);
        } else {
          stats.failed++;
          o.metrics.jobFinished(parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "unknown"), "failed", 0);
          await slots.settle(delivery, "ack");
        }
      }
      for (const id of each.retry) {
        settled.add(id);
        await slots.settle(byId.get(id)!.delivery, { nakMs: 1000 });
      }
    }

    // 3. What was inserted as planned goes on by its effects; the rest is locked from its stored row.
    const toLock: string[] = [];
    for (const [id, entry] of byId) {
      if (settled.has(id)) continue;
      const { delivery, parsed } = entry;
      if (admitted.has(id) && entry.effects.length > 0) {
        const { start } = entry;
        if (!start) {
          // Born failed: the machine's `ack`.
          stats.failed++;
          const code = parsed.ok ? undefined : parsed.code;
          if (code) o.metrics.rejected(code.toLowerCase());
          o.metrics.jobFinished(parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "unknown"), "failed", 0);
          logger.info({ jobId: id, code }, "Job failed on arrival");
        }
        await carryOut(this.#state, {
          id,
          kind: start?.job.kind ?? "",
          delivery,
          attempts: start?.snapshot.context.attempts ?? 0,
          run: () =>
            start && this.#start({
              row: {
                id,
                kind: start.job.kind,
                maxAttempts: start.job.maxAttempts,
                timeoutMs: start.job.timeoutMs ?? null,
                org: start.job.org ?? null,
                leaseVersion: 1,
              },
              snapshot: start.snapshot,
              delivery,
              payload: start.payload,
            }),
        }, entry.effects);
        continue;
      }
      const kind = parsed.ok ? parsed.envelope.kind : (parsed.kind ?? "");
      const limit = o.kinds.get(kind)?.concurrency;
      // Take a slot of the kind now: other batches in flight see it at once.
      if (limit !== undefined && !slots.takeKind(delivery, kind, limit)) {
        stats.deferred++;
        await slots.settle(delivery, { nakMs: 250 });
        continue;
      }
      toLock.push(id);
    }
    if (toLock.length > 0) await this.#lockAndStart(toLock, byId);
  }

  /** Locks with one conditional UPDATE, commits each locked job's plan, then carries out its effects. */
  async #lockAndStart(toLock: string[], byId: Map<string, Entry>): Promise<void> {
    const { o, stats, slots } = this.#state;
    const { store, logger } = o;
    let results;
    try {
      results = await store.lock(toLock.map((id) => ({ id, workerId: this.#state.id, leaseMs: o.leaseMs })));
    } catch (error) {
      logger.warn(
        { err: error, count: toLock.length },
        "Cannot lock jobs; their messages will be redelivered",
      );
      await Promise.all(toLock.map((id) => slots.settle(byId.get(id)!.delivery, { nakMs: 1000 })));
      return;
    }
    const plans: { plan: StartPlan; row: RunTarget; delivery: JobDelivery }[] = [];
    for (const result of results) {
      const { delivery } = byId.get(result.id)!;
      if (!result.locked) {
        if (result.reason === "final") {
          stats.duplicates++;
          logger.debug(
            { jobId: result.id, status: result.status },
            "Dropped a duplicate delivery of a finished job",
          );
          await slots.settle(delivery, "ack");
        } else if (result.reason === "missing") {
          logger.warn({ jobId: result.id }, "Dropped a message whose job row is missing");
          await slots.settle(delivery, "ack");
        } else {
          stats.deferred++;
          await slots.settle(delivery, {
            nakMs: Math.max(50, Math.min(result.retryInMs ?? 1000, 60_000) + 20),
          });
        }
        continue;
      }
      try {
        plans.push({
          plan: planStart(result.job, delivery, { ...o, workerId: this.#state.id }),
          row: result.job,
          delivery,
        });
      } catch (error) {
        logger.error(
          { err: error, jobId: result.id },
          "Cannot plan the job's next transition; its message will be redelivered",
        );
        await slots.settle(delivery, { nakMs: 5000 });
      }
    }
    if (plans.length === 0) return;
    const writes: TransitionWrite[] = plans.map(({ plan }) => plan.write);
    let accepted: Set<string>;
    try {
      const committed = await store.commit(writes);
      o.outbox.enqueue(committed.events);
      accepted = new Set(committed.accepted);
    } catch (error) {
      logger.warn(
        { err: error, count: writes.length },
        "Cannot commit locks; their messages will be redelivered",
      );
      await Promise.all(plans.map(({ delivery }) => slots.settle(delivery, { nakMs: 1000 })));
      return;
    }
    await Promise.all(plans.map(async ({ plan, row, delivery }) => {
      if (!accepted.has(row.id)) {
        stats.fenced++;
        await slots.settle(delivery, { nakMs: 1000 });
        return;
      }
      if (plan.write.status === "failed") stats.failed++;
      await carryOut(this.#state, {
        id: row.id,
        kind: row.kind,
        delivery,
        attempts: plan.snapshot.context.attempts,
        run: () => this.#start({ row, snapshot: plan.snapshot, delivery, payload: plan.payload }),
      }, plan.effects);
    }));
  }

  /** Records a message that cannot become a job (storable metadata only, never its body), then acks it. */
  async #recordRejected(delivery: JobDelivery, reason: string): Promise<void> {
    const { o, slots } = this.#state;
    await o.store.recordRejected({
      subject: storableText(delivery.subject),
      reason: storableText(reason),
      seq: delivery.seq,
      headers: storableHeaders(delivery.headers),
    }).catch((error) => o.logger.error({ err: error }, "Cannot record a rejected message"));
    // Recorded: ack removes it from the work queue (a term would leave it stored there).
    await slots.settle(delivery, "ack");
  }
}
