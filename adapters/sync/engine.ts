/**
 * The sync engine: reads every page of every source of a provider's plan (and
 * the sources pages reveal), with bounded concurrency per scope, writes each
 * page to the sink (the inventory, the directory) as it arrives (the next page
 * is fetched while the last one is written), retries a throttled page
 * honouring its Retry-After, and marks unseen rows deleted
 * only when every page of every source was read. A partial sync deletes
 * nothing and names the pages that failed.
 *
 * @module
 */
import { backoffDelayMs } from "../../machines/backoff.ts";
import { toJobErrorInfo } from "../../machines/errors.ts";
import {
  type FailedPage,
  PAGE_TOKEN_EXPIRED,
  type RunRef,
  type SyncPage,
  type SyncProvider,
  type SyncSink,
  type SyncSource,
  type SyncTarget,
} from "./port.ts";

/** How often one source may start over after its page token expired. */
const MAX_RESTARTS = 2;

/** What a sync reports as it goes (metrics, progress lines). */
export interface SyncObserver {
  /** A page was read and written. */
  page?(info: { source: string; page: number; items: number; created: number; updated: number }): void;
  /** A page will be fetched again after `delayMs`. */
  retry?(info: { source: string; page: number; attempt: number; delayMs: number; code: string }): void;
}

/** Options of {@link runSync}. */
export interface SyncOptions<T, C> {
  provider: SyncProvider<T, C>;
  target: SyncTarget;
  sink: SyncSink<T, C>;
  runId: string;
  signal: AbortSignal;
  /** Sources read at once for this scope (the per-account bound). Default 4. */
  concurrency?: number;
  /** Tries per page before it counts as failed. Default 5. */
  pageAttempts?: number;
  /** Backoff for a transient error without Retry-After: first delay ceiling (default 500 ms) and cap (default 30 s). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Longest Retry-After honoured inside a sync; a longer one fails the page. Default 120 s. */
  maxRetryAfterMs?: number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  observer?: SyncObserver;
}

/** What a sync did. */
export interface SyncSummary {
  runId: string;
  /** True when every page of every source was read (and stale rows were marked deleted). */
  complete: boolean;
  sources: number;
  pages: number;
  items: number;
  created: number;
  updated: number;
  deleted: number;
  failedPages: FailedPage[];
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs one sync of `target`. Throws when planning fails, when the sink
 * cannot be written or when `signal` aborts; a page the provider would not
 * serve is recorded in `failedPages` instead.
 */
export async function runSync<T, C>(options: SyncOptions<T, C>): Promise<SyncSummary> {
  const { provider, target, sink, runId, signal } = options;
  const run: RunRef = { runId, provider: provider.provider, scope: target.scope, org: target.org };
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const pageAttempts = options.pageAttempts ?? 5;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  const summary: SyncSummary = {
    runId,
    complete: false,
    sources: 0,
    pages: 0,
    items: 0,
    created: 0,
    updated: 0,
    deleted: 0,
    failedPages: [],
  };
  // Stops the other sources when the sink cannot be written.
  const stop = new AbortController();
  let writeError: unknown;
  const both = AbortSignal.any([signal, stop.signal]);

  const sources = await provider.plan(target, signal);
  summary.sources = sources.length;
  const queue: SyncSource<T, C>[] = [...sources];
  const covered: C[] = sources.map((s) => s.covers);
  /** Lanes draining a source right now, and idle lanes waiting for a revealed source. */
  let busy = 0;
  const waiting: (() => void)[] = [];
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };

  async function fetchWithRetry(
    source: SyncSource<T, C>,
    token: string | undefined,
    page: number,
  ): Promise<SyncPage<T, C> | FailedPage> {
    for (let attempt = 1;; attempt++) {
      try {
        return await source.fetchPage(token, both);
      } catch (error) {
        if (both.aborted) throw both.reason;
        const info = toJobErrorInfo(error);
        const failed: FailedPage = {
          source: source.name,
          page,
          code: info.code,
          message: info.message,
          retryable: info.kind === "transient",
        };
        if (info.kind === "permanent" || attempt >= pageAttempts || info.code === PAGE_TOKEN_EXPIRED) {
          return failed;
        }
        if (info.retryAfterMs !== undefined && info.retryAfterMs > maxRetryAfterMs) return failed;
        const delayMs = backoffDelayMs({
          attempt,
          baseMs: options.backoff?.baseMs ?? 500,
          maxMs: options.backoff?.maxMs ?? 30_000,
          jitter: random(),
          ...(info.retryAfterMs !== undefined ? { retryAfterMs: info.retryAfterMs } : {}),
        });
        options.observer?.retry?.({ source: source.name, page, attempt, delayMs, code: info.code });
        await sleep(delayMs, both);
      }
    }
  }

  async function write(source: SyncSource<T, C>, page: number, result: SyncPage<T, C>): Promise<void> {
    const counts = result.items.length > 0
      ? await sink.upsert(run, result.items)
      : { created: 0, updated: 0 };
    summary.pages++;
    summary.items += result.items.length;
    summary.created += counts.created;
    summary.updated += counts.updated;
    options.observer?.page?.({ source: source.name, page, items: result.items.length, ...counts });
  }

  async function drain(source: SyncSource<T, C>): Promise<void> {
    let token: string | undefined;
    let writing: Promise<void> = Promise.resolve();
    let restarts = 0;
    for (let page = 1;; page++) {
      if (both.aborted) throw both.reason;
      const result = await fetchWithRetry(source, token, page);
      if ("code" in result) {
        if (result.code === PAGE_TOKEN_EXPIRED && token !== undefined && restarts < MAX_RESTARTS) {
          // The listing moved on without us: read it again from the start (upserts are idempotent).
          restarts++;
          options.observer?.retry?.({
            source: source.name,
            page,
            attempt: restarts,
            delayMs: 0,
            code: result.code,
          });
          token = undefined;
          page = 0;
          continue;
        }
        summary.failedPages.push(result);
        break;
      }
      if (result.more?.length) {
        // Sources this page revealed (one per group read...): read after the ones queued.
        queue.push(...result.more);
        covered.push(...result.more.map((s) => s.covers));
        summary.sources += result.more.length;
        wake();
      }
      // Write this page while the next one is fetched; one write at a time per source.
      const previous = writing;
      writing = previous.then(() => write(source, page, result));
      writing.catch((error) => {
        writeError ??= error;
        stop.abort(error);
      });
      if (!result.next) break;
      if (result.next === token) {
        summary.failedPages.push({
          source: source.name,
          page,
          code: "PAGINATION_LOOP",
          message: `page ${page} returned its own token as the next one`,
          retryable: false,
        });
        break;
      }
      token = result.next;
    }
    await writing;
  }

  const lanes = Array.from({ length: Math.max(1, options.concurrency ?? 4) }, async () => {
    for (;;) {
      const source = queue.shift();
      if (source) {
        busy++;
        try {
          if (both.aborted) throw both.reason;
          await drain(source);
        } finally {
          busy--;
          wake();
        }
        continue;
      }
      // Nothing queued: done when no lane is draining (no source may still reveal more).
      if (busy === 0) return;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  });
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    // A write failure aborted `stop`; an outside abort aborted `signal`: report the first cause.
    throw signal.aborted ? signal.reason : writeError ?? failure.reason;
  }
  if (signal.aborted) throw signal.reason;
  summary.failedPages.sort((a, b) => a.source.localeCompare(b.source) || a.page - b.page);
  if (summary.failedPages.length === 0) {
    summary.deleted = await sink.markStale(run, covered);
    summary.complete = true;
  }
  return summary;
}
