/**
 * The JSON shapes of a job and of its audit rows, as the API and the CLI show
 * them. A file of its own so that the CLI's HTTP client does not load the job
 * service (xstate, the envelope, tracing) to print a job.
 *
 * @module
 */
import type { JobEventRow, JobRow } from "../../adapters/postgres/store.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";

/**
 * The JSON shape of a job in the API and the CLI. The payload's secret fields
 * (as its kind marks them) are `"***"`, for every role: see {@link KindRegistry.redact}.
 */
export function jobToJson(job: JobRow, kinds: KindRegistry): Record<string, unknown> {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    payload: kinds.redact(job.kind, job.payload),
    result: job.result,
    lastError: job.lastError,
    org: job.org,
    runAt: job.runAt.toISOString(),
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
  };
}

/** The JSON shape of an audit row. */
export function eventToJson(event: JobEventRow): Record<string, unknown> {
  return {
    id: event.id,
    jobId: event.jobId,
    status: event.status,
    at: event.at.toISOString(),
    data: event.data,
  };
}
