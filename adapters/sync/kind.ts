/**
 * The sync job kinds (`discovery.<cloud>`, `sync.<directory>`): one sync of one
 * scope per job, through the sync engine, recorded as a run in
 * `discovery_runs`. Runs of one provider and scope never overlap: a second job
 * waits (a transient `DISCOVERY_BUSY` error, retried later). A partial sync
 * deletes nothing and fails the job with the pages that failed.
 *
 * @module
 */
import type { z } from "zod";
import { defineKind, type JobKind } from "../../machines/job-kind.ts";
import { ErrorCode, PermanentError, TransientError, ValidationError } from "../../machines/errors.ts";
import type { CredentialResolver } from "./credentials.ts";
import type { FailedPage, SyncProvider, SyncSink } from "./port.ts";
import type { SyncPayload } from "./schema.ts";
import { runSync, type SyncObserver, type SyncSummary } from "./engine.ts";

/** What a sync kind reports (Prometheus in actors/observability/metrics.ts), by connector (the provider). */
export interface SyncMetrics {
  /** A sync ended: `status` is success, partial, failed or busy. */
  syncFinished(connector: string, status: string, seconds: number): void;
  /** Rows written: `operation` is created, updated or deleted. */
  entitiesSynced(connector: string, operation: "created" | "updated" | "deleted", count: number): void;
}

/** Log lines a sync writes (a progress line per page at debug). */
export interface SyncLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Options of {@link createSyncKind}. */
export interface SyncKindOptions<T, C, S extends z.ZodType<SyncPayload>> {
  /** The kind's name: `discovery.aws`, `sync.ldap`. */
  kind: string;
  description: string;
  /** The payload schema: discovery's (scope optional, regions) or the directories' (scope and credentials required). */
  schema: S;
  /** The `provider` column and metrics' `connector` label. */
  provider: string;
  /**
   * Made on the first run, which may load the provider's SDK then (a gateway that
   * only validates payloads never loads or opens one).
   */
  openProvider: () => SyncProvider<T, C> | Promise<SyncProvider<T, C>>;
  sink: SyncSink<T, C>;
  resolveCredentials: CredentialResolver;
  metrics?: SyncMetrics;
  logger?: SyncLogger;
  /** Sources read at once per scope. Default 4. */
  concurrency?: number;
  /** Tries per page. Default 5. */
  pageAttempts?: number;
  /** How long a job waits before trying again when its scope is busy. Default 30 s. */
  busyRetryMs?: number;
  /** Per-attempt time limit. Default 30 minutes. */
  timeoutMs?: number;
  maxAttempts?: number;
  /** Test seams. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** The kind, plus `close()` for the provider's clients. */
export type SyncKind<S extends z.ZodType> = JobKind<S> & { close(): Promise<void> };

/** What a partial sync says: how many pages failed, and the first few. */
export function describeFailedPages(
  scope: string,
  provider: string,
  summary: Pick<SyncSummary, "pages" | "failedPages">,
): string {
  const shown = summary.failedPages.slice(0, 5).map((f) =>
    `${f.source} page ${f.page}: ${f.code}: ${f.message.slice(0, 200)}`
  );
  const more = summary.failedPages.length > shown.length
    ? `; and ${summary.failedPages.length - shown.length} more`
    : "";
  return `Partial sync of ${provider}/${scope}: ${summary.failedPages.length} page(s) failed after ${summary.pages} read; nothing marked deleted. ${
    shown.join("; ")
  }${more}`;
}

/** Creates a sync kind. */
export function createSyncKind<T, C, S extends z.ZodType<SyncPayload>>(
  options: SyncKindOptions<T, C, S>,
): SyncKind<S> {
  let opening: Promise<SyncProvider<T, C>> | undefined;
  /** One provider per kind, opened once even when first runs overlap; a failed open is tried again next run. */
  const open = (): Promise<SyncProvider<T, C>> =>
    opening ??= Promise.resolve().then(() => options.openProvider()).catch((error) => {
      opening = undefined;
      throw error;
    });
  const name = options.provider;
  const kind = defineKind({
    kind: options.kind,
    description: options.description,
    schema: options.schema,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    concurrency: 4,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    async run(job) {
      // The worker validated it; a caller that did not gets the same permanent error naming the field.
      const parsed = options.schema.safeParse(job.payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = ["payload", ...(issue?.path ?? []).map(String)].join(".");
        throw new ValidationError(`Invalid payload for kind "${options.kind}": ${field}: ${issue?.message}`, {
          field,
        });
      }
      const payload = parsed.data as SyncPayload;
      const org = payload.org ?? job.org;
      const runId = `${job.id}:${job.attempt}`;
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const credentials = payload.credentials
        ? await options.resolveCredentials(payload.credentials)
        : undefined;
      const provider = await open();
      const scope = payload.scope ?? await defaultScopeOf(provider, name, credentials, job.signal);
      const begun = await options.sink.beginRun({
        runId,
        jobId: job.id,
        attempt: job.attempt,
        provider: name,
        scope,
        org,
      });
      if (!begun.started) {
        options.metrics?.syncFinished(name, "busy", seconds());
        throw new TransientError(
          `Another sync of ${name}/${scope} is running (job ${begun.busyJobId}); runs of one scope never overlap`,
          {
            code: "DISCOVERY_BUSY",
            retryAfterMs: options.busyRetryMs ?? 30_000,
          },
        );
      }
      const log = options.logger;
      const observer: SyncObserver = {
        page: (p) =>
          log?.debug(
            { runId, source: p.source, page: p.page, items: p.items },
            "Sync page written",
          ),
        retry: (r) =>
          log?.info({
            runId,
            source: r.source,
            page: r.page,
            attempt: r.attempt,
            delayMs: r.delayMs,
            code: r.code,
          }, "Sync page throttled; retrying"),
      };
      let summary: SyncSummary;
      try {
        summary = await runSync({
          provider,
          sink: options.sink,
          runId,
          signal: job.signal,
          observer,
          target: {
            scope,
            org,
            ...(payload.regions ? { regions: payload.regions } : {}),
            ...(credentials ? { credentials } : {}),
          },
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          ...(options.pageAttempts ? { pageAttempts: options.pageAttempts } : {}),
          ...(options.sleep ? { sleep: options.sleep } : {}),
          ...(options.random ? { random: options.random } : {}),
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await options.sink.finishRun(runId, {
          status: "failed",
          sources: 0,
          pages: 0,
          created: 0,
          updated: 0,
          deleted: 0,
          error: message.slice(0, 1000),
        })
          .catch((finishError) =>
            log?.warn({ runId, err: finishError }, "Could not record the end of a failed sync run")
          );
        options.metrics?.syncFinished(name, "failed", seconds());
        throw error;
      }
      const counts = {
        sources: summary.sources,
        pages: summary.pages,
        created: summary.created,
        updated: summary.updated,
        deleted: summary.deleted,
      };
      options.metrics?.entitiesSynced(name, "created", summary.created);
      options.metrics?.entitiesSynced(name, "updated", summary.updated);
      options.metrics?.entitiesSynced(name, "deleted", summary.deleted);
      const result = {
        runId,
        provider: name,
        scope,
        complete: summary.complete,
        items: summary.items,
        ...counts,
      };
      if (summary.complete) {
        await options.sink.finishRun(runId, { status: "success", ...counts });
        const drift = await options.sink.drift?.({ runId });
        if (drift) Object.assign(result, { drift });
        options.metrics?.syncFinished(name, "success", seconds());
        log?.info(result, "Sync complete");
        return { result };
      }
      const message = describeFailedPages(scope, name, summary);
      await options.sink.finishRun(runId, {
        status: "partial",
        ...counts,
        failedPages: summary.failedPages,
        error: message.slice(0, 1000),
      });
      options.metrics?.syncFinished(name, "partial", seconds());
      log?.warn(
        { ...result, failedPages: summary.failedPages.length },
        "Sync partial: nothing marked deleted",
      );
      throw partialError(message, summary.failedPages);
    },
  });
  return Object.assign(kind, {
    async close() {
      const provider = await opening?.catch(() => undefined);
      await provider?.close?.();
    },
  });
}

function partialError(message: string, failed: FailedPage[]): Error {
  return failed.some((f) => f.retryable)
    ? new TransientError(message, { code: "DISCOVERY_PARTIAL" })
    : new PermanentError(message, { code: "DISCOVERY_PARTIAL" });
}

/** The provider's default scope, or a PermanentError saying the payload must name one. */
async function defaultScopeOf<T, C>(
  provider: SyncProvider<T, C>,
  name: string,
  credentials: Record<string, unknown> | undefined,
  signal: AbortSignal,
): Promise<string> {
  if (!provider.defaultScope) {
    throw new PermanentError(
      `A sync of ${name} needs a "scope" in its payload: ${name} has no default scope`,
      {
        code: ErrorCode.validation,
      },
    );
  }
  return await provider.defaultScope(credentials, signal);
}
