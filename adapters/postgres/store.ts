/**
 * The Store port: PostgreSQL is the truth of who owns a job and what happened.
 * Two implementations pass one contract suite (test/contract/store.contract.ts):
 * postgres.js against a PostgreSQL server, and embedded PGlite. Both run the same
 * SQL through the tiny {@link SqlClient} interface.
 *
 * Glossary:
 * - job: one unit of work of a kind, identified by `id`.
 * - attempt: one run of a job's handler; `attempts` counts them.
 * - lease: the time a worker owns a locked job; its clock is PostgreSQL's.
 * - fencing token: `lease_version`, bumped by every lock (and by cancel); every
 *   later write names it, so a worker whose lease was taken writes nothing.
 * - outbox: `job_outbox`, one row per committed statement listing its `job_events` ids not yet published.
 *
 * All batch operations take arrays and run as one statement or one transaction.
 *
 * @module
 */
import type { JobStatus } from "../../machines/job-status.ts";

/** The smallest client both postgres.js and PGlite can serve. */
export interface SqlClient {
  /** Runs one statement with `$1...` parameters and returns its rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A job as stored. */
export interface JobRow {
  id: string;
  kind: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  payload: unknown;
  result: unknown;
  lastError: unknown;
  org: string | null;
  timeoutMs: number | null;
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  workerId: string | null;
  leaseVersion: number;
  leaseExpiresAt: Date | null;
  /** The persisted machine snapshot (`{ value, context }`), or null before the first lock. */
  snapshot: unknown;
}

/** A row of the audit trail. */
export interface JobEventRow {
  /** Global, increasing: the order of events. */
  id: number;
  jobId: string;
  status: JobStatus;
  at: Date;
  /** What the transition carries: worker, attempt, error, result, reason... */
  data: Record<string, unknown>;
  /** The outbox row listing this event while it is unpublished (from writes and the relay). */
  outboxId?: number;
}

/** A new job to admit. */
export interface NewJob {
  id: string;
  kind: string;
  payload: unknown;
  maxAttempts: number;
  timeoutMs?: number | null;
  runAt?: Date | null;
  org?: string | null;
  /** The pending event's data (who asked, how it came in). */
  eventData?: Record<string, unknown>;
  /** When the job is born failed (a bad message): its status and error. */
  failed?: { error: unknown };
  /**
   * Admit-and-start, for a new job the worker takes at once: inserted directly as
   * `running` with this lease (version 1) and machine snapshot, its `locked` and
   * `running` audit rows after `pending`. Ignored when the id already exists.
   */
  start?: {
    workerId: string;
    leaseMs: number;
    attempts: number;
    snapshot: unknown;
    events: { status: JobStatus; data: Record<string, unknown> }[];
  };
}

/** A request to lock one job. */
export interface LockRequest {
  id: string;
  workerId: string;
  leaseMs: number;
}

/** The outcome of a lock request. */
export type LockResult =
  | {
    id: string;
    locked: true;
    job: JobRow; /** status before the lock */
    previousStatus: JobStatus;
    leaseExpired: boolean;
  }
  | {
    id: string;
    locked: false;
    /** Why not: the job is final, its lease is held by another worker, its run_at is in the future, or it does not exist. */
    reason: "final" | "leased" | "not-due" | "missing";
    status?: JobStatus;
    /** For `leased` and `not-due`: ms until the job may be locked. */
    retryInMs?: number;
  };

/** One transition to persist, guarded by the fencing token. */
export interface TransitionWrite {
  id: string;
  /** The lease version the writer holds. */
  leaseVersion: number;
  status: JobStatus;
  snapshot: unknown;
  attempts: number;
  /** Undefined: unchanged. */
  result?: unknown;
  /** Undefined: unchanged; null clears. */
  lastError?: unknown;
  /** For `retry`: when the job is due again, ms from now (PostgreSQL's clock). */
  runInMs?: number;
  /** Releases the lease (final states, retry, release). */
  releaseLease?: boolean;
  /** Audit rows, one per state entered, in order. */
  events: { status: JobStatus; data: Record<string, unknown> }[];
  /** External references to record (`job_refs`). */
  refs?: { system: string; ref: string }[];
}

/** Options of {@link Store.listJobs}. */
export interface ListOptions {
  status?: JobStatus;
  kind?: string;
  /** Only jobs created at or after this time. */
  since?: Date;
  /** At most; default 50, max 1000. */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** The Store port. */
export interface Store {
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  /** Inserts jobs that do not exist (with a `pending` event, or `pending`+`failed` when born failed). Returns the ids inserted. */
  admit(jobs: NewJob[]): Promise<{ inserted: string[]; events: JobEventRow[] }>;
  /**
   * Locks jobs with one conditional UPDATE: status pending or retry and due, or
   * locked/running with an expired lease. Bumps `lease_version`, sets the lease
   * from PostgreSQL's clock. One result per request, in order.
   */
  lock(requests: LockRequest[]): Promise<LockResult[]>;
  /**
   * Persists transitions, each guarded by its fencing token, and their audit rows,
   * in one transaction. Returns the ids whose write was accepted (the others were
   * fenced) and the committed event rows.
   */
  commit(writes: TransitionWrite[]): Promise<{ accepted: string[]; events: JobEventRow[] }>;
  /** Extends the leases of jobs still held; returns the ids still held. */
  heartbeat(leases: { id: string; leaseVersion: number }[], leaseMs: number): Promise<string[]>;
  /** Marks outbox rows (`JobEventRow.outboxId`) published. */
  markPublished(outboxIds: number[]): Promise<void>;
  /** Events of outbox rows still unpublished `olderThanMs` after they were written (at most `limit` rows). */
  unpublishedEvents(olderThanMs: number, limit: number): Promise<JobEventRow[]>;
  /**
   * Cancels a non-final job: status cancelled, a `cancelled` event, lease_version
   * bumped so a running worker's later writes are fenced. Returns the event, or
   * undefined when the job is missing or final.
   */
  cancel(id: string, data?: Record<string, unknown>): Promise<JobEventRow | undefined>;
  /**
   * Brings a failed or cancelled job back (the dead-letter redrive): pending, due
   * now, attempts 0, lease_version bumped, with a `pending` event. Returns the
   * event, or undefined when the job is missing or not failed/cancelled.
   */
  redrive(id: string, data?: Record<string, unknown>): Promise<JobEventRow | undefined>;
  getJob(id: string): Promise<JobRow | undefined>;
  listJobs(options?: ListOptions): Promise<{ jobs: JobRow[]; nextCursor?: string }>;
  jobEvents(id: string, options?: { afterId?: number }): Promise<JobEventRow[]>;
  jobRefs(id: string): Promise<{ system: string; ref: string }[]>;
  /**
   * Jobs that should be on the bus but may not be: pending or retry and due for
   * `graceMs`, or locked/running with a lease expired for `graceMs`, and not
   * republished in the last `graceMs`. Marks them republished (SKIP LOCKED, so
   * several reconcilers share the work) and returns them.
   */
  claimStale(graceMs: number, limit: number): Promise<JobRow[]>;
  /** Records a message that could not become a job (no usable id). */
  recordRejected(
    entry: { subject: string; reason: string; seq?: number; headers?: Record<string, string> },
  ): Promise<void>;
  /** The latest rejected messages, newest first (for operators and tests). */
  listRejected(options?: { limit?: number }): Promise<RejectedMessageRow[]>;
  /** Counts jobs by status (for /status and tests). */
  countByStatus(): Promise<Record<string, number>>;
  /** Whether the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A message that could not become a job, as recorded in `rejected_messages`. */
export interface RejectedMessageRow {
  id: number;
  subject: string;
  reason: string;
  seq: number | null;
  headers: Record<string, string>;
  at: Date;
}
