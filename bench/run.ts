/**
 * `npm run bench`: no-op jobs end to end, side by side in one run.
 *
 * - troupe on NATS JetStream + PostgreSQL: N messages published as the nats CLI
 *   does (core publish with a Nats-Msg-Id header), until N successes are committed.
 * - troupe embedded: in-memory bus + PGlite (file-backed), same N.
 * - graphile-worker on the same PostgreSQL server: addJobs(N), until its queue is empty.
 * - latency at 1,000 jobs/s offered on NATS + PostgreSQL: p50/p99 submit-to-success.
 * - RSS of a worker holding 10,000 in-flight sleeping jobs (a child process).
 *
 * Each throughput figure is the median of `--rounds` runs (default 3), each on a
 * fresh database and namespace. Flags: --jobs N (default 20000), --rounds R,
 * --only troupe|embedded|graphile|latency|inflight|footprint|pglite (repeatable; footprint:
 * bench/footprint.ts; pglite: bench/pglite-footprint.ts, the embedded database's memory per settings).
 *
 * @module
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import postgres from "postgres";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { loadConfig } from "../actors/process/config.ts";
import { silentLogger } from "../actors/observability/logger.ts";
import { openCore, startSystem } from "../actors/process/system.ts";
import { startNatsServer } from "../test/harness/nats-server.ts";
import { startPostgres } from "../test/harness/postgres-server.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const only = argv.flatMap((a, i) => (argv[i - 1] === "--only" ? [a] : []));
const want = (name: string) => only.length === 0 || only.includes(name);
const N = flag("--jobs", 20_000);
const ROUNDS = flag("--rounds", 3);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nsCounter = 0;
const ns = () => `bench${process.pid}x${nsCounter++}`;

async function waitCount(sql: postgres.Sql, n: number, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql`select count(*)::int as c from jobs where status = 'success'`;
    if ((row?.c as number) >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${row?.c} of ${n} jobs succeeded in time`);
    await sleep(50);
  }
}

/** troupe on NATS + PostgreSQL: returns jobs/s. */
async function troupeNats(
  natsUrl: string,
  dbUrl: string,
  n: number,
): Promise<{ rate: number; p50: number; p99: number }> {
  const namespace = ns();
  const config = loadConfig({
    NATS_URL: natsUrl,
    DATABASE_URL: dbUrl,
    TROUPE_NAMESPACE: namespace,
    LOG_LEVEL: "silent",
    TROUPE_CONCURRENCY: "2000",
    TROUPE_BATCH_SIZE: "500",
  });
  const core = await openCore(config, { logger: silentLogger() });
  const system = await startSystem(core, { worker: true });
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  const nc = await connect({ servers: natsUrl });
  try {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const h = natsHeaders();
      h.set("Nats-Msg-Id", `j${i}`);
      nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ payload: { result: { t: Date.now() } } }), {
        headers: h,
      });
      if (i % 1000 === 999) await nc.flush();
    }
    await nc.flush();
    await waitCount(sql, n);
    const seconds = (performance.now() - start) / 1000;
    const lat = await latencies(sql);
    return { rate: n / seconds, p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    await nc.close();
    await system.stop();
    await sql.end();
  }
}

const LATENCY_SQL = `
  select (extract(epoch from e.at) * 1000)::float8 - (j.result->>'t')::float8 as ms
  from jobs j join job_events e on e.job_id = j.id and e.status = 'success'`;

/** Submit-to-success latencies in ms (submit time carried in the payload; success time from PostgreSQL). */
async function latencies(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql.unsafe(LATENCY_SQL);
  return rows.map((r) => Number(r.ms));
}

/** troupe embedded (memory bus + file-backed PGlite): returns jobs/s and burst latency. */
async function troupeEmbedded(n: number): Promise<{ rate: number; p50: number; p99: number }> {
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"));
  const config = loadConfig({
    TROUPE_DATA_DIR: dir,
    LOG_LEVEL: "silent",
    TROUPE_CONCURRENCY: "2000",
    TROUPE_BATCH_SIZE: "500",
  });
  const core = await openCore(config, { logger: silentLogger() });
  const system = await startSystem(core, { worker: true });
  try {
    const enc = new TextEncoder();
    const subject = `${core.bus.subjects.jobPrefix}noop`;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      await core.bus.publishRaw(
        subject,
        enc.encode(JSON.stringify({ payload: { result: { t: Date.now() } } })),
        { msgId: `j${i}`, headers: { "Nats-Msg-Id": `j${i}` } },
      );
    }
    for (;;) {
      const counts = await core.store.countByStatus();
      if ((counts.success ?? 0) >= n) break;
      await sleep(50);
    }
    const rate = n / ((performance.now() - start) / 1000);
    const client =
      (core.store as unknown as { client: { query(text: string): Promise<{ ms: number }[]> } }).client;
    const lat = (await client.query(LATENCY_SQL)).map((r) => Number(r.ms));
    return { rate, p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    await system.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** graphile-worker on the same PostgreSQL: returns jobs/s. */
async function graphile(dbUrl: string, n: number): Promise<number> {
  const { run, makeWorkerUtils } = await import("graphile-worker");
  const logFactory = () => () => {};
  const { Logger } = await import("graphile-worker");
  const logger = new Logger(logFactory);
  const utils = await makeWorkerUtils({ connectionString: dbUrl, logger });
  await utils.migrate();
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  try {
    const start = performance.now();
    for (let i = 0; i < n; i += 1000) {
      const specs = Array.from(
        { length: Math.min(1000, n - i) },
        () => ({ identifier: "noop", payload: {} }),
      );
      await utils.addJobs(specs);
    }
    const runner = await run({
      connectionString: dbUrl,
      concurrency: 10,
      noHandleSignals: true,
      pollInterval: 1000,
      taskList: { noop: async () => {} },
      logger,
    });
    for (;;) {
      const [row] = await sql`select count(*)::int as c from graphile_worker._private_jobs`;
      if (row?.c === 0) break;
      await sleep(50);
    }
    const rate = n / ((performance.now() - start) / 1000);
    await runner.stop();
    return rate;
  } finally {
    await utils.release();
    await sql.end();
  }
}

/** p50/p99 at a steady offered rate. */
async function steadyLatency(natsUrl: string, dbUrl: string, perSecond: number, seconds: number) {
  const namespace = ns();
  const config = loadConfig({
    NATS_URL: natsUrl,
    DATABASE_URL: dbUrl,
    TROUPE_NAMESPACE: namespace,
    LOG_LEVEL: "silent",
    TROUPE_BATCH_SIZE: "500",
    TROUPE_CONCURRENCY: "2000",
  });
  const core = await openCore(config, { logger: silentLogger() });
  const system = await startSystem(core, { worker: true });
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  const nc = await connect({ servers: natsUrl });
  try {
    const total = perSecond * seconds;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const h = natsHeaders();
      h.set("Nats-Msg-Id", `s${i}`);
      nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ payload: { result: { t: Date.now() } } }), {
        headers: h,
      });
    }
    await nc.flush();
    await waitCount(sql, total);
    const lat = await latencies(sql);
    return { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat) };
  } finally {
    await nc.close();
    await system.stop();
    await sql.end();
  }
}

/** p50/p99 at a steady offered rate on the embedded default (memory bus + PGlite). */
async function steadyLatencyEmbedded(perSecond: number, seconds: number) {
  const dir = mkdtempSync(join(tmpdir(), "troupe-bench-"));
  const core = await openCore(
    loadConfig({
      TROUPE_DATA_DIR: dir,
      LOG_LEVEL: "silent",
      TROUPE_BATCH_SIZE: "500",
      TROUPE_CONCURRENCY: "2000",
    }),
    { logger: silentLogger() },
  );
  const system = await startSystem(core, { worker: true });
  try {
    const enc = new TextEncoder();
    const subject = `${core.bus.subjects.jobPrefix}noop`;
    const total = perSecond * seconds;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = start + (i * 1000) / perSecond - performance.now();
      if (wait > 1) await sleep(wait);
      await core.bus.publishRaw(
        subject,
        enc.encode(JSON.stringify({ payload: { result: { t: Date.now() } } })),
        { msgId: `s${i}` },
      );
    }
    while (((await core.store.countByStatus()).success ?? 0) < total) await sleep(50);
    const client =
      (core.store as unknown as { client: { query(text: string): Promise<{ ms: number }[]> } }).client;
    const lat = (await client.query(LATENCY_SQL)).map((r) => Number(r.ms));
    return { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat) };
  } finally {
    await system.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child mode: hold 10,000 sleeping jobs in flight and report RSS. */
async function inflightChild(natsUrl: string, dbUrl: string, n: number): Promise<void> {
  const namespace = ns();
  const config = loadConfig({
    NATS_URL: natsUrl,
    DATABASE_URL: dbUrl,
    TROUPE_NAMESPACE: namespace,
    LOG_LEVEL: "silent",
    TROUPE_CONCURRENCY: String(n),
    TROUPE_BATCH_SIZE: "500",
    TROUPE_SHUTDOWN_GRACE_MS: "0",
  });
  const core = await openCore(config, { logger: silentLogger() });
  const system = await startSystem(core, { worker: true });
  const nc = await connect({ servers: natsUrl });
  for (let i = 0; i < n; i++) {
    nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ id: `f${i}`, payload: { sleepMs: 120_000 } }));
    if (i % 1000 === 999) await nc.flush();
  }
  await nc.flush();
  const deadline = Date.now() + 120_000;
  while (system.worker!.inFlight < n && Date.now() < deadline) await sleep(100);
  const sample = () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    return { rssMB: m.rss / 1048576, heapUsedMB: m.heapUsed / 1048576, heapTotalMB: m.heapTotal / 1048576 };
  };
  await sleep(500);
  const reached = sample();
  await sleep(10_000);
  const settled = sample();
  process.stdout.write(JSON.stringify({ inFlight: system.worker!.inFlight, reached, settled }) + "\n");
  await nc.close();
  process.exit(0);
}

async function main(): Promise<void> {
  if (argv[0] === "--inflight-child") return inflightChild(argv[1]!, argv[2]!, Number(argv[3]));
  const runtime = "Deno" in globalThis ? "deno" : `node ${process.version}`;
  console.log(
    `# troupe bench: ${N} no-op jobs x ${ROUNDS} rounds; ${cpus().length} cores (${
      cpus()[0]?.model
    }); ${runtime}`,
  );
  const [nats, pg] = await Promise.all([startNatsServer(), startPostgres()]);
  const results: Record<string, unknown> = {};
  try {
    if (want("footprint")) {
      const { footprint } = await import("./footprint.ts");
      results.footprint = await footprint({ natsUrl: nats.url, databaseUrl: () => pg.createDatabase() });
    }
    if (want("pglite")) {
      const { pgliteFootprint } = await import("./pglite-footprint.ts");
      results.pglite = await pgliteFootprint(Math.max(ROUNDS, 3), Math.min(N, 5000));
    }
    if (want("troupe")) {
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) {
        const res = await troupeNats(nats.url, await pg.createDatabase(), N);
        console.log(
          `troupe nats+postgres round ${r + 1}: ${res.rate.toFixed(0)} jobs/s (p50 ${
            res.p50.toFixed(0)
          } ms, p99 ${res.p99.toFixed(0)} ms under a burst)`,
        );
        runs.push(res.rate);
      }
      results.troupe = median(runs);
    }
    if (want("embedded")) {
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) {
        const res = await troupeEmbedded(N);
        console.log(
          `troupe embedded round ${r + 1}: ${res.rate.toFixed(0)} jobs/s (p50 ${res.p50.toFixed(0)} ms, p99 ${
            res.p99.toFixed(0)
          } ms under a burst)`,
        );
        runs.push(res.rate);
      }
      results.embedded = median(runs);
    }
    if (want("graphile")) {
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) {
        const rate = await graphile(await pg.createDatabase(), N);
        console.log(`graphile-worker round ${r + 1}: ${rate.toFixed(0)} jobs/s`);
        runs.push(rate);
      }
      results.graphile = median(runs);
    }
    if (want("latency")) {
      const res = await steadyLatency(nats.url, await pg.createDatabase(), 1000, 10);
      console.log(
        `latency at 1,000 jobs/s offered for 10 s: p50 ${res.p50.toFixed(1)} ms, p99 ${
          res.p99.toFixed(1)
        } ms, max ${res.max.toFixed(1)} ms`,
      );
      results.latency = res;
      const emb = await steadyLatencyEmbedded(1000, 10);
      console.log(
        `latency at 1,000 jobs/s offered for 10 s, embedded: p50 ${emb.p50.toFixed(1)} ms, p99 ${
          emb.p99.toFixed(1)
        } ms, max ${emb.max.toFixed(1)} ms`,
      );
    }
    if (want("inflight")) {
      const db = await pg.createDatabase();
      // V8 flags of the child (BENCH_CHILD_FLAGS, e.g. "--max-semi-space-size=8"), GC exposed on both runtimes.
      const v8Flags = ["--expose-gc", ...(process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter(Boolean)];
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [
          ...("Deno" in globalThis ? ["run", "-A", `--v8-flags=${v8Flags.join(",")}`] : v8Flags),
          new URL(import.meta.url).pathname,
          "--inflight-child",
          nats.url,
          db,
          "10000",
        ], { stdio: ["ignore", "pipe", "inherit"] });
        let text = "";
        child.stdout.on("data", (d) => (text += d));
        child.on(
          "exit",
          (code) => (code === 0 ? resolve(text) : reject(new Error(`in-flight child exited ${code}`))),
        );
      });
      const parsed = JSON.parse(out.trim().split("\n").pop()!);
      console.log(
        `10,000 in-flight sleeping jobs: ${parsed.inFlight} held; RSS ${
          parsed.reached.rssMB.toFixed(0)
        } MB when all were in flight ` +
          `(heap ${parsed.reached.heapUsedMB.toFixed(0)} MB used of ${
            parsed.reached.heapTotalMB.toFixed(0)
          }), ` +
          `${parsed.settled.rssMB.toFixed(0)} MB 10 s later (heap ${
            parsed.settled.heapUsedMB.toFixed(0)
          } of ${parsed.settled.heapTotalMB.toFixed(0)})`,
      );
      results.inflight = parsed;
    }
  } finally {
    await Promise.allSettled([nats.stop(), pg.stop()]);
  }
  console.log("\n# medians");
  if (results.troupe) console.log(`troupe nats+postgres: ${(results.troupe as number).toFixed(0)} jobs/s`);
  if (results.embedded) {
    console.log(`troupe embedded:      ${(results.embedded as number).toFixed(0)} jobs/s`);
  }
  if (results.graphile) {
    console.log(`graphile-worker:      ${(results.graphile as number).toFixed(0)} jobs/s`);
  }
  if (results.troupe && results.graphile) {
    console.log(
      `ratio troupe/graphile: ${((results.troupe as number) / (results.graphile as number)).toFixed(2)}x`,
    );
  }
  process.exit(0);
}

await main();
