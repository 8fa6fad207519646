/**
 * `node bench/exec-start.ts [--runs 50]` (as root): what the sandbox costs to
 * start. Start-to-exit of `true`, three ways, interleaved in one run so they
 * share the machine's state:
 *
 * - raw: `child_process.spawn("true")` until exit;
 * - cgroup only: `startSandboxedProcess(..., { isolation: false })` with a
 *   pids limit (join-then-exec, cgroup made, accounted, removed);
 * - sandboxed: the same under bubblewrap (namespaces, own root, setpriv).
 *
 * Prints the median and p90 in milliseconds of each.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { probeBwrap, startSandboxedProcess } from "../adapters/exec/mod.ts";

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1] || 50) || 50;

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function raw(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => spawn("true", [], { stdio: "ignore" }).on("exit", () => resolve(performance.now() - started)));
}

async function sandboxed(workRoot: string, id: string, isolation: boolean): Promise<number> {
  const started = performance.now();
  const proc = await startSandboxedProcess({ command: ["true"], limits: { pids: 64 } }, { jobId: id, workRoot, isolation });
  await proc.result;
  return performance.now() - started;
}

async function main(): Promise<void> {
  const workRoot = mkdtempSync(join(tmpdir(), "troupe-bench-exec-"));
  chmodSync(workRoot, 0o711);
  try {
    const bwrap = await probeBwrap();
    if (!bwrap.usable) throw new Error(`bubblewrap is not usable: ${bwrap.reason}`);
    const times = { raw: [] as number[], cgroup: [] as number[], sandboxed: [] as number[] };
    for (let i = -3; i < runs; i++) { // three warm-up rounds, not counted
      const r = await raw();
      const c = await sandboxed(workRoot, `bench-c-${i + 3}`, false);
      const s = await sandboxed(workRoot, `bench-s-${i + 3}`, true);
      if (i < 0) continue;
      times.raw.push(r);
      times.cgroup.push(c);
      times.sandboxed.push(s);
    }
    console.log(`exec start-to-exit of \`true\`, ${runs} runs each, interleaved (bubblewrap ${bwrap.version})`);
    for (const [name, xs] of Object.entries(times)) {
      console.log(`${name.padEnd(10)} median ${quantile(xs, 0.5).toFixed(2)} ms   p90 ${quantile(xs, 0.9).toFixed(2)} ms`);
    }
  } finally {
    rmSync(workRoot, { recursive: true, force: true });
  }
}

await main();
