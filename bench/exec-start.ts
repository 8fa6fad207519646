/**
 * `node bench/exec-start.ts [--runs 50]` (as root): what the sandbox costs to
 * start. Start-to-exit of `true`, five ways, interleaved in one run so they
 * share the machine's state:
 *
 * - raw: `child_process.spawn("true")` until exit;
 * - cgroup only: `startSandboxedProcess(..., { isolation: false })` with a
 *   pids limit (join-then-exec, cgroup made, accounted, removed);
 * - sandboxed under bubblewrap (namespaces, own root, setpriv), by network
 *   mode: `host` (the host's network, the agent allowing it), `none` (a
 *   network namespace with loopback only) and `outbound`, the default (its own
 *   namespace connected by slirp4netns, the host's addresses routed nowhere).
 *
 * Prints the median and p90 in milliseconds of each, and outbound's median
 * against host's (targets: p50 ≤ 60 ms and ≤ 1.3× host).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { probeBwrap, startSandboxedProcess } from "../adapters/exec/mod.ts";
import type { NetworkMode } from "../adapters/exec/mod.ts";

const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1] || 50) || 50;

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function raw(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) =>
    spawn("true", [], { stdio: "ignore" }).on("exit", () => resolve(performance.now() - started))
  );
}

async function sandboxed(
  workRoot: string,
  id: string,
  isolation: boolean,
  network?: NetworkMode,
): Promise<number> {
  const started = performance.now();
  const proc = await startSandboxedProcess(
    { command: ["true"], limits: { pids: 64 }, ...(network === undefined ? {} : { network }) },
    { jobId: id, workRoot, isolation, allowHostNetwork: true },
  );
  await proc.result;
  return performance.now() - started;
}

async function main(): Promise<void> {
  const workRoot = mkdtempSync(join(tmpdir(), "troupe-bench-exec-"));
  chmodSync(workRoot, 0o711);
  try {
    const bwrap = await probeBwrap();
    if (!bwrap.usable) throw new Error(`bubblewrap is not usable: ${bwrap.reason}`);
    const times: Record<string, number[]> = { raw: [], cgroup: [], host: [], none: [], outbound: [] };
    for (let i = -3; i < runs; i++) { // three warm-up rounds, not counted
      const round: Record<string, number> = {
        raw: await raw(),
        cgroup: await sandboxed(workRoot, `bench-c-${i + 3}`, false),
        host: await sandboxed(workRoot, `bench-h-${i + 3}`, true, "host"),
        none: await sandboxed(workRoot, `bench-n-${i + 3}`, true, "none"),
        outbound: await sandboxed(workRoot, `bench-o-${i + 3}`, true, "outbound"),
      };
      if (i < 0) continue;
      for (const [name, ms] of Object.entries(round)) times[name]?.push(ms);
    }
    console.log(
      `exec start-to-exit of \`true\`, ${runs} runs each, interleaved (bubblewrap ${bwrap.version})`,
    );
    const label: Record<string, string> = {
      raw: "raw",
      cgroup: "cgroup only",
      host: "sandboxed, network host",
      none: "sandboxed, network none",
      outbound: "sandboxed, network outbound",
    };
    for (const [name, xs] of Object.entries(times)) {
      console.log(
        `${(label[name] ?? name).padEnd(28)} median ${quantile(xs, 0.5).toFixed(2)} ms   p90 ${
          quantile(xs, 0.9).toFixed(2)
        } ms`,
      );
    }
    const outbound = quantile(times.outbound ?? [], 0.5);
    const host = quantile(times.host ?? [], 0.5);
    console.log(
      `outbound / host median: ${(outbound / host).toFixed(2)}x (target ≤ 1.3x); outbound median ${
        outbound.toFixed(1)
      } ms (target ≤ 60 ms)`,
    );
  } finally {
    rmSync(workRoot, { recursive: true, force: true });
  }
}

await main();
