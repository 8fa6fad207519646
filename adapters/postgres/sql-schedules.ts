/**
 * Schedules over SQL: CRUD, and the scheduler's claim. A claim is one UPDATE
 * over `FOR UPDATE SKIP LOCKED` rows, so several schedulers share the due rows
 * and never fire one slot twice; the job id of a slot is deterministic
 * (`schedule-<id>-<slot epoch milliseconds>`), so a slot published twice (a crash
 * between claim and publish, then a re-publish) is one job (JetStream msg-id
 * dedupe plus the jobs primary key). A slot whose previous job is still open is
 * skipped, not queued: runs of one schedule never overlap.
 *
 * @module
 */
import { ErrorCode, TroupeError, ValidationError } from "../../machines/errors.ts";
import type { SqlClient } from "./store.ts";
import { toDate, toDateOrNull } from "./sql-store.ts";

type Row = Record<string, unknown>;

/** What a schedule id may look like (it is part of job ids). */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A schedule as stored. */
export interface ScheduleRow {
  id: string;
  kind: string;
  payload: unknown;
  org: string | null;
  /** For `discovery.<provider>` and `sync.<provider>` kinds: the provider, scope and credentials reference of the payload. */
  provider: string | null;
  scope: string | null;
  credentialsRef: string | null;
  intervalSeconds: number;
  enabled: boolean;
  nextRunAt: Date;
  lastRunAt: Date | null;
  lastJobId: string | null;
  /** `idle` before the first run, then the status of the last job. */
  status: string;
  lastError: unknown;
  /** Slots skipped because the previous run was still going. */
  skipped: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A new schedule. */
export interface ScheduleInput {
  id: string;
  kind: string;
  payload?: unknown;
  org?: string | null;
  intervalSeconds: number;
  enabled?: boolean;
  /** First run; default now. */
  nextRunAt?: Date;
}

/** A change to a schedule; absent fields stay. */
export type SchedulePatch = Partial<Omit<ScheduleInput, "id">>;

/** A slot the scheduler claimed: to submit, or skipped because the last run is open. */
export interface ClaimedSlot {
  schedule: ScheduleRow;
  jobId: string;
  skipped: boolean;
}

function toScheduleRow(row: Row): ScheduleRow {
  return {
    id: String(row.id),
    kind: String(row.kind),
    payload: row.payload ?? {},
    org: (row.org as string | null) ?? null,
    provider: (row.provider as string | null) ?? null,
    scope: (row.scope as string | null) ?? null,
    credentialsRef: (row.credentials_ref as string | null) ?? null,
    intervalSeconds: Number(row.interval_seconds),
    enabled: Boolean(row.enabled),
    nextRunAt: toDate(row.next_run_at),
    lastRunAt: toDateOrNull(row.last_run_at),
    lastJobId: (row.last_job_id as string | null) ?? null,
    status: String(row.status),
    lastError: row.last_error ?? null,
    skipped: Number(row.skipped),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Checks a schedule id. */
export function validateScheduleId(id: string): string {
  if (typeof id !== "string" || !SCHEDULE_ID_PATTERN.test(id)) {
    throw new ValidationError(
      `Invalid schedule id "${String(id).slice(0, 70)}": use 1-64 letters, digits, "_" or "-"`,
      { field: "id" },
    );
  }
  return id;
}

const OPEN = "('pending','locked','running','retry')";

/** Schedules on a SQL client. */
export class SqlSchedules {
  #db: SqlClient;

  constructor(client: SqlClient) {
    this.#db = client;
  }

  /** Creates a schedule; a taken id is a conflict. */
  async create(input: ScheduleInput): Promise<ScheduleRow> {
    validateScheduleId(input.id);
    const rows = await this.#db.query<Row>(
      `INSERT INTO schedules (id, kind, payload, org, interval_seconds, enabled, next_run_at)
       VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, COALESCE($7::timestamptz, now()))
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        input.id,
        input.kind,
        JSON.stringify(input.payload ?? {}),
        input.org ?? null,
        input.intervalSeconds,
        input.enabled ?? true,
        input.nextRunAt?.toISOString() ?? null,
      ],
    );
    if (rows.length === 0) {
      throw new TroupeError(`Schedule "${input.id}" already exists`, { code: ErrorCode.conflict });
    }
    return toScheduleRow(rows[0] as Row);
  }

  /**
   * Creates or updates a schedule the configuration defines (`<NAME>_ENABLED`):
   * kind, payload, interval and enabled follow the configuration; the next run
   * moves only when it would otherwise wait longer than the new interval.
   */
  async ensure(input: ScheduleInput): Promise<ScheduleRow> {
    validateScheduleId(input.id);
    const rows = await this.#db.query<Row>(
      `INSERT INTO schedules (id, kind, payload, org, interval_seconds, enabled)
       VALUES ($1, $2, $3::text::jsonb, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, payload = EXCLUDED.payload, org = EXCLUDED.org,
         interval_seconds = EXCLUDED.interval_seconds, enabled = EXCLUDED.enabled,
         next_run_at = LEAST(schedules.next_run_at, now() + make_interval(secs => EXCLUDED.interval_seconds)),
         updated_at = now()
       RETURNING *`,
      [
        input.id,
        input.kind,
        JSON.stringify(input.payload ?? {}),
        input.org ?? null,
        input.intervalSeconds,
        input.enabled ?? true,
      ],
    );
    return toScheduleRow(rows[0] as Row);
  }

  async get(id: string): Promise<ScheduleRow | undefined> {
    const [row] = await this.#db.query<Row>("SELECT * FROM schedules WHERE id = $1", [id]);
    return row ? toScheduleRow(row) : undefined;
  }

  async list(filter: { kind?: string; enabled?: boolean } = {}): Promise<ScheduleRow[]> {
    const rows = await this.#db.query<Row>(
      `SELECT * FROM schedules WHERE ($1::text IS NULL OR kind = $1) AND ($2::boolean IS NULL OR enabled = $2) ORDER BY id`,
      [filter.kind ?? null, filter.enabled ?? null],
    );
    return rows.map(toScheduleRow);
  }

  /** Applies a patch; undefined when the schedule does not exist. */
  async update(id: string, patch: SchedulePatch): Promise<ScheduleRow | undefined> {
    const rows = await this.#db.query<Row>(
      `UPDATE schedules SET
         kind = COALESCE($2, kind),
         payload = COALESCE($3::text::jsonb, payload),
         org = CASE WHEN $4::boolean THEN $5 ELSE org END,
         interval_seconds = COALESCE($6, interval_seconds),
         enabled = COALESCE($7, enabled),
         next_run_at = COALESCE($8::timestamptz, next_run_at),
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [
        id,
        patch.kind ?? null,
        patch.payload === undefined ? null : JSON.stringify(patch.payload),
        patch.org !== undefined,
        patch.org ?? null,
        patch.intervalSeconds ?? null,
        patch.enabled ?? null,
        patch.nextRunAt?.toISOString() ?? null,
      ],
    );
    return rows[0] ? toScheduleRow(rows[0]) : undefined;
  }

  /** Makes a schedule due now (PostgreSQL's clock); undefined when it does not exist. */
  async runNow(id: string): Promise<ScheduleRow | undefined> {
    const rows = await this.#db.query<Row>(
      "UPDATE schedules SET next_run_at = now(), updated_at = now() WHERE id = $1 RETURNING *",
      [id],
    );
    return rows[0] ? toScheduleRow(rows[0]) : undefined;
  }

  /** Deletes a schedule; whether it existed. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.#db.query("DELETE FROM schedules WHERE id = $1 RETURNING id", [id]);
    return rows.length > 0;
  }

  /**
   * Claims up to `limit` due slots: each claimed schedule moves to its next slot
   * after now (missed slots are not replayed); a slot is skipped when the last
   * job is still open.
   */
  async claimDue(limit: number): Promise<ClaimedSlot[]> {
    const rows = await this.#db.query<Row>(
      `WITH due AS (
         SELECT s.id, s.next_run_at AS slot, (j.status IS NOT NULL AND j.status IN ${OPEN}) AS overlap
         FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
         WHERE s.enabled AND s.next_run_at <= now()
         ORDER BY s.next_run_at LIMIT $1
         FOR UPDATE OF s SKIP LOCKED
       )
       UPDATE schedules s SET
         next_run_at = due.slot + make_interval(secs => s.interval_seconds
           * (floor(extract(epoch FROM now() - due.slot) / s.interval_seconds) + 1)),
         last_run_at = CASE WHEN due.overlap THEN s.last_run_at ELSE now() END,
         last_job_id = CASE WHEN due.overlap THEN s.last_job_id
           ELSE 'schedule-' || s.id || '-' || floor(extract(epoch FROM due.slot) * 1000)::bigint END,
         status = CASE WHEN due.overlap THEN s.status ELSE 'pending' END,
         last_error = CASE WHEN due.overlap THEN s.last_error ELSE NULL END,
         skipped = s.skipped + CASE WHEN due.overlap THEN 1 ELSE 0 END,
         updated_at = now()
       FROM due WHERE s.id = due.id
       RETURNING s.*, due.overlap, 'schedule-' || s.id || '-' || floor(extract(epoch FROM due.slot) * 1000)::bigint AS slot_job_id`,
      [limit],
    );
    return rows.map((row) => ({
      schedule: toScheduleRow(row),
      jobId: String(row.slot_job_id),
      skipped: Boolean(row.overlap),
    }));
  }

  /** Schedules whose last slot was claimed over `graceSeconds` ago but has no job (a crash between claim and submit). */
  async unsubmitted(graceSeconds: number, limit = 100): Promise<ScheduleRow[]> {
    const rows = await this.#db.query<Row>(
      `SELECT s.* FROM schedules s
       WHERE s.last_job_id IS NOT NULL AND s.last_run_at < now() - make_interval(secs => $1)
         AND s.status = 'pending' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.last_job_id)
       ORDER BY s.last_run_at LIMIT $2`,
      [graceSeconds, limit],
    );
    return rows.map(toScheduleRow);
  }

  /** Copies the last job's status and error onto each schedule whose status is behind; returns how many changed. */
  async refreshStatus(): Promise<number> {
    const rows = await this.#db.query(
      `UPDATE schedules s SET status = j.status,
         last_error = CASE WHEN j.status IN ('failed','retry') THEN j.last_error WHEN j.status = 'success' THEN NULL ELSE s.last_error END,
         updated_at = now()
       FROM jobs j WHERE j.id = s.last_job_id AND s.status IS DISTINCT FROM j.status
       RETURNING s.id`,
    );
    return rows.length;
  }

  /** Records why a slot's job could not be submitted. */
  async recordSubmitError(
    id: string,
    jobId: string,
    error: { code: string; message: string },
  ): Promise<void> {
    await this.#db.query(
      `UPDATE schedules SET status = 'failed', last_error = $3::text::jsonb, updated_at = now() WHERE id = $1 AND last_job_id = $2`,
      [id, jobId, JSON.stringify(error)],
    );
  }
}

/** Schedule row → JSON for the API. */
export function scheduleToJson(row: ScheduleRow): Record<string, unknown> {
  return {
    id: row.id,
    kind: row.kind,
    payload: row.payload,
    org: row.org,
    provider: row.provider,
    scope: row.scope,
    credentials: row.credentialsRef,
    intervalSeconds: row.intervalSeconds,
    enabled: row.enabled,
    nextRunAt: row.nextRunAt.toISOString(),
    lastRunAt: row.lastRunAt?.toISOString() ?? null,
    lastJobId: row.lastJobId,
    status: row.status,
    lastError: row.lastError,
    skipped: row.skipped,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
