/**
 * The message published on `<ns>.events.<jobId>` for every committed row of
 * `job_events` (the outbox): one message per state entered. Its data never holds
 * the job's payload (who asked, the attempt, the error, the delay), so the SSE
 * streams built from it need no redaction of secret fields (redact-payload.ts).
 *
 * @module
 */
import type { JobEventRow } from "../../adapters/postgres/store.ts";

/** The JSON body of an event message. */
export interface JobEventMessage {
  /** The `job_events.id`: global order, and the SSE event id. */
  eventId: number;
  jobId: string;
  status: string;
  at: string;
  data: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** Converts a committed row to its message. */
export function toEventMessage(row: JobEventRow): JobEventMessage {
  return { eventId: row.id, jobId: row.jobId, status: row.status, at: row.at.toISOString(), data: row.data };
}

/** Encodes rows for `Bus.publishEvents`; the msg id makes a republish a no-op. */
export function encodeEventRows(rows: JobEventRow[]): { jobId: string; data: Uint8Array; msgId: string }[] {
  return rows.map((row) => ({
    jobId: row.jobId,
    data: encoder.encode(JSON.stringify(toEventMessage(row))),
    msgId: `${row.jobId}:e${row.id}`,
  }));
}
