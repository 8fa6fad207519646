/**
 * Limits enforced by the kernel through the job's cgroup: memory (OOM kill),
 * CPU quota, pids (a fork bomb contained), I/O throttling on the work dir's
 * device, and what the result accounts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startSandboxedProcess } from "../../../adapters/exec/mod.ts";
import { jobId, makeWorkRoot, requireSandboxHost, runToEnd } from "./sandbox-host.ts";

describe("startSandboxedProcess() limits", () => {
  const workRoot = makeWorkRoot();
  before(() => requireSandboxHost());
  after(() => workRoot.remove());
  const options = (prefix: string) => ({ jobId: jobId(prefix), workRoot: workRoot.path });

  it("lets the kernel OOM-kill a command allocating past memoryMB, and says so", async () => {
    const { result, stdout } = await runToEnd(
      // tail -n 1 holds its whole last line in memory, and /dev/zero has no newline.
      {
        command: ["bash", "-c", "set -o pipefail; head -c 200000000 /dev/zero | tail -n 1 | wc -c"],
        limits: { memoryMB: 64 },
      },
      options("oom"),
    );
    assert.equal(result.oomKilled, true);
    assert.notEqual(result.exitCode, 0);
    assert.notEqual(stdout.trim(), "200000000", "tail never held it all");
    assert.ok(result.peakMemoryBytes !== null && result.peakMemoryBytes <= 64 * 1024 * 1024);
    assert.match(result.applied.memoryMB?.via ?? "", /memory\.limit_in_bytes|memory\.max/);
  });

  it("lets a command under memoryMB finish, accounting its peak memory", async () => {
    const { result, stdout } = await runToEnd(
      { command: ["sh", "-c", "head -c 20000000 /dev/zero | tail -n 1 | wc -c"], limits: { memoryMB: 128 } },
      options("mem-ok"),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(stdout.trim(), "20000000");
    assert.equal(result.oomKilled, false);
    assert.ok(result.peakMemoryBytes !== null && result.peakMemoryBytes > 20_000_000);
  });

  it("holds a busy loop to its CPU quota", async () => {
    const proc = await startSandboxedProcess(
      { command: ["sh", "-c", "while :; do :; done"], limits: { cpuPercent: 20 }, timeoutMs: 1000 },
      { ...options("cpu"), stopGraceMs: 100 },
    );
    const dirs = proc.cgroupDirs;
    const quota = dirs.v2 === undefined
      ? readFileSync(join(dirs.cpu as string, "cpu.cfs_quota_us"), "utf8").trim()
      : readFileSync(join(dirs.v2, "cpu.max"), "utf8").split(" ")[0];
    assert.equal(quota, "20000");
    const result = await proc.result;
    assert.equal(result.stoppedBy, "timeout");
    assert.ok(result.cpuSeconds !== null && result.cpuSeconds > 0);
    // 20% of one core over ~1 s is ~0.2 s; unthrottled it would be ~1 s. Loose on purpose.
    assert.ok(result.cpuSeconds < 0.6, `cpuSeconds ${result.cpuSeconds} stays near the quota`);
  });

  it("contains a fork bomb under pids, and kills all of it at the timeout", async () => {
    const { result, stderr } = await runToEnd(
      {
        command: ["bash", "-c", "bomb() { bomb | bomb & }; bomb; sleep 100"],
        limits: { pids: 32 },
        timeoutMs: 1500,
      },
      { ...options("bomb"), stopGraceMs: 200 },
    );
    assert.equal(result.stoppedBy, "timeout");
    assert.match(stderr, /fork|resource temporarily unavailable/i);
    assert.deepEqual(result.leftovers, undefined, "every process was killed and the cgroup removed");
  });

  it("throttles I/O on the device backing the work dir", async () => {
    const proc = await startSandboxedProcess(
      { command: ["sleep", "5"], limits: { ioBps: 1024 * 1024 } },
      options("io"),
    );
    const dirs = proc.cgroupDirs;
    const rule = dirs.v2 === undefined
      ? readFileSync(join(dirs.blkio as string, "blkio.throttle.write_bps_device"), "utf8")
      : readFileSync(join(dirs.v2, "io.max"), "utf8");
    assert.match(rule, /^\d+:\d+ (wbps=)?1048576/m);
    assert.equal(proc.applied.ioBps?.value, 1024 * 1024);
    await proc.stop({ graceMs: 100 });
  });
});
