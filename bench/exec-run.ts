/**
 * `node bench/exec-run.ts [--runs 30]` (as root, bubblewrap installed): exec jobs
 * end to end on the embedded system with its local agent, against a raw spawn
 * of the same command in the same run.
 *
 * - start latency: submit → the command's first output chunk seen on the logs
 *   stream (the process has started and written);
 * - wall time: submit → the job is `success` (`troupe run -- echo x` without the CLI's own start-up);
 * - raw: `spawn("echo")` → exit;
 * - 50 concurrent runs on the one agent: all must succeed.
 *
 * Prints medians and p90 in milliseconds, and the ratios.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { loadConfig } from "../actors/process/config.ts";
import { silentLogger } from "../actors/observability/logger.ts";
import { openCore, startSystem } from "../actors/process/system.ts";

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1] || 30) || 30;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

function raw(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) =>
    spawn("echo", ["x"], { stdio: "ignore" }).on("exit", () => resolve(performance.now() - started))
  );
}

const dataDir = mkdtempSync(join(tmpdir(), "troupe-bench-exec-"));
const workRoot = mkdtempSync(join(tmpdir(), "troupe-bench-work-"));
chmodSync(workRoot, 0o755);
const config = loadConfig({
  TROUPE_DATA_DIR: dataDir,
  TROUPE_AGENT_WORK_ROOT: workRoot,
  LOG_LEVEL: "silent",
});
const core = await openCore(config, { logger: silentLogger() });
const system = await startSystem(core, { worker: true, agent: true });
while (!core.agents.isAlive("local")) await new Promise((r) => setTimeout(r, 50));

async function one(): Promise<{ start: number; wall: number }> {
  const t0 = performance.now();
  const { id } = await core.jobs.submit({
    kind: "exec",
    payload: { agent: "local", command: ["echo", "x"] },
  });
  const logs = core.bus.watchLogs(id, "all");
  let start = 0;
  for await (const _ of logs) {
    start = performance.now() - t0;
    break;
  }
  await logs.close();
  for (;;) {
    const job = await core.store.getJob(id);
    if (job && ["success", "failed", "cancelled"].includes(job.status)) {
      if (job.status !== "success") {
        throw new Error(`exec job ${id} ${job.status}: ${JSON.stringify(job.lastError)}`);
      }
      return { start, wall: performance.now() - t0 };
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

try {
  await one(); // warm-up
  const starts: number[] = [];
  const walls: number[] = [];
  const raws: number[] = [];
  for (let i = 0; i < runs; i++) {
    raws.push(await raw());
    const r = await one();
    starts.push(r.start);
    walls.push(r.wall);
  }
  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => one()));
  const failed = results.filter((r) => r.status === "rejected");
  const line = (name: string, xs: number[]) =>
    `${name.padEnd(34)} median ${quantile(xs, 0.5).toFixed(1).padStart(7)} ms   p90 ${
      quantile(xs, 0.9).toFixed(1).padStart(7)
    } ms`;
  console.log(
    `exec jobs end to end, ${runs} sequential runs, embedded system, local agent (bubblewrap + cgroups)`,
  );
  console.log(line("raw spawn(echo) to exit", raws));
  console.log(line("submit to first output (start)", starts));
  console.log(line("submit to success (wall)", walls));
  console.log(
    `start / raw: ${(quantile(starts, 0.5) / quantile(raws, 0.5)).toFixed(1)}x; wall / raw: ${
      (quantile(walls, 0.5) / quantile(raws, 0.5)).toFixed(1)
    }x`,
  );
  console.log(
    `50 concurrent runs: ${50 - failed.length} succeeded, ${failed.length} failed, ${
      (performance.now() - t0).toFixed(0)
    } ms in all`,
  );
  for (const f of failed.slice(0, 3)) console.log(`  ${(f as PromiseRejectedResult).reason}`);
} finally {
  await system.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workRoot, { recursive: true, force: true });
}
