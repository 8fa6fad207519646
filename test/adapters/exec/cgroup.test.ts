/**
 * Cgroups: layout detection, v2 limit and stat files (against a stand-in
 * cgroupfs directory, since this host's v2 offers no controllers), and a real
 * job cgroup on this host: limits written, processes joined, killed, removed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { detectCgroupLayout, probeIsolation } from "../../../adapters/exec/mod.ts";
import { JobCgroup } from "../../../adapters/exec/cgroup.ts";
import { readCgroupStats } from "../../../adapters/exec/cgroup-stats.ts";
import { deviceNumber } from "../../../adapters/exec/block-device.ts";
import { buildJoinCommand } from "../../../adapters/exec/join-command.ts";
import { requireSandboxHost } from "./sandbox-host.ts";

function fakeFs(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "troupe-cgroupfs-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("detectCgroupLayout()", () => {
  const roots: string[] = [];
  after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
  const fake = (files: Record<string, string>) => {
    const root = fakeFs(files);
    roots.push(root);
    return root;
  };

  it("finds a unified v2 hierarchy and the controllers it offers", () => {
    const root = fake({ "cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma\n" });
    assert.deepEqual(detectCgroupLayout({ root }), {
      version: "v2",
      root,
      controllers: ["cpu", "memory", "io", "pids"],
    });
  });

  it("prefers v1 hierarchies on a hybrid host whose v2 offers none of the controllers", () => {
    const root = fake({
      "unified/cgroup.controllers": "hugetlb\n",
      "memory/cgroup.procs": "",
      "pids/cgroup.procs": "",
    });
    assert.deepEqual(detectCgroupLayout({ root }), {
      version: "v1",
      root,
      hierarchies: { memory: join(root, "memory"), pids: join(root, "pids") },
    });
  });

  it("says why when there are no cgroups", () => {
    const layout = detectCgroupLayout({ root: fake({ "unified/cgroup.controllers": "" }) });
    assert.equal(layout.version, "none");
    assert.match(layout.version === "none" ? layout.reason : "", /^No usable cgroup controllers under ".+"/);
  });
});

describe("JobCgroup on cgroup v2", () => {
  it("enables controllers down the tree and writes cpu.max, memory.max, memory.swap.max, io.max and pids.max", () => {
    const root = fakeFs({
      "cgroup.controllers": "cpu io memory pids\n",
      "troupe/j1/memory.swap.max": "max\n",
    });
    try {
      const layout = detectCgroupLayout({ root });
      const cgroup = JobCgroup.create({
        layout,
        name: "j1",
        limits: { cpuPercent: 150, memoryMB: 64, ioBps: 2048000, pids: 10 },
        ioDevice: "8:0",
      });
      const dir = join(root, "troupe", "j1");
      const read = (file: string) => readFileSync(join(dir, file), "utf8");
      assert.deepEqual([
        read("cpu.max"),
        read("memory.max"),
        read("memory.swap.max"),
        read("io.max"),
        read("pids.max"),
      ], [
        "150000 100000",
        String(64 * 1024 * 1024),
        "0",
        "8:0 rbps=2048000 wbps=2048000",
        "10",
      ]);
      assert.equal(
        readFileSync(join(root, "troupe", "cgroup.subtree_control"), "utf8"),
        "+pids",
        "controllers enabled one by one",
      );
      assert.deepEqual(cgroup?.procsFiles, [join(dir, "cgroup.procs")]);
      assert.equal(cgroup?.applied.memoryMB?.via, "cgroup v2 memory.max and memory.swap.max 0");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses a limit whose controller v2 does not offer", () => {
    const root = fakeFs({ "cgroup.controllers": "cpu memory pids\n" });
    try {
      assert.throws(
        () =>
          JobCgroup.create({
            layout: detectCgroupLayout({ root }),
            name: "j2",
            limits: { ioBps: 4096 },
            ioDevice: "8:0",
          }),
        {
          code: "LIMIT_UNAVAILABLE",
          message: `Cannot enforce limit "ioBps": cgroup v2 at "${root}" does not offer the io controller`,
        },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads CPU time, peak memory and OOM kills from cpu.stat, memory.peak and memory.events", () => {
    const dir = fakeFs({
      "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\n",
      "memory.peak": "12345\n",
      "memory.events": "low 0\nmax 3\noom 1\noom_kill 1\n",
    });
    try {
      assert.deepEqual(readCgroupStats({ v2: dir }), {
        cpuSeconds: 1.5,
        peakMemoryBytes: 12345,
        oomKilled: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("readCgroupStats() on v1", () => {
  it("reads v1 stats from cpuacct.usage, memory.max_usage_in_bytes and memory.oom_control", () => {
    const dir = fakeFs({
      "cpuacct/cpuacct.usage": "2500000000\n",
      "memory/memory.max_usage_in_bytes": "4096\n",
      "memory/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
      "memory/memory.failcnt": "5\n",
    });
    try {
      assert.deepEqual(readCgroupStats({ cpuacct: join(dir, "cpuacct"), memory: join(dir, "memory") }), {
        cpuSeconds: 2.5,
        peakMemoryBytes: 4096,
        oomKilled: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("JobCgroup on this host", () => {
  before(() => requireSandboxHost());

  it("joins a process tree, kills every process of it, and removes its directories", async () => {
    const name = `cg-${process.pid}`;
    const cgroup = JobCgroup.create({
      layout: detectCgroupLayout(),
      name,
      limits: { pids: 64, memoryMB: 256 },
    });
    assert.ok(cgroup !== undefined);
    const { file, args } = buildJoinCommand({
      procsFiles: cgroup.procsFiles,
      argv: ["sh", "-c", "for i in 1 2 3 4 5; do sleep 100 & done; wait"],
      closeInheritedFds: false,
    });
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "ignore", "pipe"], detached: true });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    for (let i = 0; i < 100 && cgroup.pids().length < 6; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cgroup.pids().length, 6);
    assert.equal(await cgroup.killAll(), true);
    assert.deepEqual(cgroup.pids(), []);
    await exited;
    assert.equal(await cgroup.remove(), true);
    assert.ok(Object.values(cgroup.dirs).every((dir) => !existsSync(dir as string)));
  });

  it("probeIsolation() reports bubblewrap, the cgroup version and each limit", async () => {
    const report = await probeIsolation({ workRoot: tmpdir() });
    assert.equal(report.bwrap.usable, true);
    assert.match(report.bwrap.version ?? "", /^\d+\.\d+/);
    assert.ok(report.cgroup.version === "v1" || report.cgroup.version === "v2");
    for (const limit of ["cpuPercent", "memoryMB", "pids"] as const) {
      assert.match(report.limits[limit].via ?? "", /^cgroup v[12] /);
    }
  });

  it("deviceNumber() splits a dev_t like glibc", () => {
    assert.equal(deviceNumber(65024n), "254:0");
    assert.equal(deviceNumber(0x10301n), "259:1");
    assert.equal(deviceNumber(1050668n), "8:300");
  });
});
