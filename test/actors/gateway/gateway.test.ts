import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { createMetrics } from "../../../actors/observability/metrics.ts";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { asAdmin, TEST_TOKENS } from "../../support/gateway.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

describe("Gateway (HTTP API)", () => {
  let core: Core;
  let system: RunningSystem;
  let app: Hono;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env, { env: { TROUPE_MAX_PAYLOAD_BYTES: "2048" } });
    system = await startSystem(core, { worker: true });
    app = asAdmin(
      createGateway({
        jobs: core.jobs,
        store: core.store,
        bus: core.bus,
        logger: core.logger,
        maxBodyBytes: 2048,
        metrics: system.metrics,
        tokens: TEST_TOKENS,
      }),
    );
  });
  after(async () => {
    await system?.stop();
    cleanup();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    app.request(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  it("POST /jobs submits a job that runs to success, readable at GET /jobs/:id", async () => {
    const res = await post("/jobs", '{"kind":"noop","payload":{"sleepMs":1}}');
    assert.equal(res.status, 202);
    const { id } = await res.json() as { id: string };
    const job = await waitFor(async () => {
      const r = await app.request(`/jobs/${id}`);
      const j = await r.json() as { status: string };
      return j.status === "success" ? j : undefined;
    });
    assert.equal(job.status, "success");
    const history = await (await app.request(`/jobs/${id}/history`)).json() as {
      events: { status: string }[];
    };
    assert.deepEqual(history.events.map((e) => e.status), ["pending", "locked", "running", "success"]);
  });

  it("POST /jobs/:kind takes the body as the payload, and Idempotency-Key as the id", async () => {
    const first = await post("/jobs/noop", '{"sleepMs":0}', { "Idempotency-Key": "idem-1" });
    assert.equal(first.status, 202);
    assert.equal((await first.json() as { id: string }).id, "idem-1");
    const again = await post("/jobs/noop", '{"sleepMs":0}', { "Idempotency-Key": "idem-1" });
    assert.equal(again.status, 200);
    assert.equal((await again.json() as { duplicate: boolean }).duplicate, true);
  });

  it("answers 422 naming the field for a schema violation, and publishes nothing", async () => {
    const before = (await core.bus.jobsInfo()).messages;
    const res = await post("/jobs", '{"kind":"noop","id":"bad-1","payload":{"sleepMs":"x"}}');
    assert.equal(res.status, 422);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, "VALIDATION");
    assert.match(body.error.message, /payload\.sleepMs/);
    assert.equal((await core.bus.jobsInfo()).messages, before);
    assert.equal((await app.request("/jobs/bad-1")).status, 404);
  });

  it("answers 404 for an unknown kind, 400 for malformed JSON, 413 over the limit", async () => {
    const unknown = await post("/jobs", '{"kind":"nope"}');
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json() as { error: { code: string } }).error.code, "UNKNOWN_KIND");
    const malformed = await post("/jobs", "{oops");
    assert.equal(malformed.status, 400);
    assert.match((await malformed.json() as { error: { message: string } }).error.message, /Malformed JSON/);
    const big = await post("/jobs", JSON.stringify({ kind: "noop", payload: { result: "x".repeat(5000) } }));
    assert.equal(big.status, 413);
    assert.equal((await big.json() as { error: { code: string } }).error.code, "PAYLOAD_TOO_LARGE");
  });

  it("refuses ids with subject wildcards or spaces", async () => {
    const res = await post("/jobs", '{"kind":"noop","id":"a.*"}');
    assert.equal(res.status, 422);
  });

  it("GET /jobs filters by status and kind and pages with a cursor", async () => {
    for (let i = 0; i < 3; i++) await post("/jobs", JSON.stringify({ kind: "noop", id: `page-${i}` }));
    await waitFor(async () => {
      const r = await (await app.request("/jobs?kind=noop&status=success&limit=100")).json() as {
        jobs: { id: string }[];
      };
      return ["page-0", "page-1", "page-2"].every((id) => r.jobs.some((j) => j.id === id));
    });
    const page1 = await (await app.request("/jobs?limit=2")).json() as {
      jobs: { id: string }[];
      nextCursor: string;
    };
    assert.equal(page1.jobs.length, 2);
    assert.ok(page1.nextCursor);
    const page2 = await (await app.request(`/jobs?limit=2&cursor=${encodeURIComponent(page1.nextCursor)}`))
      .json() as { jobs: { id: string }[] };
    assert.ok(page2.jobs.length >= 1);
    assert.ok(!page2.jobs.some((j) => page1.jobs.some((k) => k.id === j.id)), "pages do not overlap");
    const bad = await app.request("/jobs?status=bogus");
    assert.equal(bad.status, 422);
  });

  it("POST /jobs/:id/cancel cancels a pending job and 409s an ended one", async () => {
    const runAt = new Date(Date.now() + 60_000).toISOString();
    await post("/jobs", JSON.stringify({ kind: "noop", id: "later-cancel", runAt }));
    const res = await app.request("/jobs/later-cancel/cancel", { method: "POST" });
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { status: string }).status, "cancelled");
    const again = await app.request("/jobs/later-cancel/cancel", { method: "POST" });
    assert.equal(again.status, 409);
  });

  /** Reads an SSE body to its end; returns the events' ids and data. */
  async function readSse(res: Response): Promise<{ id: number; status: string }[]> {
    const text = await res.text();
    return text.split("\n\n").filter((block) => block.includes("data:")).map((block) => {
      const id = Number(/^id: ?(\d+)/m.exec(block)?.[1]);
      const data = JSON.parse(/^data: ?(.*)$/m.exec(block)![1]!) as { status: string };
      return { id, status: data.status };
    });
  }

  it("GET /jobs/:id/events streams the history, then live transitions, and ends after a final state", async () => {
    const res = await post("/jobs", JSON.stringify({ kind: "noop", id: "sse-1", payload: { sleepMs: 400 } }));
    assert.equal(res.status, 202);
    const sse = await app.request("/jobs/sse-1/events");
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = await readSse(sse);
    assert.deepEqual(events.map((e) => e.status), ["pending", "locked", "running", "success"]);
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length, "each event once");
  });

  it("GET /jobs/:id/events resumes after Last-Event-ID, and 404s an unknown job", async () => {
    const all = await readSse(await app.request("/jobs/sse-1/events"));
    const rest = await readSse(
      await app.request("/jobs/sse-1/events", { headers: { "Last-Event-ID": String(all[1]!.id) } }),
    );
    assert.deepEqual(rest.map((e) => e.status), ["running", "success"]);
    assert.equal((await app.request("/jobs/nope/events")).status, 404);
    assert.equal(
      (await app.request("/jobs/sse-1/events", { headers: { "Last-Event-ID": "x" } })).status,
      422,
    );
  });

  it("POST /jobs/:id/retry runs a failed job again, and 409s one that has not ended", async () => {
    await post(
      "/jobs",
      JSON.stringify({ kind: "noop", id: "redrive-1", payload: { failTimes: 1, failWith: "permanent" } }),
    );
    await waitFor(async () => (await core.store.getJob("redrive-1"))?.status === "failed");
    const res = await app.request("/jobs/redrive-1/retry", { method: "POST" });
    assert.equal(res.status, 200);
    await waitFor(async () => (await core.store.jobEvents("redrive-1")).length === 8, {
      what: "the second run",
    });
    assert.deepEqual((await core.store.jobEvents("redrive-1")).map((e) => e.status), [
      "pending",
      "locked",
      "running",
      "failed",
      "pending",
      "locked",
      "running",
      "failed",
    ]);
    const later = new Date(Date.now() + 60_000).toISOString();
    await post("/jobs", JSON.stringify({ kind: "noop", id: "redrive-2", runAt: later }));
    assert.equal((await app.request("/jobs/redrive-2/retry", { method: "POST" })).status, 409);
  });

  it("GET /jobs?since= keeps jobs created since then, and refuses a bad date", async () => {
    const cut = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await post("/jobs", JSON.stringify({ kind: "noop", id: "since-1" }));
    const page = await (await app.request(`/jobs?since=${encodeURIComponent(cut)}&limit=100`)).json() as {
      jobs: { id: string }[];
    };
    assert.ok(page.jobs.some((j) => j.id === "since-1"));
    assert.ok(!page.jobs.some((j) => j.id === "redrive-1"));
    assert.equal((await app.request("/jobs?since=yesterday")).status, 422);
  });

  it("GET /metrics exposes job outcomes, attempts, in-flight and rejections in Prometheus format", async () => {
    await post("/jobs", JSON.stringify({ kind: "noop", id: "metric-ok" }));
    await post(
      "/jobs",
      JSON.stringify({ kind: "noop", id: "metric-fail", payload: { failTimes: 1, failWith: "permanent" } }),
    );
    await core.bus.publishRaw(`${core.bus.subjects.jobPrefix}noop`, new TextEncoder().encode("{broken"), {
      msgId: "metric-bad",
      headers: { "Nats-Msg-Id": "metric-bad" },
    });
    await waitFor(async () =>
      ["success", "failed"].includes((await core.store.getJob("metric-fail"))?.status ?? "")
    );
    await waitFor(async () => (await core.store.getJob("metric-bad"))?.status === "failed");
    await waitFor(async () => (await core.store.getJob("metric-ok"))?.status === "success");
    const res = await app.request("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    assert.ok(value(/^troupe_jobs_total\{kind="noop",outcome="success"\} (\d+)/m) >= 1, text);
    assert.ok(value(/^troupe_jobs_total\{kind="noop",outcome="failed"\} (\d+)/m) >= 2);
    assert.ok(value(/^troupe_job_attempts_total\{kind="noop"\} (\d+)/m) >= 2);
    assert.ok(value(/^troupe_messages_rejected_total\{reason="malformed_message"\} (\d+)/m) >= 1);
    assert.match(text, /^troupe_jobs_in_flight \d+/m);
    assert.match(text, /^troupe_job_duration_seconds_bucket\{le="0\.005",kind="noop"\} \d+/m);
  });

  it("answers 404 at /metrics when METRICS_ENABLED=false", async () => {
    const off = asAdmin(
      createGateway({
        jobs: core.jobs,
        store: core.store,
        bus: core.bus,
        logger: core.logger,
        maxBodyBytes: 2048,
        metrics: createMetrics({ enabled: false }),
        tokens: TEST_TOKENS,
      }),
    );
    const res = await off.request("/metrics");
    assert.equal(res.status, 404);
    assert.match((await res.json() as { error: { message: string } }).error.message, /METRICS_ENABLED/);
  });

  it("serves /healthz, /readyz and /status", async () => {
    assert.equal((await app.request("/healthz")).status, 200);
    const ready = await app.request("/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ok: true, database: true, bus: true });
    const status = await (await app.request("/status")).json() as { kinds: string[] };
    assert.ok(status.kinds.includes("noop"));
  });
});
