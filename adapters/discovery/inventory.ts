/**
 * The inventory port: where a sync writes what it saw. PostgreSQL implements it
 * (adapters/postgres/sql-inventory.ts); the sync engine and the discovery kinds
 * only know this interface.
 *
 * Glossary:
 * - run: one sync of one scope by one job attempt; its id is the run tag stored
 *   on every resource it saw.
 * - stale: a live resource of a covered type and region that a fully successful
 *   run did not see; it is marked deleted (`deleted_at`), never removed.
 *
 * @module
 */
import type { DiscoveredResource, DiscoverySource, ProviderName } from "./provider.ts";

/** Which sync is writing. */
export interface RunRef {
  runId: string;
  provider: ProviderName;
  scope: string;
  org: string | null;
}

/** A run about to start. */
export interface RunStart extends RunRef {
  jobId: string;
  attempt: number;
}

/** A page that could not be read, after its retries. */
export interface FailedPage {
  source: string;
  /** 1 for the first page of the source. */
  page: number;
  code: string;
  message: string;
  /** Whether a later sync may read it (throttling, 5xx) or not (access denied). */
  retryable: boolean;
}

/** How a run ended. */
export interface RunEnd {
  status: "success" | "partial" | "failed";
  sources: number;
  pages: number;
  created: number;
  updated: number;
  deleted: number;
  failedPages?: FailedPage[];
  error?: string;
}

/** Writes of a sync. */
export interface Inventory {
  /**
   * Records a running sync of the scope, unless another job's sync of the same
   * scope is running (then `busyJobId` names that job). A run left `running` by
   * a job that is no longer running (a crash, a takeover) is closed as abandoned.
   */
  beginRun(run: RunStart): Promise<{ started: true } | { started: false; busyJobId: string }>;
  /** Upserts resources (and replaces their outgoing links) in one transaction, tagging them with the run. */
  upsert(run: RunRef, resources: DiscoveredResource[]): Promise<{ created: number; updated: number }>;
  /** Marks live resources of the covered types and regions not tagged with this run deleted; returns how many. */
  markStale(run: RunRef, covers: DiscoverySource["covers"][]): Promise<number>;
  /** Closes a run. */
  finishRun(runId: string, end: RunEnd): Promise<void>;
}
