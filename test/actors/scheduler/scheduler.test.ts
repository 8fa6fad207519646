/**
 * Schedules and the scheduler on NATS + PostgreSQL: several schedulers never
 * fire a slot twice, an open run makes the next slot skip, a claimed slot whose
 * job never arrived is submitted again, default schedules come from
 * `<NAME>_ENABLED`, and the HTTP routes validate what they store.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { backendEnv, openTestCore } from "../../support/system.ts";
import type { Core } from "../../../actors/process/system.ts";
import { Scheduler } from "../../../actors/scheduler/scheduler.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { asAdmin, TEST_TOKENS } from "../../support/gateway.ts";
import { loadConfig } from "../../../actors/process/config.ts";

describe("Scheduler (NATS + PostgreSQL)", () => {
  let env: Record<string, string>;
  let cleanup = () => {};
  let a: Core;
  let b: Core;

  before(async () => {
    ({ env, cleanup } = await backendEnv("nats+postgres"));
    a = await openTestCore(env);
    b = await openTestCore(env);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    cleanup();
  });

  const scheduler = (core: Core, extra: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) =>
    new Scheduler({ schedules: core.schedules, jobs: core.jobs, logger: silentLogger(), ...extra });
  const jobsOf = async (core: Core, prefix: string) =>
    (await core.db.query<{ id: string }>("SELECT id FROM jobs WHERE id LIKE $1 ORDER BY id", [`${prefix}%`]))
      .map((r) => r.id);

  it("two schedulers ticking at once fire each due slot exactly once, with a job id per schedule and slot", async () => {
    const slot = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    for (let i = 0; i < 30; i++) {
      await a.schedules.create({
        id: `many-${i}`,
        kind: "noop",
        payload: {},
        intervalSeconds: 3600,
        nextRunAt: slot,
      });
    }
    const one = scheduler(a);
    const two = scheduler(b);
    await Promise.all([one.tick(), two.tick(), one.tick(), two.tick()]);
    const ids = await jobsOf(a, "schedule-many-");
    assert.equal(ids.length, 30);
    assert.equal(one.stats.submitted + two.stats.submitted, 30, "each slot submitted once in all");
    assert.ok(ids.every((id) => id.endsWith(`-${slot.getTime()}`)), "job id = schedule-<id>-<slot epoch ms>");
    const row = await a.schedules.get("many-7");
    assert.equal(row?.lastJobId, `schedule-many-7-${slot.getTime()}`);
    assert.equal(row?.status, "pending");
    assert.ok(
      row && row.nextRunAt.getTime() === slot.getTime() + 3600_000,
      "next slot is one interval on, missed ones are not replayed",
    );
  });

  it("skips a slot while the schedule's last job is still open, then fires again once it ended", async () => {
    await a.schedules.create({
      id: "overlap",
      kind: "noop",
      payload: {},
      intervalSeconds: 1,
      nextRunAt: new Date(Date.now() - 1000),
    });
    const s = scheduler(a);
    await s.tick();
    const [first] = await jobsOf(a, "schedule-overlap-");
    assert.ok(first, "first slot fired");
    // No worker runs here, so the job stays pending; make the next slot due.
    await a.schedules.update("overlap", { nextRunAt: new Date(Date.now() - 100) });
    await s.tick();
    assert.equal((await jobsOf(a, "schedule-overlap-")).length, 1, "no second job while the first is open");
    assert.equal((await a.schedules.get("overlap"))?.skipped, 1);
    await a.jobs.cancel(first);
    await a.schedules.update("overlap", { nextRunAt: new Date(Date.now() - 100) });
    await s.tick();
    assert.equal((await jobsOf(a, "schedule-overlap-")).length, 2);
    // The status follows the last job.
    const ids = await jobsOf(a, "schedule-overlap-");
    await a.jobs.cancel(ids[1] as string);
    await s.tick();
    assert.equal((await a.schedules.get("overlap"))?.status, "cancelled");
  });

  it("submits again a claimed slot whose job never arrived (a crash between claim and submit)", async () => {
    await a.schedules.create({
      id: "lost",
      kind: "noop",
      payload: {},
      intervalSeconds: 3600,
      nextRunAt: new Date(Date.now() - 1000),
    });
    const claimed = await a.schedules.claimDue(100);
    const mine = claimed.find((c) => c.schedule.id === "lost");
    assert.ok(mine);
    assert.deepEqual(await jobsOf(a, "schedule-lost-"), []);
    await scheduler(b, { resubmitAfterSeconds: 0 }).tick();
    assert.deepEqual(await jobsOf(a, "schedule-lost-"), [mine.jobId]);
  });

  it("records on the schedule why its job was refused (a payload the kind rejects)", async () => {
    await a.schedules.create({
      id: "bad",
      kind: "noop",
      payload: { sleepMs: "soon" },
      intervalSeconds: 3600,
      nextRunAt: new Date(Date.now() - 1000),
    });
    await scheduler(a).tick();
    const row = await a.schedules.get("bad");
    assert.equal(row?.status, "failed");
    assert.match(JSON.stringify(row?.lastError), /payload\.sleepMs/);
  });

  it("creates default schedules from <NAME>_ENABLED / <NAME>_SYNC_INTERVAL, and refuses what it cannot run", async () => {
    const config = loadConfig({
      ...env,
      AWS_ENABLED: "true",
      AWS_ACCOUNT_ID: "123456789012",
      AWS_SYNC_INTERVAL: "15m",
      AWS_REGIONS: "us-east-1,eu-west-1",
      K8S_ENABLED: "false",
      K8S_SCOPE: "prod",
    });
    assert.deepEqual(
      config.discovery.schedules.map((s) => [s.id, s.kind, s.intervalSeconds, s.enabled, s.payload]),
      [
        ["aws-default", "discovery.aws", 900, true, {
          scope: "123456789012",
          regions: ["us-east-1", "eu-west-1"],
        }],
        ["kubernetes-default", "discovery.kubernetes", 3600, false, { scope: "prod" }],
      ],
    );
    const s = scheduler(a, { defaults: config.discovery.schedules, tickMs: 60_000 });
    await s.start();
    await s.stop();
    const row = await a.schedules.get("aws-default");
    assert.equal(row?.intervalSeconds, 900);
    assert.equal(row?.provider, "aws");
    assert.equal(row?.scope, "123456789012");
    assert.equal((await a.schedules.get("kubernetes-default"))?.enabled, false);
    assert.throws(
      () => loadConfig({ AWS_ENABLED: "true" }),
      /AWS_ENABLED=true needs AWS_SCOPE or AWS_ACCOUNT_ID/,
    );
    assert.throws(() => loadConfig({ GCP_SYNC_INTERVAL: "often" }), /GCP_SYNC_INTERVAL/);
    // The directory connectors' schedules, from their manifests' settings; the row knows the provider.
    const directories = loadConfig({
      ...env,
      OKTA_ENABLED: "true",
      OKTA_SCOPE: "example",
      OKTA_CREDENTIALS: "okta",
      LDAP_ENABLED: "false",
      LDAP_SCOPE: "corp",
    });
    assert.deepEqual(
      directories.discovery.schedules.map((s) => [s.id, s.kind, s.enabled, s.payload]),
      [
        ["ldap-default", "sync.ldap", false, { scope: "corp" }],
        ["okta-default", "sync.okta", true, { scope: "example", credentials: "okta" }],
      ],
    );
    const d = scheduler(a, { defaults: directories.discovery.schedules, tickMs: 60_000 });
    await d.start();
    await d.stop();
    const okta = await a.schedules.get("okta-default");
    assert.deepEqual([okta?.provider, okta?.scope, okta?.credentialsRef], ["okta", "example", "okta"]);
    assert.throws(
      () => loadConfig({ AUTHENTIK_ENABLED: "true" }),
      /AUTHENTIK_ENABLED=true needs AUTHENTIK_SCOPE/,
    );
    assert.throws(
      () => loadConfig({ FLEETDM_ENABLED: "true" }),
      /FLEETDM_ENABLED: the fleetdm connector is not part of this Troupe yet/,
    );
  });

  it("serves /schedules CRUD with validation, and run-now", async () => {
    const app = asAdmin(createGateway({
      jobs: a.jobs,
      store: a.store,
      bus: a.bus,
      logger: silentLogger(),
      maxBodyBytes: 64 * 1024,
      inventory: { schedules: a.schedules, resources: a.inventory },
      tokens: TEST_TOKENS,
    }));
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await app.request(path, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: await response.json() as Record<string, unknown> };
    };
    const created = await call("POST", "/schedules", {
      id: "http-1",
      kind: "noop",
      payload: { sleepMs: 1 },
      interval: "2h",
      nextRunAt: "2030-01-01T00:00:00Z",
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.intervalSeconds, 7200);
    assert.equal(
      (await call("POST", "/schedules", { id: "http-1", kind: "noop", interval: 60 })).status,
      409,
    );
    const badPayload = await call("POST", "/schedules", {
      id: "http-2",
      kind: "noop",
      payload: { sleepMs: "x" },
      interval: 60,
    });
    assert.equal(badPayload.status, 422);
    assert.match(String((badPayload.json.error as { message: string }).message), /payload\.sleepMs/);
    assert.equal(
      (await call("POST", "/schedules", { id: "http-3", kind: "nope", interval: 60 })).status,
      404,
    );
    assert.equal(
      (await call("POST", "/schedules", { id: "bad id!", kind: "noop", interval: 60 })).status,
      422,
    );
    assert.equal(
      (await call("POST", "/schedules", { id: "http-4", kind: "noop", interval: "often" })).status,
      422,
    );
    const patched = await call("PATCH", "/schedules/http-1", { enabled: false, interval: 90 });
    assert.equal(patched.status, 200);
    assert.deepEqual([patched.json.enabled, patched.json.intervalSeconds], [false, 90]);
    const run = await call("POST", "/schedules/http-1/run");
    assert.equal(run.status, 202);
    assert.ok(new Date(String(run.json.nextRunAt)).getTime() <= Date.now());
    const listed = await call("GET", "/schedules?kind=noop");
    assert.ok((listed.json.schedules as { id: string }[]).some((s) => s.id === "http-1"));
    assert.equal((await call("DELETE", "/schedules/http-1")).status, 200);
    assert.equal((await call("GET", "/schedules/http-1")).status, 404);
    assert.equal((await call("DELETE", "/schedules/http-1")).status, 404);
  });
});
