/**
 * Sync runs in `discovery_runs`, shared by every SQL sync sink (the inventory,
 * the directory): at most one running sync per provider and scope (a unique
 * partial index), and a run left `running` by a job that is gone, final or past
 * its lease is closed as abandoned before a new one starts.
 *
 * @module
 */
import type { RunEnd, RunStart } from "../sync/port.ts";
import type { SqlClient } from "./store.ts";

/**
 * Records a running sync of `run.provider`/`run.scope`, unless another job's
 * sync of them is running: then `busyJobId` names that job.
 */
export async function beginSyncRun(
  db: SqlClient,
  run: RunStart,
): Promise<{ started: true } | { started: false; busyJobId: string }> {
  return await db.transaction(async (tx) => {
    // Close a run whose job is gone, final, or past its lease (a crash or a takeover of this very job).
    await tx.query(
      `UPDATE discovery_runs r SET status = 'abandoned', finished_at = now(), error = 'its job stopped before the run ended'
       WHERE r.provider = $1 AND r.scope = $2 AND r.status = 'running'
         AND (r.job_id = $3 OR NOT EXISTS (
           SELECT 1 FROM jobs j WHERE j.id = r.job_id AND j.status IN ('locked','running')
             AND (j.lease_expires_at IS NULL OR j.lease_expires_at > now())))`,
      [run.provider, run.scope, run.jobId],
    );
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO discovery_runs (id, job_id, attempt, provider, scope, org, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'running')
       ON CONFLICT (provider, scope) WHERE status = 'running' DO NOTHING RETURNING id`,
      [run.runId, run.jobId, run.attempt, run.provider, run.scope, run.org],
    );
    if (inserted.length > 0) return { started: true as const };
    const busy = await tx.query<{ job_id: string }>(
      "SELECT job_id FROM discovery_runs WHERE provider = $1 AND scope = $2 AND status = 'running'",
      [run.provider, run.scope],
    );
    return { started: false as const, busyJobId: busy[0]?.job_id ?? "unknown" };
  });
}

/** Closes a run with its counts; returns its provider and scope (undefined for an unknown run id). */
export async function finishSyncRun(
  db: SqlClient,
  runId: string,
  end: RunEnd,
): Promise<{ provider: string; scope: string } | undefined> {
  const [row] = await db.query<{ provider: string; scope: string }>(
    `UPDATE discovery_runs SET status = $2, finished_at = now(), sources = $3, pages = $4, created = $5, updated = $6,
       deleted = $7, failed_pages = $8::text::jsonb, error = $9
     WHERE id = $1 RETURNING provider, scope`,
    [
      runId,
      end.status,
      end.sources,
      end.pages,
      end.created,
      end.updated,
      end.deleted,
      end.failedPages && end.failedPages.length > 0 ? JSON.stringify(end.failedPages) : null,
      end.error ?? null,
    ],
  );
  return row ? { provider: String(row.provider), scope: String(row.scope) } : undefined;
}
