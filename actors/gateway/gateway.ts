/**
 * The HTTP API (Hono): one web-standard app, served by the runtime seam.
 * Errors are JSON `{"error":{"code","message"}}` with the right status, mapped
 * in one `onError`.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { envelopeSchema } from "../../bus/envelope.ts";
import { dateQuery, limitQuery, parseQueryValue, refuseControlCharacters } from "./query-values.ts";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Store } from "../../adapters/postgres/store.ts";
import type { Bus } from "../../bus/bus.ts";
import { BusFullError } from "../../bus/bus.ts";
import { ErrorCode, PermanentError, TroupeError, ValidationError } from "../../machines/errors.ts";
import { JobStatus } from "../../machines/job-status.ts";
import { openApiDocument } from "./openapi.ts";
import { addSseRoutes, type LogStreamTiming } from "./sse-routes.ts";
import { eventToJson, type JobService, jobToJson, type SubmitRequest } from "../jobs/job-service.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { X509Certificate } from "node:crypto";
import { requireRole, type TokenTable } from "./auth.ts";
import { requestGuard } from "./request-guard.ts";
import { traceRequests } from "./trace-requests.ts";
import { logRequests } from "./request-log.ts";
import { addInventoryRoutes } from "./inventory-routes.ts";
import { addDirectoryRoutes } from "./directory-routes.ts";
import type { SqlDirectory } from "../../adapters/postgres/sql-directory.ts";
import { readJson } from "./json-body.ts";
import type { SqlInventory } from "../../adapters/postgres/sql-inventory.ts";
import type { SqlSchedules } from "../../adapters/postgres/sql-schedules.ts";

export interface GatewayOptions {
  jobs: JobService;
  store: Store;
  bus: Bus;
  logger: Logger;
  maxBodyBytes: number;
  /** Served at /metrics when enabled. */
  metrics?: Metrics;
  /** Bearer tokens and their roles; with neither tokens nor a client CA every request but the probes gets 401. */
  tokens?: TokenTable | undefined;
  /** Host names served besides localhost and IP literals (TROUPE_ALLOWED_HOSTS); see request-guard.ts. */
  allowedHosts?: readonly string[];
  /** Origins that may write besides the request's own (TROUPE_ALLOWED_ORIGINS). */
  allowedOrigins?: readonly string[];
  /** Client certificates must chain to this CA; the OU is the role (mTLS). */
  clientCa?: X509Certificate | undefined;
  /** Exec agents heard lately, for GET /agents. */
  agents?: () => unknown[];
  /** The version in /openapi.json and /status. */
  version?: string;
  /** When the logs SSE stream ends (tests shorten it). */
  logStream?: LogStreamTiming;
  /** Schedules and inventory, for /schedules, /resources and /discovery/runs. */
  inventory?: { schedules: SqlSchedules; resources: SqlInventory };
  /** The directory, for /identities, /groups, /organizations and group write-back. */
  directory?: SqlDirectory;
  /** Extra facts for /status (version, worker counts). */
  status?: () => Record<string, unknown>;
}

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  [ErrorCode.validation]: 422,
  [ErrorCode.unknownKind]: 404,
  [ErrorCode.notFound]: 404,
  [ErrorCode.conflict]: 409,
  [ErrorCode.tooLarge]: 413,
  BUS_FULL: 503,
  [ErrorCode.transient]: 503,
  [ErrorCode.unavailable]: 503,
  BAD_REQUEST: 400,
};

function httpError(code: string, message: string): TroupeError {
  return new TroupeError(message, { code });
}

/** `POST /jobs`: the envelope's own schema (bus/envelope.ts) plus the kind, so the API refuses what a worker would. */
const submitSchema = envelopeSchema.extend({ kind: z.string({ error: "is required and must be a string" }) });

function asSubmit(body: unknown): SubmitRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError('Body must be a JSON object like {"kind":"noop","payload":{}}', {
      field: "body",
    });
  }
  const parsed = submitSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === "unrecognized_keys") {
      const key = issue.keys[0] ?? "";
      throw new ValidationError(`Unknown field "${key}": put the job's input under "payload"`, {
        field: key,
      });
    }
    const field = issue?.path.map(String).join(".") || "body";
    // zod reports `int()`'s safe-integer bound too: name the schema's own, tighter limit.
    const same = parsed.error.issues.filter((i) => i.path.map(String).join(".") === field);
    const tightest = same.filter((i) =>
      i.code === "too_big"
    ).sort((a, b) =>
      Number((a as { maximum: unknown }).maximum) - Number((b as { maximum: unknown }).maximum)
    )[0];
    throw new ValidationError(`Field "${field}" ${describeIssue(tightest ?? issue)}`, { field });
  }
  const { kind, id, payload, maxAttempts, timeoutMs, runAt, org } = parsed.data;
  const request: SubmitRequest = { kind };
  if (id !== undefined) request.id = id;
  if (payload !== undefined) request.payload = payload;
  if (maxAttempts !== undefined) request.maxAttempts = maxAttempts;
  if (timeoutMs !== undefined) request.timeoutMs = timeoutMs;
  if (runAt !== undefined) request.runAt = typeof runAt === "number" ? new Date(runAt).toISOString() : runAt;
  if (org !== undefined) request.org = org;
  return request;
}

/** A zod issue as the end of a sentence: `must be at most 1000`, `is required and must be a string`. */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "is invalid";
  if (issue.code === "too_big") return `must be at most ${String(issue.maximum)}`;
  if (issue.code === "too_small") return `must be at least ${String(issue.minimum)}`;
  if (issue.code === "invalid_type" && issue.message.startsWith("is required")) return issue.message;
  if (issue.path[0] === "runAt") return "must be an ISO 8601 date with a time zone, or epoch milliseconds";
  return `is invalid: ${issue.message}`;
}

/** Builds the Hono app. */
export function createGateway(options: GatewayOptions): Hono {
  const { jobs, store, bus, logger } = options;
  const app = new Hono();
  const startedAt = Date.now();

  app.onError((error, c) => {
    if (error instanceof TroupeError) {
      const status = STATUS_BY_CODE[error.code] ?? (error instanceof PermanentError ? 400 : 500);
      if (status >= 500) logger.warn({ err: error }, "Request failed");
      return c.json({ error: { code: error.code, message: error.message } }, status);
    }
    logger.error({ err: error }, "Unexpected error in a request");
    return c.json({ error: { code: "INTERNAL", message: "Internal error" } }, 500);
  });
  app.notFound((c) =>
    c.json(
      { error: { code: ErrorCode.notFound, message: `No route for ${c.req.method} ${c.req.path}` } },
      404,
    )
  );

  app.use("*", traceRequests());
  app.use("*", logRequests(logger));
  app.use(
    "*",
    requestGuard({ allowedHosts: options.allowedHosts ?? [], allowedOrigins: options.allowedOrigins ?? [] }),
  );
  app.use("*", requireRole(options.tokens, { clientCa: options.clientCa }));
  app.use("*", refuseControlCharacters());

  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) =>
      c.json({
        error: {
          code: ErrorCode.tooLarge,
          message: `Body exceeds the limit of ${options.maxBodyBytes} bytes`,
        },
      }, 413),
  });

  const respondSubmitted = async (request: SubmitRequest) => {
    try {
      const result = await jobs.submit(request);
      return {
        status: (result.duplicate ? 200 : 202) as 200 | 202,
        body: {
          id: result.id,
          duplicate: result.duplicate,
          job: result.job ? jobToJson(result.job, jobs.kinds) : null,
        },
      };
    } catch (error) {
      if (error instanceof BusFullError) {
        throw httpError("BUS_FULL", "The job queue is full; try again later");
      }
      throw error;
    }
  };

  const actorOf = (c: { get(key: never): unknown }) =>
    (c.get("actor" as never) as string | undefined) ?? "local";

  app.post("/jobs", limit, async (c) => {
    const request = asSubmit(await readJson(c.req.raw));
    request.actor = actorOf(c);
    const idempotencyKey = c.req.header("Idempotency-Key");
    if (idempotencyKey && request.id === undefined) request.id = idempotencyKey;
    const { status, body } = await respondSubmitted(request);
    return c.json(body, status);
  });

  app.post("/jobs/:kind{[A-Za-z0-9_.-]+}", limit, async (c) => {
    const kind = c.req.param("kind");
    const request: SubmitRequest = { kind, payload: await readJson(c.req.raw), actor: actorOf(c) };
    const idempotencyKey = c.req.header("Idempotency-Key");
    if (idempotencyKey) request.id = idempotencyKey;
    const { status, body } = await respondSubmitted(request);
    return c.json(body, status);
  });

  app.get("/jobs", async (c) => {
    const status = c.req.query("status");
    if (status !== undefined && !Object.hasOwn(JobStatus, status)) {
      throw new ValidationError(
        `Invalid status "${status}": use one of ${Object.keys(JobStatus).join(", ")}`,
        { field: "status" },
      );
    }
    const limitParam = c.req.query("limit");
    const sinceParam = c.req.query("since");
    const since = sinceParam === undefined ? undefined : parseQueryValue(dateQuery, sinceParam, "since");
    const limit = limitParam === undefined
      ? undefined
      : parseQueryValue(limitQuery(1000), limitParam, "limit");
    const page = await jobs.list({
      ...(status ? { status: status as JobStatus } : {}),
      ...(c.req.query("kind") ? { kind: c.req.query("kind") as string } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(c.req.query("cursor") ? { cursor: c.req.query("cursor") as string } : {}),
      ...(since ? { since } : {}),
    });
    return c.json({
      jobs: page.jobs.map((job) => jobToJson(job, jobs.kinds)),
      nextCursor: page.nextCursor ?? null,
    });
  });

  app.get("/jobs/:id", async (c) => c.json(jobToJson(await jobs.get(c.req.param("id")), jobs.kinds)));

  app.get("/jobs/:id/history", async (c) => {
    const events = await jobs.events(c.req.param("id"));
    return c.json({ events: events.map(eventToJson) });
  });

  addSseRoutes(app, { jobs, bus, ...(options.logStream ? { logs: options.logStream } : {}) });

  app.post(
    "/jobs/:id/retry",
    async (c) => c.json(jobToJson(await jobs.retry(c.req.param("id"), actorOf(c)), jobs.kinds)),
  );

  app.post(
    "/jobs/:id/cancel",
    async (c) => c.json(jobToJson(await jobs.cancel(c.req.param("id"), actorOf(c)), jobs.kinds)),
  );

  if (options.inventory) {
    addInventoryRoutes(app, {
      schedules: options.inventory.schedules,
      inventory: options.inventory.resources,
      kinds: jobs.kinds,
      limit,
    });
  }

  if (options.directory) addDirectoryRoutes(app, { directory: options.directory, jobs });

  let document: Record<string, unknown> | undefined;
  app.get(
    "/openapi.json",
    (c) => c.json(document ??= openApiDocument(jobs.kinds, { version: options.version ?? "0.0.0" })),
  );

  app.get("/agents", (c) => c.json({ agents: options.agents?.() ?? [] }));

  app.get("/healthz", (c) => c.json({ ok: true }));

  app.get("/readyz", async (c) => {
    const database = await store.ping().catch(() => false);
    const busUp = bus.isConnected();
    return c.json({ ok: database && busUp, database, bus: busUp }, database && busUp ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    if (!options.metrics?.enabled) {
      throw httpError(ErrorCode.notFound, "Metrics are disabled (METRICS_ENABLED=false)");
    }
    const { contentType, body } = await options.metrics.render();
    return c.body(body, 200, { "content-type": contentType });
  });

  app.get("/status", async (c) => {
    const counts = await store.countByStatus().catch(() => undefined);
    return c.json({
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      kinds: jobs.kinds.names(),
      jobs: counts ?? null,
      ...(options.status?.() ?? {}),
    });
  });

  return app;
}
