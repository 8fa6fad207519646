/**
 * HTTP routes for schedules (`/schedules` CRUD, `POST /schedules/:id/run`) and
 * inventory reads (`/resources`, `/resources/:id`, `/discovery/runs`). Bodies
 * are validated with the zod schemas below, which /openapi.json also shows.
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  type ResourceQuery,
  resourceToJson,
  type SqlInventory,
} from "../../adapters/postgres/sql-inventory.ts";
import {
  SCHEDULE_ID_PATTERN,
  type ScheduleRow,
  scheduleToJson,
  type SqlSchedules,
} from "../../adapters/postgres/sql-schedules.ts";
import { ErrorCode, TroupeError, ValidationError } from "../../machines/errors.ts";
import { parseIntervalSeconds } from "../../adapters/sync/schedule-settings.ts";
import { readJson } from "./json-body.ts";
import { assertStorableJson, findJsonViolation } from "../../bus/json-value-rules.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import { PROVIDERS } from "../../adapters/discovery/provider.ts";
import { limitQuery, parseQueryValue } from "./query-values.ts";

const interval = z.union([
  z.number().int().min(1).max(366 * 86400),
  z.string().refine(
    (v) => parseIntervalSeconds(v) !== undefined,
    "use seconds or a duration like 90s, 15m, 1h, 1d",
  ),
]).describe("Seconds, or a duration like 90s, 15m, 1h, 1d");

/** `POST /schedules`. */
export const scheduleCreateSchema = z.strictObject({
  id: z.string().regex(SCHEDULE_ID_PATTERN, "use 1-64 letters, digits, _ or -"),
  kind: z.string().min(1),
  payload: z.unknown().optional(),
  org: z.string().min(1).max(200).refine((v) => !findJsonViolation(v), "holds U+0000 or a lone surrogate")
    .optional(),
  interval,
  enabled: z.boolean().optional(),
  nextRunAt: z.iso.datetime({ offset: true }).optional().describe("First run; default now"),
});

/** `PATCH /schedules/:id`: any field but the id. */
export const schedulePatchSchema = scheduleCreateSchema.omit({ id: true }).partial();

/** `GET /resources` query. */
export const resourceQuerySchema = z.strictObject({
  provider: z.enum(PROVIDERS).optional(),
  scope: z.string().optional(),
  type: z.string().optional(),
  category: z.enum(["compute", "network", "data", "service", "identity", "other"]).optional(),
  region: z.string().optional(),
  org: z.string().optional(),
  name: z.string().optional().describe("Case-insensitive substring"),
  state: z.enum(["live", "deleted", "all"]).optional().describe("Default live"),
  limit: limitQuery(1000).optional(),
  cursor: z.string().optional(),
});

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join(".") || what;
  throw new ValidationError(
    `Invalid ${what}: ${
      parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".") || what}: ${i.message}`)
        .join("; ")
    }`,
    { field },
  );
}

const notFound = (what: string) => new TroupeError(`${what} not found`, { code: ErrorCode.notFound });

/** Adds the schedule and inventory routes. */
export function addInventoryRoutes(
  app: Hono,
  options: {
    schedules: SqlSchedules;
    inventory: SqlInventory;
    kinds: KindRegistry;
    limit: MiddlewareHandler;
  },
): void {
  const { schedules, inventory, kinds, limit } = options;
  const checkJob = (kind: string, payload: unknown) => {
    // What PostgreSQL cannot store (U+0000, lone surrogates, nesting over 64) is a 422, not a 500.
    assertStorableJson(payload, { path: "payload" });
    return kinds.validate(kind, payload);
  };
  // A schedule's payload is a job's payload: its secret fields are shown to no one.
  const toJson = (row: ScheduleRow) => ({
    ...scheduleToJson(row),
    payload: kinds.redact(row.kind, row.payload),
  });

  app.get("/schedules", async (c) => {
    const enabled = c.req.query("enabled");
    const rows = await schedules.list({
      ...(c.req.query("kind") ? { kind: c.req.query("kind") as string } : {}),
      ...(enabled === "true" || enabled === "false" ? { enabled: enabled === "true" } : {}),
    });
    return c.json({ schedules: rows.map(toJson) });
  });

  app.post("/schedules", limit, async (c) => {
    const input = parse(scheduleCreateSchema, await readJson(c.req.raw) ?? {}, "schedule");
    checkJob(input.kind, input.payload);
    const row = await schedules.create({
      id: input.id,
      kind: input.kind,
      payload: input.payload ?? {},
      intervalSeconds: typeof input.interval === "number"
        ? input.interval
        : parseIntervalSeconds(input.interval) as number,
      ...(input.org ? { org: input.org } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      ...(input.nextRunAt ? { nextRunAt: new Date(input.nextRunAt) } : {}),
    });
    return c.json(toJson(row), 201);
  });

  app.get("/schedules/:id", async (c) => {
    const row = await schedules.get(c.req.param("id"));
    if (!row) throw notFound(`Schedule "${c.req.param("id").slice(0, 70)}"`);
    return c.json(toJson(row));
  });

  app.patch("/schedules/:id", limit, async (c) => {
    const id = c.req.param("id");
    const patch = parse(schedulePatchSchema, await readJson(c.req.raw) ?? {}, "schedule");
    const current = await schedules.get(id);
    if (!current) throw notFound(`Schedule "${id.slice(0, 70)}"`);
    // A payload read back from GET holds "***" for its secrets: those keep their stored values.
    if (patch.payload !== undefined && (patch.kind ?? current.kind) === current.kind) {
      patch.payload = kinds.restore(current.kind, patch.payload, current.payload);
    }
    if (patch.kind !== undefined || patch.payload !== undefined) {
      checkJob(patch.kind ?? current.kind, patch.payload ?? current.payload);
    }
    const row = await schedules.update(id, {
      ...(patch.kind !== undefined ? { kind: patch.kind } : {}),
      ...(patch.payload !== undefined ? { payload: patch.payload } : {}),
      ...(patch.org !== undefined ? { org: patch.org } : {}),
      ...(patch.interval !== undefined
        ? {
          intervalSeconds: typeof patch.interval === "number"
            ? patch.interval
            : parseIntervalSeconds(patch.interval) as number,
        }
        : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.nextRunAt !== undefined ? { nextRunAt: new Date(patch.nextRunAt) } : {}),
    });
    if (!row) throw notFound(`Schedule "${id.slice(0, 70)}"`);
    return c.json(toJson(row));
  });

  app.delete("/schedules/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await schedules.delete(id))) throw notFound(`Schedule "${id.slice(0, 70)}"`);
    return c.json({ id, deleted: true });
  });

  // Due now: the scheduler fires it on its next tick (unless the last run is still open).
  app.post("/schedules/:id/run", async (c) => {
    const id = c.req.param("id");
    const row = await schedules.runNow(id);
    if (!row) throw notFound(`Schedule "${id.slice(0, 70)}"`);
    return c.json(toJson(row), 202);
  });

  app.get("/resources", async (c) => {
    const query = parse(resourceQuerySchema, c.req.query(), "query");
    const page = await inventory.listResources(
      Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as ResourceQuery,
    );
    return c.json({ resources: page.resources.map(resourceToJson), nextCursor: page.nextCursor ?? null });
  });

  app.get("/resources/:id{[0-9]+}", async (c) => {
    const id = Number(c.req.param("id"));
    if (!Number.isSafeInteger(id)) {
      throw new ValidationError(`Invalid resource id "${c.req.param("id").slice(0, 40)}": too large`, {
        field: "id",
      });
    }
    const found = await inventory.getResource(id);
    if (!found) throw notFound(`Resource ${c.req.param("id")}`);
    const { links, linkedFrom, ...resource } = found;
    return c.json({ ...resourceToJson(resource), links, linkedFrom });
  });

  app.get("/discovery/runs", async (c) => {
    const limitParam = c.req.query("limit");
    const runs = await inventory.listRuns({
      ...(c.req.query("provider") ? { provider: c.req.query("provider") as string } : {}),
      ...(c.req.query("scope") ? { scope: c.req.query("scope") as string } : {}),
      ...(c.req.query("jobId") ? { jobId: c.req.query("jobId") as string } : {}),
      ...(limitParam === undefined ? {} : { limit: parseQueryValue(limitQuery(1000), limitParam, "limit") }),
    });
    return c.json({ runs });
  });
}
