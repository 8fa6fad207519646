/**
 * The worker's fallback when admitting a batch fails for a reason other than a
 * lost connection: admit its rows one by one, so one row PostgreSQL cannot store
 * never holds back the others. A row that fails alone with a data error (see
 * adapters/postgres/classify.ts) is stored as a failed job without its payload;
 * if even that fails, the caller records the message as rejected. A row that
 * fails alone for any other reason is delivered again.
 *
 * The envelope's rules (bus/json-value-rules.ts) refuse known poison before it
 * gets here; this is the defence for what they do not foresee.
 *
 * @module
 */
import type { JobEventRow, NewJob, Store } from "../../adapters/postgres/store.ts";
import { classifyStoreError } from "../../adapters/postgres/classify.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";
import { applyJobEvent, createJobSnapshot } from "../../machines/job-transition.ts";
import { jobWrite } from "../../machines/job-write.ts";

/** `last_error.code` of a job whose row PostgreSQL refused. */
export const UNSTORABLE = "UNSTORABLE";

/** What admitting rows one by one gave. */
export interface SeparateAdmission {
  /** Ids inserted as given. */
  inserted: Set<string>;
  events: JobEventRow[];
  /**
   * Rows PostgreSQL cannot store even alone: `failed` when stored as a failed job
   * without payload, `unrecorded` when even that failed (record the message as rejected).
   */
  refused: Map<string, { reason: string; stored: "failed" | "unrecorded" }>;
  /** Ids to deliver again: a transient (or unknown) error, or one after it. */
  retry: Set<string>;
}

/** Why the row was refused: the error's code, never its message (it may quote the row). */
function refusal(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return `Job refused: PostgreSQL cannot store its row (SQLSTATE ${code})`;
  return `Job refused: its row cannot be encoded for PostgreSQL (${
    error instanceof Error ? error.name : typeof error
  })`;
}

/** The row of a refused job: failed, no payload, no event data beyond how it came in. */
function failedRow(job: NewJob, reason: string): NewJob {
  const data = job.eventData ?? job.write?.events[0]?.data ?? {};
  const error: JobErrorInfo = { kind: "permanent", code: UNSTORABLE, message: reason };
  const backoff = job.write?.snapshot.context.backoff;
  const created = createJobSnapshot({
    id: job.id,
    kind: job.kind,
    maxAttempts: 1,
    ...(backoff ? { backoff } : {}),
  });
  const failed = applyJobEvent(created, { type: "job.reject", error }).snapshot;
  const note = {
    source: data.source === "api" ? "api" : "bus",
    ...(typeof data.seq === "number" ? { seq: data.seq } : {}),
    refused: true,
  };
  return {
    id: job.id,
    kind: job.kind,
    payload: null,
    maxAttempts: 1,
    write: jobWrite(null, [{ snapshot: created, note }, { snapshot: failed }]),
  };
}

/** Admits `jobs` one statement each; see the module header. Never throws. */
export async function admitSeparately(store: Store, jobs: NewJob[]): Promise<SeparateAdmission> {
  const out: SeparateAdmission = { inserted: new Set(), events: [], refused: new Map(), retry: new Set() };
  let connectionLost = false;
  for (const job of jobs) {
    if (connectionLost) {
      out.retry.add(job.id);
      continue;
    }
    try {
      const result = await store.admit([job]);
      for (const id of result.inserted) out.inserted.add(id);
      out.events.push(...result.events);
      continue;
    } catch (error) {
      const kind = classifyStoreError(error);
      if (kind !== "data") {
        connectionLost = kind === "transient";
        out.retry.add(job.id);
        continue;
      }
      const reason = refusal(error);
      try {
        const result = await store.admit([failedRow(job, reason)]);
        out.events.push(...result.events);
        // Not inserted: the job exists already (admitted by the API); it goes on from its stored row.
        if (result.inserted.length > 0) out.refused.set(job.id, { reason, stored: "failed" });
      } catch (again) {
        const kindAgain = classifyStoreError(again);
        if (kindAgain === "data") out.refused.set(job.id, { reason, stored: "unrecorded" });
        else {
          connectionLost = kindAgain === "transient";
          out.retry.add(job.id);
        }
      }
    }
  }
  return out;
}
