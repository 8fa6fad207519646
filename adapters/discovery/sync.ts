/**
 * The sync engine: reads every page of every source of a provider's plan, with
 * bounded concurrency per scope, writes each page to the inventory as it
 * arrives (the next page is fetched while the last one is written), retries a
 * throttled page honouring its Retry-After, and marks unseen resources deleted
 * only when every page of every source was read. A partial sync deletes
 * nothing and names the pages that failed.
 *
 * @module
 */
import { backoffDelayMs } from "../../machines/backoff.ts";
import { toJobErrorInfo } from "../../machines/errors.ts";
import type { FailedPage, Inventory, RunRef } from "./inventory.ts";
import {
  type DiscoveryPage,
  type DiscoveryProvider,
  type DiscoverySource,
  type DiscoveryTarget,
  PAGE_TOKEN_EXPIRED,
} from "./provider.ts";

/** How often one source may start over after its page token expired. */
const MAX_RESTARTS = 2;

/** What a sync reports as it goes (metrics, progress lines). */
export interface SyncObserver {
  /** A page was read and written. */
  page?(info: { source: string; page: number; resources: number; created: number; updated: number }): void;
  /** A page will be fetched again after `delayMs`. */
  retry?(info: { source: string; page: number; attempt: number; delayMs: number; code: string }): void;
}

/** Options of {@link runSync}. */
export interface SyncOptions {
  provider: DiscoveryProvider;
  target: DiscoveryTarget;
  inventory: Inventory;
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
  /** True when every page of every source was read (and stale resources were marked deleted). */
  complete: boolean;
  sources: number;
  pages: number;
  resources: number;
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
 * Runs one sync of `target`. Throws when planning fails, when the inventory
 * cannot be written or when `signal` aborts; a page the provider would not
 * serve is recorded in `failedPages` instead.
 */
export async function runSync(options: SyncOptions): Promise<SyncSummary> {
  const { provider, target, inventory, runId, signal } = options;
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
    resources: 0,
    created: 0,
    updated: 0,
    deleted: 0,
    failedPages: [],
  };
  // Stops the other sources when the inventory cannot be written.
  const stop = new AbortController();
  let writeError: unknown;
  const both = AbortSignal.any([signal, stop.signal]);

  const sources = await provider.plan(target, signal);
  summary.sources = sources.length;

  async function fetchWithRetry(
    source: DiscoverySource,
    token: string | undefined,
    page: number,
  ): Promise<DiscoveryPage | FailedPage> {
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

  async function write(source: DiscoverySource, page: number, result: DiscoveryPage): Promise<void> {
    const counts = result.resources.length > 0
      ? await inventory.upsert(run, result.resources)
      : { created: 0, updated: 0 };
    summary.pages++;
    summary.resources += result.resources.length;
    summary.created += counts.created;
    summary.updated += counts.updated;
    options.observer?.page?.({ source: source.name, page, resources: result.resources.length, ...counts });
  }

  async function drain(source: DiscoverySource): Promise<void> {
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

  const queue = [...sources];
  const lanes = Array.from(
    { length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) },
    async () => {
      for (let source = queue.shift(); source; source = queue.shift()) {
        if (both.aborted) throw both.reason;
        await drain(source);
      }
    },
  );
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) {
    // A write failure aborted `stop`; an outside abort aborted `signal`: report the first cause.
    throw signal.aborted ? signal.reason : writeError ?? failure.reason;
  }
  if (signal.aborted) throw signal.reason;
  summary.failedPages.sort((a, b) => a.source.localeCompare(b.source) || a.page - b.page);
  if (summary.failedPages.length === 0) {
    summary.deleted = await inventory.markStale(run, sources.map((s) => s.covers));
    summary.complete = true;
  }
  return summary;
}
