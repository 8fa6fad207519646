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
 * - fencing token: `lease_version`, bumped by every lock (and by cancel and
 *   redrive); every later write names it, so a worker whose lease was taken
 *   writes nothing.
 * - outbox: `job_outbox`, one row per committed statement listing its `job_events` ids not yet published.
 *
 * All batch operations take arrays and run as one statement or one transaction.
 *
 * @module
 */
import type { JobStatus } from "../../machines/job-status.ts";
import type { JobWrite } from "../../machines/job-write.ts";

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
  /** The pending event's data (who asked, how it came in), for a job admitted without a `write`. */
  eventData?: Record<string, unknown>;
  /**
   * The job's first write, derived from its machine (machines/job-write.ts):
   * born failed (a bad message), or taken at once (admit-and-start, with
   * `lease`). Its audit rows start with `pending`. Without it the job is
   * admitted `pending`, with no snapshot until its first lock.
   */
  write?: JobWrite;
  /**
   * Admit-and-start: the lease the admitting worker holds (version 1). Ignored
   * (like the whole row) when the id already exists.
   */
  lease?: { workerId: string; leaseMs: number };
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

/**
 * One transition to persist, guarded by the fencing token: the write derived
 * from the machine (machines/job-write.ts), plus who may make it.
 */
export interface TransitionWrite
  extends Omit<JobWrite, "result" | "lastError" | "releaseLease" | "snapshot"> {
  id: string;
  /** The lease version the writer holds (or, with `expectStatus`, read). */
  leaseVersion: number;
  snapshot: unknown;
  /** Undefined: unchanged. */
  result?: unknown;
  /** Undefined: unchanged; null clears. */
  lastError?: unknown;
  /** Releases the lease (final states, retry, release). */
  releaseLease?: boolean;
  /**
   * For a writer that holds no lease (a cancel, a redrive, the outcome of a
   * cancelled attempt): the status it read with `leaseVersion`. The write
   * applies only if the row is still there, so it never overwrites a change it
   * did not see.
   */
  expectStatus?: JobStatus;
  /** Takes the fencing token from any holder (`lease_version + 1`): their later writes are refused. */
  bumpLease?: boolean;
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
  /** Inserts jobs that do not exist, as their `write` says (else `pending` with one `pending` event). Returns the ids inserted. */
  admit(jobs: NewJob[]): Promise<{ inserted: string[]; events: JobEventRow[] }>;
  /**
   * Locks jobs with one conditional UPDATE: status pending or retry and due, or
   * locked/running with an expired lease. Bumps `lease_version`, sets the lease
   * from PostgreSQL's clock. One result per request, in order.
   */
  lock(requests: LockRequest[]): Promise<LockResult[]>;
  /**
   * Persists transitions, each guarded by its fencing token (and by the status
   * it read, for writers without a lease), and their audit rows, in one
   * statement. Cancel and redrive are writes like any other. Returns the ids whose write was accepted (the others were
   * fenced) and the committed event rows.
   */
  commit(writes: TransitionWrite[]): Promise<{ accepted: string[]; events: JobEventRow[] }>;
  /** Extends the leases of jobs still held; returns the ids still held. */
  heartbeat(leases: { id: string; leaseVersion: number }[], leaseMs: number): Promise<string[]>;
  /** Marks outbox rows (`JobEventRow.outboxId`) published. */
  markPublished(outboxIds: number[]): Promise<void>;
  /** Events of outbox rows still unpublished `olderThanMs` after they were written (at most `limit` rows). */
  unpublishedEvents(olderThanMs: number, limit: number): Promise<JobEventRow[]>;
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
