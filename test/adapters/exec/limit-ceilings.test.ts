/**
 * An agent's ceilings on job limits: what a job gets when it asks nothing, the
 * lower limits it may ask, the refusal of a higher one; enforced under real
 * bubblewrap and cgroups (pids and memory in the job's cgroup files, disk as
 * sized tmpfs directories that fill up instead of the host's disk).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { applyLimitCeilings, startSandboxedProcess } from "../../../adapters/exec/mod.ts";
import { jobId, makeWorkRoot, requireSandboxHost, runToEnd } from "./sandbox-host.ts";

const mib = 1024 * 1024;

describe("applyLimitCeilings()", () => {
  const ceilings = { pids: 512, memoryMB: 1024, diskMB: 512 };

  it("gives a job that asks nothing the agent's ceilings", () => {
    assert.deepEqual(applyLimitCeilings({}, ceilings, { isolated: true }), {
      pids: 512,
      memoryMB: 1024,
      diskMB: 512,
    });
  });

  it("keeps a job's lower limits and its limits without a ceiling", () => {
    assert.deepEqual(applyLimitCeilings({ pids: 32, cpuPercent: 50 }, ceilings, { isolated: true }), {
      pids: 32,
      cpuPercent: 50,
      memoryMB: 1024,
      diskMB: 512,
    });
    assert.deepEqual(applyLimitCeilings({ pids: 100_000 }, { pids: 0 }, { isolated: true }), {
      pids: 100_000,
    });
  });

  it("refuses a limit above the ceiling, naming the limit, the maximum and the agent's setting", () => {
    assert.throws(() => applyLimitCeilings({ memoryMB: 4096 }, ceilings, { isolated: true }), {
      name: "PermanentError",
      code: "LIMIT_OVER_MAXIMUM",
      message:
        `Limit "memoryMB" of 4096 is over this agent's maximum of 1024 (TROUPE_AGENT_MAX_MEMORY_MB): ask for 1024 or less`,
    });
    assert.throws(() => applyLimitCeilings({ pids: 513 }, ceilings, { isolated: true }), {
      code: "LIMIT_OVER_MAXIMUM",
      message: /"pids" of 513 .* maximum of 512/,
    });
  });

  it("without a sandbox leaves out the disk ceiling and refuses a disk limit it cannot enforce", () => {
    assert.deepEqual(applyLimitCeilings({}, ceilings, { isolated: false }), { pids: 512, memoryMB: 1024 });
    assert.throws(() => applyLimitCeilings({ diskMB: 10 }, ceilings, { isolated: false }), {
      code: "LIMIT_UNAVAILABLE",
      message: /"diskMB"/,
    });
  });
});

describe("startSandboxedProcess() under an agent's ceilings", () => {
  const workRoot = makeWorkRoot();
  before(() => requireSandboxHost());
  after(() => workRoot.remove());

  it("writes the default pids and memory ceilings into the job's cgroup when the job asks nothing", async () => {
    const proc = await startSandboxedProcess({ command: ["sleep", "5"], network: "none" }, {
      jobId: jobId("ceil"),
      workRoot: workRoot.path,
      maxLimits: { pids: 24, memoryMB: 96 },
    });
    try {
      assert.equal(proc.applied.pids?.value, 24);
      assert.equal(proc.applied.memoryMB?.value, 96);
      const dirs = proc.cgroupDirs;
      assert.equal(readFileSync(join(dirs.pids ?? dirs.v2 ?? "", "pids.max"), "utf8").trim(), "24");
      const memory = dirs.v2 === undefined
        ? join(dirs.memory ?? "", "memory.limit_in_bytes")
        : join(dirs.v2, "memory.max");
      assert.equal(Number(readFileSync(memory, "utf8")), 96 * mib);
    } finally {
      await proc.stop({ graceMs: 100 });
    }
  });

  it("lets a job lower a ceiling, and refuses one raising it before anything is made", async () => {
    const lower = await runToEnd({ command: ["true"], network: "none", limits: { pids: 16 } }, {
      jobId: jobId("ceil"),
      workRoot: workRoot.path,
      maxLimits: { pids: 24 },
    });
    assert.equal(lower.result.applied.pids?.value, 16);
    const id = jobId("ceil");
    await assert.rejects(
      startSandboxedProcess({ command: ["true"], limits: { memoryMB: 512 } }, {
        jobId: id,
        workRoot: workRoot.path,
        maxLimits: { memoryMB: 256 },
      }),
      {
        name: "PermanentError",
        code: "LIMIT_OVER_MAXIMUM",
        message: /^Limit "memoryMB" of 512 is over this agent's maximum of 256/,
      },
    );
    assert.ok(!readdirSync(workRoot.path).includes(id), "a refused job leaves no root behind");
  });

  it("bounds what a job writes to its disk ceiling: /work and /tmp fill up, nothing lands on the host", async () => {
    const script = [
      "head -c 16M /dev/zero > /work/big; echo work=$?",
      "stat -c %s /work/big",
      "head -c 16M /dev/zero > /tmp/big; echo tmp=$?",
      "stat -c %s /tmp/big",
      "mkdir -p /work/sub && echo made",
    ].join("; ");
    let hostFiles: string[] = [];
    const ran = await runToEnd({
      command: ["bash", "-c", `${script}; sleep 0.3`],
      network: "none",
      cwd: "deep/er",
    }, {
      jobId: jobId("disk"),
      workRoot: workRoot.path,
      maxLimits: { diskMB: 8, memoryMB: 128 },
      onStart: () => {
        setTimeout(() => {
          try {
            hostFiles = readdirSync(workRoot.path, { recursive: true }).map(String);
          } catch { /* ended */ }
        }, 150);
      },
    });
    assert.equal(ran.result.applied.diskMB?.value, 8);
    assert.equal(ran.result.oomKilled, false);
    const lines = ran.stdout.trim().split("\n");
    assert.equal(lines[0], "work=1");
    assert.ok(
      Number(lines[1]) <= 8 * mib && Number(lines[1]) > 0,
      `the file stopped at the limit: ${lines[1]}`,
    );
    assert.equal(lines[2], "tmp=1");
    assert.ok(Number(lines[3]) <= 8 * mib);
    assert.equal(lines[4], "made");
    assert.match(ran.stderr, /No space left on device/);
    assert.ok(
      !hostFiles.some((f) => f.endsWith("big")),
      `nothing written on the host: ${hostFiles.join(" ")}`,
    );
  });

  it("makes the cwd inside the sized /work", async () => {
    const { stdout } = await runToEnd({
      command: ["sh", "-c", "pwd; df -k . | tail -1"],
      network: "none",
      cwd: "a/b",
    }, {
      jobId: jobId("disk"),
      workRoot: workRoot.path,
      maxLimits: { diskMB: 4 },
    });
    const [pwd, df] = stdout.trim().split("\n");
    assert.equal(pwd, "/work/a/b");
    assert.match(df ?? "", /^tmpfs\s+4096\s/);
  });
});
