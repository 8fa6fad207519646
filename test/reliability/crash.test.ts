/**
 * Reliability with real processes, real NATS JetStream and real PostgreSQL:
 * a worker killed with SIGKILL mid-run, and a worker paused (SIGSTOP) past its
 * lease while a successor takes its job.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { testNatsUrl } from "../harness/nats-server.ts";
import { testDatabaseUrl } from "../harness/postgres-server.ts";
import { exited, startCli } from "../support/cli.ts";
import { uniqueNamespace } from "../support/system.ts";
import { delay, waitFor } from "../support/wait.ts";

describe("Reliability: killed and paused workers", () => {
  let natsUrl: string;
  let nc: NatsConnection;
  const children: ReturnType<typeof startCli>[] = [];
  const sqls: postgres.Sql[] = [];

  before(async () => {
    natsUrl = await testNatsUrl();
    nc = await connect({ servers: natsUrl });
  });
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid!, "SIGCONT");
        } catch { /* gone */ }
        child.kill("SIGKILL");
        await exited(child).catch(() => {});
      }
    }
    for (const sql of sqls) await sql.end();
    await nc.close();
  });

  async function setup(extra: Record<string, string>) {
    const databaseUrl = await testDatabaseUrl();
    const namespace = uniqueNamespace("rel");
    const env = {
      NATS_URL: natsUrl,
      DATABASE_URL: databaseUrl,
      TROUPE_NAMESPACE: namespace,
      LOG_LEVEL: "info",
      TROUPE_LEASE_MS: "1500",
      TROUPE_RECONCILE_INTERVAL_MS: "500",
      TROUPE_RECONCILE_GRACE_MS: "3000",
      ...extra,
    };
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    sqls.push(sql);
    const worker = () => {
      const child = startCli(["worker"], env);
      children.push(child);
      return child;
    };
    const publish = (id: string, payload: unknown) => {
      const h = natsHeaders();
      h.set("Nats-Msg-Id", id);
      nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ payload }), { headers: h });
    };
    return { sql, worker, publish, env };
  }

  it("a worker killed with SIGKILL mid-run loses nothing: every job succeeds with exactly one success event", async () => {
    const { sql, worker, publish } = await setup({ TROUPE_CONCURRENCY: "40" });
    const first = worker();
    await waitFor(() => /Worker started/.test(first.output()), {
      timeoutMs: 60_000,
      what: "the first worker to migrate",
    });
    const total = 150;
    for (let i = 0; i < total; i++) publish(`k${i}`, { sleepMs: 200 });
    await nc.flush();
    await waitFor(async () => {
      const [row] =
        await sql`select count(*) filter (where status = 'success')::int as done, count(*) filter (where status = 'running')::int as running from jobs`;
      return (row?.done as number) >= 20 && (row?.running as number) > 0;
    }, { timeoutMs: 60_000, what: "some jobs done and some running" });
    first.kill("SIGKILL");
    await exited(first);
    const [{ orphaned }] =
      await sql`select count(*)::int as orphaned from jobs where status in ('locked','running')` as unknown as [
        { orphaned: number },
      ];
    assert.ok(orphaned > 0, "the kill left jobs mid-run");
    worker();
    await waitFor(async () => {
      const [row] = await sql`select count(*)::int as c from jobs where status = 'success'`;
      return row?.c === total;
    }, { timeoutMs: 90_000, what: "all jobs to succeed after the kill" });
    const events =
      await sql`select job_id, count(*)::int as n from job_events where status = 'success' group by job_id`;
    assert.equal(events.length, total);
    assert.ok(events.every((e) => e.n === 1), "exactly one success event per job");
    const [{ takeovers }] =
      await sql`select count(*)::int as takeovers from job_events where status = 'locked' and data->>'takeover' = 'true'` as unknown as [
        { takeovers: number },
      ];
    assert.ok(takeovers > 0, "the successor took over orphaned jobs");
  });

  it("a worker paused past its lease is fenced: its late writes are rejected and the job has one success", async () => {
    const { sql, worker, publish } = await setup({ TROUPE_CONCURRENCY: "4" });
    const a = worker();
    await waitFor(() => /Worker started/.test(a.output()), {
      timeoutMs: 60_000,
      what: "worker A to migrate",
    });
    publish("paused-1", { sleepMs: 3000 });
    await nc.flush();
    const running = await waitFor(async () => {
      const [row] =
        await sql`select worker_id, lease_version from jobs where id = 'paused-1' and status = 'running'`;
      return row;
    }, { timeoutMs: 30_000, what: "worker A to run the job" });
    process.kill(a.pid!, "SIGSTOP");
    const b = worker();
    const taken = await waitFor(async () => {
      const [row] = await sql`select worker_id, lease_version, status from jobs where id = 'paused-1'`;
      return row && row.worker_id !== running.worker_id && row.lease_version > running.lease_version
        ? row
        : undefined;
    }, { timeoutMs: 30_000, what: "worker B to take the job over" });
    assert.ok(taken);
    await waitFor(async () => {
      const [row] = await sql`select status from jobs where id = 'paused-1'`;
      return row?.status === "success";
    }, { timeoutMs: 30_000, what: "worker B to finish the job" });
    process.kill(a.pid!, "SIGCONT");
    await waitFor(() => /Outcome refused|Lease lost/.test(a.output()), {
      timeoutMs: 15_000,
      what: "worker A to notice it was fenced",
    });
    await delay(300);
    const history = await sql`select status, data from job_events where job_id = 'paused-1' order by id`;
    assert.equal(history.filter((e) => e.status === "success").length, 1, JSON.stringify(history));
    const [job] = await sql`select status, attempts, worker_id from jobs where id = 'paused-1'`;
    assert.equal(job?.status, "success");
    assert.equal(job?.attempts, 2, "the lost attempt counts");
    b.kill("SIGTERM");
    await exited(b);
  });
});
