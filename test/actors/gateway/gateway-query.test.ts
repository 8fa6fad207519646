/**
 * Every path and query value of the HTTP API is validated: the inputs that used
 * to answer 500 `INTERNAL` (PostgreSQL refusing them) or were silently replaced
 * by a default now answer 422 naming the parameter, and envelope fields a worker
 * would refuse are refused at the API. Through `app.request()`, on NATS + PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";
import { loadConfig } from "../../../actors/process/config.ts";
import { type Core, openCore } from "../../../actors/process/system.ts";
import { backendEnv } from "../../support/system.ts";
import { asAdmin, TEST_TOKENS } from "../../support/gateway.ts";

describe("HTTP API input validation", () => {
  let core: Core;
  let app: Hono;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("nats+postgres");
    cleanup = made.cleanup;
    core = await openCore(loadConfig(made.env), { logger: silentLogger() });
    app = asAdmin(createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: silentLogger(),
      maxBodyBytes: 65_536,
      tokens: TEST_TOKENS,
      inventory: { schedules: core.schedules, resources: core.inventory },
    }));
    await core.jobs.submit({
      kind: "noop",
      id: "q-1",
      payload: {},
      runAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
  });

  after(async () => {
    await core?.close();
    cleanup();
  });

  async function expect422(path: string, field: RegExp, init?: RequestInit) {
    const res = await app.request(path, init);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(res.status, 422, `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, "VALIDATION");
    assert.match(body.error.message, field, path);
  }

  const cursorOf = (value: unknown) => encodeURIComponent(btoa(JSON.stringify(value)));

  it("GET /jobs refuses limit 1.5, abc, 0, -5, 1e2 and 100000, a five-digit year, forged cursors", async () => {
    for (const limit of ["1.5", "abc", "0", "-5", "1e2", "100000"]) {
      await expect422(`/jobs?limit=${limit}`, /^Invalid limit "/);
    }
    await expect422("/jobs?since=99999-01-01", /^Invalid since "99999-01-01"/);
    await expect422(`/jobs?cursor=${cursorOf(["x", "y"])}`, /^Invalid cursor/);
    await expect422(`/jobs?cursor=${cursorOf(["2026-01-01 00:00:00+00", "a\u0000b"])}`, /^Invalid cursor/);
  });

  it("GET /jobs with valid values pages as before", async () => {
    const res = await app.request("/jobs?limit=1&since=2020-01-01");
    assert.equal(res.status, 200);
    const page = await res.json() as { jobs: { id: string }[]; nextCursor: string | null };
    assert.equal(page.jobs.length, 1);
    if (page.nextCursor) {
      assert.equal(
        (await app.request(`/jobs?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`)).status,
        200,
      );
    }
  });

  it("inventory routes refuse an id past the integer range, bad limits and NUL in values", async () => {
    await expect422("/resources/99999999999999999999", /^Invalid resource id/);
    await expect422("/discovery/runs?limit=1.5", /^Invalid limit "1\.5"/);
    await expect422(
      "/discovery/runs?jobId=%00",
      /^Invalid query parameter "jobId": it holds a control character/,
    );
    await expect422("/schedules/%00", /^Invalid path: it holds a control character/);
    await expect422("/resources?limit=1e2", /limit/);
  });

  it("POST /jobs refuses envelope fields a worker would refuse, naming the field", async () => {
    const post = (body: unknown) => ({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await expect422(
      "/jobs",
      /^Field "maxAttempts" must be at most 1000/,
      post({ kind: "noop", maxAttempts: 1e308 }),
    );
    await expect422(
      "/jobs",
      /^Field "timeoutMs" must be at most 604800000/,
      post({ kind: "noop", timeoutMs: 2 ** 53 }),
    );
    await expect422(
      "/jobs",
      /^Field "runAt" must be an ISO 8601 date/,
      post({ kind: "noop", runAt: "+275760-09-13T00:00:00Z" }),
    );
    await expect422("/jobs", /^Unknown field "color"/, post({ kind: "noop", color: 1 }));
    await expect422("/jobs", /^Field "kind" is required/, post({ payload: {} }));
    const ok = await app.request(
      "/jobs",
      post({ kind: "noop", id: "q-ok", maxAttempts: 2, runAt: "2030-01-01T00:00:00Z" }),
    );
    assert.equal(ok.status, 202, await ok.text());
  });
});
