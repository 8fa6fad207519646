/**
 * Reliability through outages, with real servers of its own: nats-server
 * restarted during a 1,000-job run, the worker's PostgreSQL connections
 * terminated mid-run, a lost message found by the reconciler, and dedupe inside
 * and outside the window.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { startNatsServer } from "../harness/nats-server.ts";
import { testDatabaseUrl } from "../harness/postgres-server.ts";
import { type Core, type RunningSystem, startSystem } from "../../actors/process/system.ts";
import { Reconciler } from "../../actors/outbox/reconciler.ts";
import { openTestCore, uniqueNamespace } from "../support/system.ts";
import { delay, waitFor } from "../support/wait.ts";

const TEST_POOL = "troupe-outage-test";
const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("Reliability: outages", () => {
  let nats: Awaited<ReturnType<typeof startNatsServer>>;
  const open: { system?: RunningSystem; core?: Core; sql?: postgres.Sql }[] = [];

  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    for (const o of open) {
      await o.system?.stop().catch(() => {});
      if (!o.system) await o.core?.close().catch(() => {});
      await o.sql?.end();
    }
    await nats.stop();
  });

  async function boot(env: Record<string, string> = {}) {
    const databaseUrl = await testDatabaseUrl();
    const core = await openTestCore({
      NATS_URL: nats.url,
      DATABASE_URL: databaseUrl,
      TROUPE_NAMESPACE: uniqueNamespace("out"),
      LOG_LEVEL: "silent",
      TROUPE_LEASE_MS: "3000",
      TROUPE_CONCURRENCY: "200",
      ...env,
    });
    const system = await startSystem(core, { worker: true });
    // Named, so that terminating "the worker's connections" spares the test's own pool.
    const sql = postgres(databaseUrl, {
      max: 2,
      onnotice: () => {},
      connection: { application_name: TEST_POOL },
    });
    open.push({ system, core, sql });
    return { core, system, sql };
  }

  async function publishAll(core: Core, ids: string[], payload: unknown) {
    for (const id of ids) {
      for (let tries = 0;; tries++) {
        try {
          await core.bus.publishJob("noop", enc({ id, payload }), { msgId: id });
          break;
        } catch (error) {
          if (tries > 200) throw error;
          await delay(50);
        }
      }
    }
  }

  async function assertOneSuccessEach(sql: postgres.Sql, ids: string[]) {
    await waitFor(async () => {
      const [row] = await sql`select count(*)::int as c from jobs where status = 'success'`;
      return row?.c === ids.length;
    }, { timeoutMs: 120_000, what: `${ids.length} jobs to succeed` });
    const rows =
      await sql`select job_id, count(*)::int as n from job_events where status = 'success' group by job_id`;
    assert.equal(rows.length, ids.length);
    assert.ok(rows.every((r) => r.n === 1), "exactly one success event per job");
  }

  it("nats-server restarted during a 1,000-job run: all succeed, none twice", async () => {
    const { core, sql } = await boot();
    const ids = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    await publishAll(core, ids, { sleepMs: 5 });
    await waitFor(async () => {
      const [row] = await sql`select count(*)::int as c from jobs where status = 'success'`;
      return (row?.c as number) >= 100;
    }, { what: "the run to be under way" });
    await nats.restart();
    await assertOneSuccessEach(sql, ids);
  });

  it("the worker's PostgreSQL connections terminated mid-run: it reconnects and loses nothing", async () => {
    const { core, sql } = await boot();
    const ids = Array.from({ length: 600 }, (_, i) => `p${i}`);
    await publishAll(core, ids, { sleepMs: 20 });
    await waitFor(async () => {
      const [row] = await sql`select count(*)::int as c from jobs where status = 'success'`;
      return (row?.c as number) >= 50;
    }, { what: "the run to be under way" });
    const killed = await sql`
      select pg_terminate_backend(pid) as ok from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and application_name <> ${TEST_POOL}`;
    assert.ok(killed.length > 0, "terminated the worker's connections");
    await assertOneSuccessEach(sql, ids);
  });

  it("a job whose message was lost (stream purged) is republished by the reconciler and completes", async () => {
    const { core, sql } = await boot();
    const runAt = new Date(Date.now() + 1500).toISOString();
    await core.bus.publishJob("noop", enc({ id: "lost-msg", payload: {}, runAt }), { msgId: "lost-msg" });
    await waitFor(async () => (await core.store.getJob("lost-msg"))?.status === "pending", {
      what: "the job admitted",
    });
    await core.bus.purgeJobs();
    assert.equal((await core.bus.jobsInfo()).messages, 0);
    await delay(2500);
    assert.equal(
      (await core.store.getJob("lost-msg"))?.status,
      "pending",
      "nothing runs it without its message",
    );
    const reconciler = new Reconciler({
      bus: core.bus,
      store: core.store,
      outbox: core.outbox,
      logger: core.logger,
      graceMs: 500,
    });
    assert.ok((await reconciler.runOnce()) >= 1);
    await waitFor(async () => (await core.store.getJob("lost-msg"))?.status === "success", {
      what: "the republished job to succeed",
    });
    const [row] =
      await sql`select count(*)::int as n from job_events where job_id = 'lost-msg' and status = 'success'`;
    assert.equal(row?.n, 1);
  });

  it("the same id submitted twice inside and outside the dedupe window runs once", async () => {
    const { core, sql } = await boot({ TROUPE_DUPLICATE_WINDOW_MS: "1000" });
    const first = await core.bus.publishJob("noop", enc({ id: "dup-1", payload: {} }), { msgId: "dup-1" });
    const inside = await core.bus.publishJob("noop", enc({ id: "dup-1", payload: {} }), { msgId: "dup-1" });
    assert.equal(first.duplicate, false);
    assert.equal(inside.duplicate, true, "JetStream drops it inside the window");
    await waitFor(async () => (await core.store.getJob("dup-1"))?.status === "success");
    await delay(1500);
    const outside = await core.bus.publishJob("noop", enc({ id: "dup-1", payload: {} }), { msgId: "dup-1" });
    assert.equal(outside.duplicate, false, "outside the window JetStream takes it");
    await waitFor(async () => (await core.bus.jobsInfo()).messages === 0, {
      what: "the duplicate to be consumed",
    });
    const [row] =
      await sql`select count(*)::int as n from job_events where job_id = 'dup-1' and status = 'running'`;
    assert.equal(row?.n, 1, "PostgreSQL refused the second run");
  });
});
