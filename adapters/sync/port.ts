/**
 * The sync port: what a connector implements so the sync engine (engine.ts)
 * can read it page by page, and where the engine writes. Discovery (cloud
 * inventory into `resources`) and identity connectors (directories into
 * `identities` and `identity_groups`) are both sync providers: they differ only
 * in the items their pages carry and in the sink that stores them.
 *
 * A provider turns a target (an account, a cluster, a directory) into sources;
 * a source lists its items page by page from an explicit token, so the engine
 * can retry exactly the page that was throttled and name the pages that failed.
 *
 * Providers never read the environment or log credentials: endpoints and
 * credentials are injected; errors are typed (`TransientError` with
 * `retryAfterMs` for throttling, 5xx and timeouts; `PermanentError` for bad
 * credentials, access denied, not found), and their messages never carry a secret.
 *
 * Glossary:
 * - run: one sync of one scope by one job attempt; its id is the run tag stored
 *   on every row it saw.
 * - covers: what a source lists in full when all its pages succeed.
 * - stale: a live row of what a fully successful run covered that the run did
 *   not see; it is marked deleted, never removed.
 *
 * @module
 */

/** One page of a source. */
export interface SyncPage<T, C = unknown> {
  items: T[];
  /** The token of the next page; absent on the last page. */
  next?: string;
  /**
   * Sources this page revealed, queued behind the planned ones: a page of
   * groups yields one members source per group (Okta `/groups/{id}/users`,
   * Google members). Like planned sources, each must complete for a run to be.
   */
  more?: SyncSource<T, C>[];
}

/**
 * The code of a `TransientError` saying a page token expired (Kubernetes' 410
 * Gone for an old `continue`): the engine reads that source again from its
 * first page instead of retrying the token.
 */
export const PAGE_TOKEN_EXPIRED = "PAGE_TOKEN_EXPIRED";

/** One listing, read page by page. `C` is what it covers (types, region...). */
export interface SyncSource<T, C> {
  /** Human-readable and stable within a run: `ec2.instance us-east-1`, `users`, `group 00g1/users`. */
  name: string;
  /** What this source lists in full when all its pages succeed. */
  covers: C;
  /**
   * Fetches one page: the first with `token` undefined, the next with the
   * previous page's `next`. Calling again with the same token after a
   * `TransientError` fetches the same page again, unless the token cannot be
   * resumed (an LDAP paged-results cookie lives on its connection): then it
   * throws a `TransientError` with code {@link PAGE_TOKEN_EXPIRED} and the
   * engine reads the source again from its first page.
   */
  fetchPage(token: string | undefined, signal: AbortSignal): Promise<SyncPage<T, C>>;
}

/** What to sync. */
export interface SyncTarget {
  /** The account, project, subscription, cluster context, directory or tenant name. */
  scope: string;
  /** Only these regions (discovery); unset: every region of the scope. */
  regions?: string[];
  /**
   * Resolved credentials (from the environment or a mounted secret file, by
   * the payload's credentials reference); unset: the SDK's default chain.
   * Secret: never log or echo any of it.
   */
  credentials?: Record<string, unknown>;
  org: string | null;
}

/** A provider of items. */
export interface SyncProvider<T, C> {
  /** The `provider` column: `aws`, `kubernetes`, `ldap`, `okta`... */
  readonly provider: string;
  /**
   * Plans one sync of a target: which sources to read first. A page may add
   * sources while the run goes ({@link SyncPage.more}).
   */
  plan(target: SyncTarget, signal: AbortSignal): Promise<SyncSource<T, C>[]>;
  /**
   * The scope a payload without one means, where the provider can tell from its
   * credentials. Absent: the payload must name a scope.
   */
  defaultScope?(credentials: Record<string, unknown> | undefined, signal: AbortSignal): Promise<string>;
  /** Releases clients and connections. */
  close?(): void | Promise<void>;
}

/** Which sync is writing. */
export interface RunRef {
  runId: string;
  provider: string;
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

/** Where a sync writes: the inventory for discovery, the directory for identity connectors. */
export interface SyncSink<T, C> {
  /**
   * Records a running sync of the scope, unless another job's sync of the same
   * provider and scope is running (then `busyJobId` names that job). A run left
   * `running` by a job that is no longer running is closed as abandoned.
   */
  beginRun(run: RunStart): Promise<{ started: true } | { started: false; busyJobId: string }>;
  /** Upserts one page's items in one transaction, tagging them with the run. */
  upsert(run: RunRef, items: T[]): Promise<{ created: number; updated: number }>;
  /**
   * Called once, after every page of every source was read: completes what
   * needs the whole run (resolving references between pages) and marks live
   * rows of what the sources covered that this run did not see deleted;
   * returns how many were marked.
   */
  markStale(run: RunRef, covers: C[]): Promise<number>;
  /** Closes a run. */
  finishRun(runId: string, end: RunEnd): Promise<void>;
  /**
   * What a complete run changed beyond rows (the directory's edges: added,
   * removed, and the drift no pending write-back explains), for the job's result.
   */
  drift?(run: Pick<RunRef, "runId">): Promise<object | null>;
}
