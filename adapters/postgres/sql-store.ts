/**
 * The Store over SQL: the same statements on PostgreSQL (postgres.js) and on
 * PGlite. Batches travel as one JSON text parameter expanded with
 * `jsonb_to_recordset`, so every batch operation is one statement, whatever its
 * size. Times come from PostgreSQL's clock (`now()`), never the client's. Every
 * write after the lock names the lease version it holds (the fencing token).
 *
 * @module
 */
import type {
  JobEventRow,
  JobRow,
  ListOptions,
  LockRequest,
  LockResult,
  NewJob,
  RejectedMessageRow,
  SqlClient,
  Store,
  TransitionWrite,
} from "./store.ts";
import type { JobStatus } from "../../machines/job-status.ts";
import { ValidationError } from "../../machines/errors.ts";
import { migrate } from "./migrations.ts";

type Row = Record<string, unknown>;

const FINAL = new Set(["success", "failed", "cancelled"]);
const json = (value: unknown) => JSON.stringify(value);
/** A timestamp column (a Date from postgres.js and PGlite, or its text). */
export const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
/** A nullable timestamp column. */
export const toDateOrNull = (
  value: unknown,
): Date | null => (value === null || value === undefined ? null : toDate(value));

/** Maps a `jobs` row. */
export function toJobRow(row: Row): JobRow {
  return {
    id: String(row.id),
    kind: String(row.kind),
    status: row.status as JobStatus,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    payload: row.payload ?? null,
    result: row.result ?? null,
    lastError: row.last_error ?? null,
    org: (row.org as string | null) ?? null,
    timeoutMs: row.timeout_ms === null || row.timeout_ms === undefined ? null : Number(row.timeout_ms),
    runAt: toDate(row.run_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    workerId: (row.worker_id as string | null) ?? null,
    leaseVersion: Number(row.lease_version),
    leaseExpiresAt: toDateOrNull(row.lease_expires_at),
    snapshot: row.snapshot ?? null,
  };
}

/** Maps a `job_events` row (or its JSON form). */
export function toEventRow(row: Row): JobEventRow {
  return {
    id: Number(row.id),
    jobId: String(row.job_id),
    status: row.status as JobStatus,
    at: toDate(row.at),
    data: (row.data as Record<string, unknown>) ?? {},
  };
}

const JOB_COLUMNS =
  "id, kind, status, attempts, max_attempts, payload, result, last_error, org, timeout_ms, run_at, created_at, updated_at, worker_id, lease_version, lease_expires_at, snapshot";

// Inserts each row as its write says (the machine decided the status); the lease, when given, is version 1.
const ADMIT = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(
    ord int, id text, kind text, payload jsonb, max_attempts int, timeout_ms int, run_at timestamptz,
    org text, status text, snapshot jsonb, attempts int, result jsonb, last_error jsonb, events jsonb,
    worker_id text, lease_version int, lease_ms int)
), ins AS (
  INSERT INTO jobs (id, kind, status, max_attempts, payload, timeout_ms, run_at, org, result, last_error,
                    attempts, worker_id, lease_version, lease_expires_at, snapshot)
  SELECT id, kind, status, max_attempts, payload, timeout_ms, coalesce(run_at, now()), org, result, last_error,
         attempts, worker_id, lease_version, now() + lease_ms * interval '1 millisecond', snapshot
  FROM input ORDER BY ord
  ON CONFLICT (id) DO NOTHING
  RETURNING id
), ev AS (
  INSERT INTO job_events (job_id, status, data)
  SELECT i.id, s.value->>'status', coalesce(s.value->'data', '{}'::jsonb)
  FROM input i JOIN ins ON ins.id = i.id
  CROSS JOIN LATERAL jsonb_array_elements(i.events) WITH ORDINALITY AS s(value, n)
  ORDER BY i.ord, s.n
  RETURNING id, job_id, status, at, data
), outbox AS (
  INSERT INTO job_outbox (event_ids) SELECT array_agg(id) FROM ev HAVING count(*) > 0 RETURNING id
)
SELECT (SELECT coalesce(jsonb_agg(id), '[]'::jsonb) FROM ins) AS inserted,
       (SELECT coalesce(jsonb_agg(to_jsonb(ev) ORDER BY ev.id), '[]'::jsonb) FROM ev) AS events,
       (SELECT id FROM outbox) AS outbox_id`;

// One conditional UPDATE: due pending/retry jobs, or locked/running ones whose lease expired.
const LOCK = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(id text, worker_id text, lease_ms int)
)
UPDATE jobs j SET status = 'locked', worker_id = i.worker_id, lease_version = j.lease_version + 1,
  lease_expires_at = now() + i.lease_ms * interval '1 millisecond', updated_at = now()
FROM input i JOIN jobs old ON old.id = i.id
WHERE j.id = i.id
  AND ((j.status IN ('pending', 'retry') AND j.run_at <= now())
    OR (j.status IN ('locked', 'running') AND j.lease_expires_at < now()))
RETURNING ${JOB_COLUMNS.split(", ").map((c) => `j.${c}`).join(", ")}, old.status AS prev_status`;

const LOCK_REASONS = `
SELECT id, status,
  greatest(0, ceil(extract(epoch FROM (run_at - now())) * 1000))::int AS due_in_ms,
  greatest(0, ceil(extract(epoch FROM (lease_expires_at - now())) * 1000))::int AS lease_in_ms
FROM jobs WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`;

const COMMIT = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(
    id text, lease_version int, status text, snapshot jsonb, attempts int, set_result boolean, result jsonb,
    set_error boolean, last_error jsonb, run_in_ms int, release boolean, expect_status text, bump boolean)
), upd AS (
  UPDATE jobs j SET status = i.status, snapshot = i.snapshot, attempts = i.attempts,
    lease_version = CASE WHEN i.bump THEN j.lease_version + 1 ELSE j.lease_version END,
    result = CASE WHEN i.set_result THEN i.result ELSE j.result END,
    last_error = CASE WHEN i.set_error THEN i.last_error ELSE j.last_error END,
    run_at = CASE WHEN i.run_in_ms IS NULL THEN j.run_at ELSE now() + i.run_in_ms * interval '1 millisecond' END,
    worker_id = CASE WHEN i.release THEN NULL ELSE j.worker_id END,
    lease_expires_at = CASE WHEN i.release THEN NULL ELSE j.lease_expires_at END,
    updated_at = now()
  FROM input i
  WHERE j.id = i.id AND j.lease_version = i.lease_version
    AND (i.expect_status IS NULL OR j.status = i.expect_status)
  RETURNING j.id
), ev AS (
  INSERT INTO job_events (job_id, status, data)
  SELECT e.job_id, e.status, e.data
  FROM jsonb_to_recordset($2::text::jsonb) AS e(ord int, job_id text, status text, data jsonb)
  JOIN upd ON upd.id = e.job_id
  ORDER BY e.ord
  RETURNING id, job_id, status, at, data
), outbox AS (
  INSERT INTO job_outbox (event_ids) SELECT array_agg(id) FROM ev HAVING count(*) > 0 RETURNING id
), refs AS (
  INSERT INTO job_refs (job_id, system, ref)
  SELECT r.job_id, r.system, r.ref
  FROM jsonb_to_recordset($3::text::jsonb) AS r(job_id text, system text, ref text)
  JOIN upd ON upd.id = r.job_id
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT coalesce(jsonb_agg(id), '[]'::jsonb) FROM upd) AS accepted,
       (SELECT coalesce(jsonb_agg(to_jsonb(ev) ORDER BY ev.id), '[]'::jsonb) FROM ev) AS events,
       (SELECT count(*) FROM refs) AS refs,
       (SELECT id FROM outbox) AS outbox_id`;

const HEARTBEAT = `
UPDATE jobs j SET lease_expires_at = now() + $2::int * interval '1 millisecond'
FROM jsonb_to_recordset($1::text::jsonb) AS x(id text, lease_version int)
WHERE j.id = x.id AND j.lease_version = x.lease_version AND j.status IN ('locked', 'running')
RETURNING j.id`;

const CLAIM_STALE = `
UPDATE jobs SET republished_at = now()
WHERE id IN (
  SELECT id FROM jobs
  WHERE ((status IN ('pending', 'retry') AND run_at < now() - $1::int * interval '1 millisecond')
      OR (status IN ('locked', 'running') AND lease_expires_at < now() - $1::int * interval '1 millisecond'))
    AND updated_at < now() - $1::int * interval '1 millisecond'
    AND (republished_at IS NULL OR republished_at < now() - $1::int * interval '1 millisecond')
  ORDER BY run_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
RETURNING ${JOB_COLUMNS}`;

function withOutbox(events: JobEventRow[], outboxId: unknown): JobEventRow[] {
  if (outboxId === null || outboxId === undefined) return events;
  const id = Number(outboxId);
  for (const event of events) event.outboxId = id;
  return events;
}

function parseJson<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/** The Store over a {@link SqlClient}. */
export class SqlStore implements Store {
  readonly client: SqlClient;

  constructor(client: SqlClient) {
    this.client = client;
  }

  migrate(): Promise<number[]> {
    return migrate(this.client);
  }

  async admit(jobs: NewJob[]): Promise<{ inserted: string[]; events: JobEventRow[] }> {
    if (jobs.length === 0) return { inserted: [], events: [] };
    const input = jobs.map((job, ord) => {
      const write = job.write;
      return {
        ord,
        id: job.id,
        kind: job.kind,
        payload: job.payload ?? null,
        max_attempts: job.maxAttempts,
        timeout_ms: job.timeoutMs ?? null,
        run_at: job.runAt ? job.runAt.toISOString() : null,
        org: job.org ?? null,
        status: write?.status ?? "pending",
        snapshot: write?.snapshot ?? null,
        attempts: write?.attempts ?? 0,
        result: write?.result ?? null,
        last_error: write?.lastError ?? null,
        events: write?.events ?? [{ status: "pending", data: job.eventData ?? {} }],
        worker_id: job.lease?.workerId ?? null,
        lease_version: job.lease ? 1 : 0,
        lease_ms: job.lease ? Math.round(job.lease.leaseMs) : null,
      };
    });
    const [row] = await this.client.query(ADMIT, [json(input)]);
    return {
      inserted: parseJson<string[]>(row?.inserted ?? "[]"),
      events: withOutbox(parseJson<Row[]>(row?.events ?? "[]").map(toEventRow), row?.outbox_id),
    };
  }

  async lock(requests: LockRequest[]): Promise<LockResult[]> {
    if (requests.length === 0) return [];
    const input = requests.map((r) => ({ id: r.id, worker_id: r.workerId, lease_ms: r.leaseMs }));
    const rows = await this.client.query(LOCK, [json(input)]);
    const locked = new Map<string, Row>();
    for (const row of rows) locked.set(String(row.id), row);
    const others = requests.filter((r) => !locked.has(r.id)).map((r) => r.id);
    const reasons = new Map<string, Row>();
    if (others.length > 0) {
      for (const row of await this.client.query(LOCK_REASONS, [json(others)])) {
        reasons.set(String(row.id), row);
      }
    }
    return requests.map((request): LockResult => {
      const row = locked.get(request.id);
      if (row) {
        const previousStatus = row.prev_status as JobStatus;
        return {
          id: request.id,
          locked: true,
          job: toJobRow(row),
          previousStatus,
          leaseExpired: previousStatus === "locked" || previousStatus === "running",
        };
      }
      const reason = reasons.get(request.id);
      if (!reason) return { id: request.id, locked: false, reason: "missing" };
      const status = reason.status as JobStatus;
      if (FINAL.has(status)) return { id: request.id, locked: false, reason: "final", status };
      if (status === "locked" || status === "running") {
        return {
          id: request.id,
          locked: false,
          reason: "leased",
          status,
          retryInMs: Number(reason.lease_in_ms ?? 1000) || 1000,
        };
      }
      const dueIn = Number(reason.due_in_ms ?? 0);
      if (dueIn > 0) return { id: request.id, locked: false, reason: "not-due", status, retryInMs: dueIn };
      // Due but taken by a concurrent locker between the two statements.
      return { id: request.id, locked: false, reason: "leased", status, retryInMs: 1000 };
    });
  }

  async commit(writes: TransitionWrite[]): Promise<{ accepted: string[]; events: JobEventRow[] }> {
    if (writes.length === 0) return { accepted: [], events: [] };
    const input = writes.map((w) => ({
      id: w.id,
      lease_version: w.leaseVersion,
      status: w.status,
      snapshot: w.snapshot ?? null,
      attempts: w.attempts,
      set_result: w.result !== undefined,
      result: w.result ?? null,
      set_error: w.lastError !== undefined,
      last_error: w.lastError ?? null,
      run_in_ms: w.runInMs === undefined ? null : Math.max(0, Math.round(w.runInMs)),
      release: w.releaseLease ?? false,
      expect_status: w.expectStatus ?? null,
      bump: w.bumpLease ?? false,
    }));
    const events: { ord: number; job_id: string; status: string; data: unknown }[] = [];
    const refs: { job_id: string; system: string; ref: string }[] = [];
    for (const w of writes) {
      for (const e of w.events) {
        events.push({ ord: events.length, job_id: w.id, status: e.status, data: e.data ?? {} });
      }
      for (const r of w.refs ?? []) refs.push({ job_id: w.id, system: r.system, ref: r.ref });
    }
    const [row] = await this.client.query(COMMIT, [json(input), json(events), json(refs)]);
    return {
      accepted: parseJson<string[]>(row?.accepted ?? "[]"),
      events: withOutbox(parseJson<Row[]>(row?.events ?? "[]").map(toEventRow), row?.outbox_id),
    };
  }

  async heartbeat(leases: { id: string; leaseVersion: number }[], leaseMs: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const input = leases.map((l) => ({ id: l.id, lease_version: l.leaseVersion }));
    const rows = await this.client.query(HEARTBEAT, [json(input), Math.round(leaseMs)]);
    return rows.map((r) => String(r.id));
  }

  async markPublished(outboxIds: number[]): Promise<void> {
    if (outboxIds.length === 0) return;
    await this.client.query(
      "DELETE FROM job_outbox WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb)::bigint)",
      [json(outboxIds)],
    );
  }

  async unpublishedEvents(olderThanMs: number, limit: number): Promise<JobEventRow[]> {
    const rows = await this.client.query(
      `WITH batch AS (
         SELECT id, event_ids FROM job_outbox
         WHERE at < now() - $1::int * interval '1 millisecond' ORDER BY id LIMIT $2::int
       )
       SELECT e.id, e.job_id, e.status, e.at, e.data, b.id AS outbox_id
       FROM batch b CROSS JOIN LATERAL unnest(b.event_ids) AS x(event_id)
       JOIN job_events e ON e.id = x.event_id
       ORDER BY b.id, e.id`,
      [Math.round(olderThanMs), limit],
    );
    return rows.map((row) => ({ ...toEventRow(row), outboxId: Number(row.outbox_id) }));
  }

  async getJob(id: string): Promise<JobRow | undefined> {
    const [row] = await this.client.query(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return row ? toJobRow(row) : undefined;
  }

  async listJobs(options: ListOptions = {}): Promise<{ jobs: JobRow[]; nextCursor?: string }> {
    const limit = Math.max(1, Math.min(1000, options.limit ?? 50));
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.status) {
      params.push(options.status);
      where.push(`status = $${params.length}`);
    }
    if (options.kind) {
      params.push(options.kind);
      where.push(`kind = $${params.length}`);
    }
    if (options.since) {
      params.push(options.since.toISOString());
      where.push(`created_at >= $${params.length}::timestamptz`);
    }
    if (options.cursor) {
      let created: string;
      let id: string;
      try {
        [created, id] = JSON.parse(atob(options.cursor)) as [string, string];
        // What the server made: a timestamp's text and a job id (a forged one must not reach SQL).
        if (
          typeof created !== "string" ||
          !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/.test(created) ||
          typeof id !== "string" || id.length > 200 || hasControlCharacter(id)
        ) throw new Error("bad cursor");
      } catch {
        throw new ValidationError(`Invalid cursor "${options.cursor.slice(0, 40)}"`, { field: "cursor" });
      }
      params.push(created, id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(limit + 1);
    const rows = await this.client.query(
      `SELECT ${JOB_COLUMNS}, created_at::text AS created_cursor FROM jobs
       ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY created_at DESC, id DESC LIMIT $${params.length}::int`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const result: { jobs: JobRow[]; nextCursor?: string } = { jobs: page.map(toJobRow) };
    if (rows.length > limit && last) {
      result.nextCursor = btoa(JSON.stringify([String(last.created_cursor), String(last.id)]));
    }
    return result;
  }

  async jobEvents(id: string, options: { afterId?: number } = {}): Promise<JobEventRow[]> {
    const rows = await this.client.query(
      "SELECT id, job_id, status, at, data FROM job_events WHERE job_id = $1 AND id > $2::bigint ORDER BY id",
      [id, options.afterId ?? 0],
    );
    return rows.map(toEventRow);
  }

  async jobRefs(id: string): Promise<{ system: string; ref: string }[]> {
    const rows = await this.client.query(
      "SELECT system, ref FROM job_refs WHERE job_id = $1 ORDER BY at, system, ref",
      [id],
    );
    return rows.map((r) => ({ system: String(r.system), ref: String(r.ref) }));
  }

  async claimStale(graceMs: number, limit: number): Promise<JobRow[]> {
    const rows = await this.client.query(CLAIM_STALE, [Math.round(graceMs), limit]);
    return rows.map(toJobRow);
  }

  async recordRejected(
    entry: { subject: string; reason: string; seq?: number; headers?: Record<string, string> },
  ): Promise<void> {
    await this.client.query(
      "INSERT INTO rejected_messages (subject, reason, seq, headers) VALUES ($1, $2, $3, $4::text::jsonb)",
      [entry.subject, entry.reason.slice(0, 2000), entry.seq ?? null, json(entry.headers ?? {})],
    );
  }

  async listRejected(options: { limit?: number } = {}): Promise<RejectedMessageRow[]> {
    const limit = Math.max(1, Math.min(1000, Math.trunc(options.limit ?? 100)));
    const rows = await this.client.query(
      "SELECT id, subject, reason, seq, headers, at FROM rejected_messages ORDER BY id DESC LIMIT $1",
      [limit],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      subject: String(row.subject),
      reason: String(row.reason),
      seq: row.seq === null || row.seq === undefined ? null : Number(row.seq),
      headers: (typeof row.headers === "string" ? JSON.parse(row.headers) : row.headers ?? {}) as Record<
        string,
        string
      >,
      at: new Date(row.at as string | Date),
    }));
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.client.query("SELECT status, count(*)::int AS n FROM jobs GROUP BY status");
    const out: Record<string, number> = {};
    for (const row of rows) out[String(row.status)] = Number(row.n);
    return out;
  }

  async ping(): Promise<boolean> {
    await this.client.query("SELECT 1");
    return true;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Whether `text` holds a C0 control character (U+0000 to U+001F). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}
