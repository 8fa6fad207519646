/**
 * A sandboxed command's life: stop (SIGTERM, SIGKILL after the grace), timeout,
 * abort, output capped and numbered, cleanup of its cgroup and root, running
 * without isolation, and clear refusals of what cannot be enforced.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startSandboxedProcess } from "../../../adapters/exec/mod.ts";
import type { OutputTruncation } from "../../../adapters/exec/mod.ts";
import { jobId, makeWorkRoot, requireSandboxHost, runToEnd } from "./sandbox-host.ts";

describe("startSandboxedProcess() lifecycle", () => {
  const workRoot = makeWorkRoot();
  before(() => requireSandboxHost());
  after(() => workRoot.remove());
  const options = (prefix: string) => ({ jobId: jobId(prefix), workRoot: workRoot.path });

  it("stop() ends a command that honours SIGTERM at once, and removes its cgroup and root", async () => {
    const proc = await startSandboxedProcess(
      { command: ["sleep", "100"], limits: { pids: 16 } },
      options("term"),
    );
    const dirs = Object.values(proc.cgroupDirs) as string[];
    assert.ok(dirs.length > 0 && dirs.every((dir) => existsSync(dir)));
    assert.ok(existsSync(proc.jobRoot.root));
    const result = await proc.stop({ graceMs: 10_000 });
    assert.equal(result.stoppedBy, "stop");
    assert.equal(result.exitCode, 128 + 15, "SIGTERM, as bwrap reports it");
    assert.ok(result.durationMs < 5000, `ended at SIGTERM, not after the grace (${result.durationMs} ms)`);
    assert.ok(dirs.every((dir) => !existsSync(dir)), "cgroup removed");
    assert.equal(existsSync(proc.jobRoot.root), false, "root removed");
  });

  it("stop() SIGKILLs a command that ignores SIGTERM once the grace is over", async () => {
    let out = "";
    const proc = await startSandboxedProcess(
      { command: ["sh", "-c", "trap '' TERM; echo ready; sleep 100"] },
      { ...options("kill"), onOutput: (chunk) => (out += new TextDecoder().decode(chunk.data)) },
    );
    // Its trap must be set first: a SIGTERM before it ends the shell (the sandbox may still be starting).
    for (let i = 0; i < 200 && !out.includes("ready"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const result = await proc.stop({ graceMs: 300 });
    assert.equal(result.stoppedBy, "stop");
    assert.equal(result.signal, "SIGKILL");
    assert.ok(result.durationMs >= 300, `waited the grace (${result.durationMs} ms)`);
    assert.deepEqual(proc.pids(), []);
    assert.equal(existsSync(proc.jobRoot.root), false);
  });

  it("ends a command at its timeout with stoppedBy timeout", async () => {
    const { result } = await runToEnd({ command: ["sleep", "100"], timeoutMs: 200 }, options("timeout"));
    assert.equal(result.stoppedBy, "timeout");
    assert.notEqual(result.exitCode, 0);
  });

  it("stops a command when its abort signal fires", async () => {
    const controller = new AbortController();
    const proc = await startSandboxedProcess({ command: ["sleep", "100"] }, {
      ...options("abort"),
      signal: controller.signal,
    });
    controller.abort();
    const result = await proc.result;
    assert.equal(result.stoppedBy, "stop");
  });

  it("reports a normal exit code, output in order and no stoppedBy", async () => {
    const { result, stdout, stderr } = await runToEnd({
      command: ["sh", "-c", "echo out; echo err >&2; exit 3"],
    }, options("exit"));
    assert.deepEqual([result.exitCode, result.signal, result.stoppedBy, stdout, stderr], [
      3,
      null,
      undefined,
      "out\n",
      "err\n",
    ]);
    assert.ok(result.cpuSeconds !== null && result.cpuSeconds >= 0);
  });

  it("caps an output flood at maxOutputBytes, keeps draining, numbers chunks without gaps", async () => {
    const truncations: OutputTruncation[] = [];
    const { result, chunks } = await runToEnd(
      { command: ["sh", "-c", "head -c 20000000 /dev/zero; echo done >&2"] },
      { ...options("flood"), maxOutputBytes: 1_000_000, onTruncated: (t) => truncations.push(t) },
    );
    assert.equal(result.exitCode, 0, "the command never blocked on a full pipe");
    assert.deepEqual(chunks.map((c) => c.seq), chunks.map((_, i) => i));
    assert.equal(chunks.reduce((n, c) => n + c.data.byteLength, 0), 1_000_000);
    assert.equal(result.outputTruncated, true);
    assert.equal(result.outputBytes, 20_000_005);
    assert.equal(result.droppedBytes, 19_000_005);
    assert.deepEqual(truncations, [{ lastSeq: chunks.length - 1, limitBytes: 1_000_000 }]);
  });

  it("runs without bubblewrap when isolation is false, still in its cgroup", async () => {
    const id = jobId("noiso");
    const { result, stdout } = await runToEnd(
      { command: ["sh", "-c", "pwd; cat /proc/self/cgroup; echo $HOME"], limits: { memoryMB: 64 } },
      { jobId: id, workRoot: workRoot.path, isolation: false, bwrapPath: "/nonexistent/bwrap" },
    );
    assert.equal(result.exitCode, 0);
    const [pwd, ...rest] = stdout.trim().split("\n");
    assert.equal(pwd, join(workRoot.path, id, "work"));
    assert.ok(rest.some((line) => line.includes(":memory:") && line.endsWith(`/troupe/${id}`)));
    assert.equal(rest.at(-1), join(workRoot.path, id, "home"));
  });

  it("refuses isolation when bubblewrap is missing, saying why", async () => {
    const id = jobId("nobwrap");
    await assert.rejects(
      startSandboxedProcess({ command: ["true"] }, {
        jobId: id,
        workRoot: workRoot.path,
        bwrapPath: "/nonexistent/bwrap",
      }),
      {
        name: "PermanentError",
        code: "ISOLATION_UNAVAILABLE",
        message: /Cannot isolate job ".+": bwrap fails its self-check/,
      },
    );
    assert.equal(existsSync(join(workRoot.path, id)), false);
  });

  it("refuses a limit whose controller the host lacks, and runs without limits there", async () => {
    const fake = mkdtempSync(join(workRoot.path, "cgroupfs-"));
    mkdirSync(join(fake, "memory"));
    writeFileSync(join(fake, "memory", "cgroup.procs"), "");
    try {
      await assert.rejects(
        startSandboxedProcess({ command: ["true"], limits: { pids: 8 } }, {
          ...options("nopids"),
          cgroupRoot: fake,
        }),
        {
          code: "LIMIT_UNAVAILABLE",
          message: /^Cannot enforce limit "pids": no cgroup v1 pids hierarchy under ".+"$/,
        },
      );
      await assert.rejects(
        startSandboxedProcess({ command: ["true"], limits: { memoryMB: 64 } }, {
          ...options("nocg"),
          cgroupRoot: join(fake, "absent"),
        }),
        {
          code: "LIMIT_UNAVAILABLE",
          message: /^Cannot enforce limit "memoryMB": No cgroup filesystem at ".+absent"$/,
        },
      );
      const { result } = await runToEnd({ command: ["true"] }, {
        ...options("nolimits"),
        cgroupRoot: join(fake, "absent"),
      });
      assert.deepEqual([result.exitCode, result.applied, result.cpuSeconds], [0, {}, null]);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it("refuses an I/O limit when the work dir is on no block device", async () => {
    const shm = mkdtempSync("/dev/shm/troupe-exec-test-");
    try {
      chmodSync(shm, 0o711);
      await assert.rejects(
        startSandboxedProcess({ command: ["true"], limits: { ioBps: 1 << 20 } }, {
          jobId: jobId("io"),
          workRoot: shm,
        }),
        { code: "LIMIT_UNAVAILABLE", message: /"ioBps": the work dir is not on a block device/ },
      );
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it("refuses a work root the sandbox uid cannot reach, naming no host path (job results show the message)", async () => {
    const closed = mkdtempSync(join(workRoot.path, "closed-"));
    chmodSync(closed, 0o700);
    const refusal = await startSandboxedProcess({ command: ["true"] }, {
      jobId: jobId("reach"),
      workRoot: closed,
    }).then(
      () => assert.fail("it started"),
      (error: Error & { code?: string }) => error,
    );
    assert.equal(refusal.code, "ISOLATION_UNAVAILABLE");
    assert.match(
      refusal.message,
      /^The agent's work root is out of reach of the sandbox uid 65534: a directory above it is not searchable by others/,
    );
    assert.ok(!refusal.message.includes(workRoot.path) && !refusal.message.includes("/tmp"), refusal.message);
  });

  it("refuses to start a job id that is still running, leaving the running one alone", async () => {
    const id = jobId("twice");
    const first = await startSandboxedProcess({ command: ["sleep", "100"], limits: { pids: 8 } }, {
      jobId: id,
      workRoot: workRoot.path,
    });
    await assert.rejects(
      startSandboxedProcess({ command: ["true"], limits: { pids: 1000 } }, {
        jobId: id,
        workRoot: workRoot.path,
      }),
      {
        code: "CONFLICT",
        message: new RegExp(`^Job "${id}" is already running in cgroup ".+/troupe/${id}"$`),
      },
    );
    assert.ok(first.pids().length > 0);
    assert.ok(existsSync(first.jobRoot.work));
    assert.equal(
      readFileSync(join(first.cgroupDirs.pids ?? first.cgroupDirs.v2 ?? "", "pids.max"), "utf8").trim(),
      "8",
    );
    await first.stop({ graceMs: 100 });
  });

  it("refuses a job id that cannot name a directory", async () => {
    await assert.rejects(
      startSandboxedProcess({ command: ["true"] }, { jobId: "../escape", workRoot: workRoot.path }),
      { name: "ValidationError", field: "jobId" },
    );
  });
});
