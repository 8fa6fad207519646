/**
 * Exec agents end to end: the `exec` kind through a real worker, an agent
 * running commands under real bubblewrap and cgroups, output on the logs
 * stream, cancel, re-attach after a worker goes away (stopped, or killed with
 * SIGKILL in a process of its own), agent loss.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { decodeLogChunk, type LogChunk } from "../../../bus/log-chunk.ts";
import type { JobRow } from "../../../adapters/postgres/store.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { exited, startCli } from "../../support/cli.ts";
import { waitFor } from "../../support/wait.ts";

describe("exec jobs on an agent (embedded, real sandbox)", () => {
  let core: Core;
  let system: RunningSystem;
  let workRoot: string;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    workRoot = mkdtempSync(join(tmpdir(), "troupe-agent-"));
    core = await openTestCore(made.env, {
      env: {
        TROUPE_AGENT_NAME: "a1",
        TROUPE_AGENT_LABELS: "zone=test,os=linux",
        TROUPE_AGENT_WORK_ROOT: workRoot,
        TROUPE_SHUTDOWN_GRACE_MS: "0",
      },
    });
    system = await startSystem(core, { worker: true, reconciler: true, agent: true });
    await waitFor(() => core.agents.isAlive("a1"), { what: "the agent's first heartbeat" });
  });
  after(async () => {
    await system?.stop();
    cleanup();
    rmSync(workRoot, { recursive: true, force: true });
  });

  const submit = async (payload: unknown, id?: string) =>
    (await core.jobs.submit({ kind: "exec", payload, ...(id ? { id } : {}) })).id;
  const final = (id: string, timeoutMs = 20_000) =>
    waitFor(async () => {
      const job = await core.store.getJob(id);
      return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
    }, { timeoutMs, what: `job ${id} to end` });
  const logsOf = async (id: string): Promise<LogChunk[]> => {
    const out: LogChunk[] = [];
    const sub = core.bus.watchLogs(id, "all");
    const timer = setTimeout(() => void sub.close(), 300);
    for await (const record of sub) out.push(decodeLogChunk(id, record.data));
    clearTimeout(timer);
    return out;
  };

  it("runs argv without a shell on the agent chosen by labels, records the outcome and streams the output", async () => {
    const id = await submit({
      labels: { zone: "test" },
      command: ["echo", "$(id)", "; rm -rf /", "`whoami`"],
    });
    const job = await final(id);
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    const result = job.result as { exitCode: number; agent: string; cpuSeconds: number | null };
    assert.equal(result.exitCode, 0);
    assert.equal(result.agent, "a1");
    const logs = await logsOf(id);
    assert.equal(logs.map((l) => l.text).join(""), "$(id) ; rm -rf / `whoami`\n");
    assert.deepEqual(logs.map((l) => l.seq), logs.map((_, i) => i + 1), "sequence numbers without gaps");
  });

  it("fails a command that exits non-zero, at once, saying the code", async () => {
    const job = await final(await submit({ agent: "a1", command: ["sh", "-c", "echo oops >&2; exit 3"] }));
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1);
    assert.equal((job.lastError as { code: string }).code, "EXIT_NONZERO");
    assert.match((job.lastError as { message: string }).message, /exited with code 3/);
  });

  it("fails a command the kernel OOM-kills under its memory limit", async () => {
    const job = await final(
      await submit({
        agent: "a1",
        command: ["bash", "-c", "set -o pipefail; head -c 200000000 /dev/zero | tail -n 1 | wc -c"],
        limits: { memoryMB: 64 },
      }),
    );
    assert.equal(job.status, "failed");
    assert.equal((job.lastError as { code: string }).code, "OOM_KILLED");
  });

  it("refuses an invalid command before anything runs, naming the field", async () => {
    await assert.rejects(submit({ agent: "a1", command: ["env"], env: { "A=B": "x" } }), /A=B/);
    await assert.rejects(submit({ agent: "a1", command: ["ls"], cwd: "../.." }), /leaves the work dir/);
  });

  it("cancel stops the command on the agent and the job ends cancelled", async () => {
    const id = await submit({ agent: "a1", command: ["sh", "-c", "echo up; sleep 30"] });
    await waitFor(async () => (await logsOf(id)).some((l) => l.text.includes("up")), {
      what: "the command to start",
    });
    await core.jobs.cancel(id);
    const job = await final(id);
    assert.equal(job.status, "cancelled");
    const status = await waitFor(async () => {
      const reply = JSON.parse(
        new TextDecoder().decode(
          await core.bus.request(
            core.bus.subjects.agent("a1", "status"),
            new TextEncoder().encode(JSON.stringify({ jobId: id })),
            { timeoutMs: 2000 },
          ),
        ),
      );
      return reply.state === "done" ? reply : undefined;
    }, { timeoutMs: 15_000, what: "the agent to report the command stopped" });
    assert.equal(status.outcome.stoppedBy, "stop");
  });

  it("the agent gives a job that asks nothing its default limits and refuses one asking past them", async () => {
    const job = await final(await submit({ agent: "a1", command: ["true"] }));
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    const result = job.result as { applied: Record<string, { value: number }>; network: string };
    assert.deepEqual([
      result.applied.pids?.value,
      result.applied.memoryMB?.value,
      result.applied.diskMB?.value,
    ], [512, 1024, 512]);
    assert.equal(result.network, "outbound");
    const over = await final(await submit({ agent: "a1", command: ["true"], limits: { memoryMB: 4096 } }));
    assert.equal(over.status, "failed");
    assert.equal(over.attempts, 1);
    assert.equal((over.lastError as { code: string }).code, "LIMIT_OVER_MAXIMUM");
    assert.match(
      (over.lastError as { message: string }).message,
      /Limit "memoryMB" of 4096 is over this agent's maximum of 1024/,
    );
  });

  it("the agent refuses host networking unless started with --host-network, and advertises the modes it offers", async () => {
    const job = await final(await submit({ agent: "a1", command: ["true"], network: "host" }));
    assert.equal(job.status, "failed");
    assert.equal((job.lastError as { code: string }).code, "NETWORK_UNAVAILABLE");
    assert.match((job.lastError as { message: string }).message, /does not allow: .*--host-network/);
    const a1 = core.agents.list().find((a) => a.name === "a1");
    const capabilities = a1?.capabilities as { network?: { modes: string[] }; maxLimits?: unknown };
    assert.deepEqual(capabilities.network?.modes, ["none", "outbound"]);
    assert.deepEqual(capabilities.maxLimits, { pids: 512, memoryMB: 1024, diskMB: 512 });
    const { Agent } = await import("../../../actors/agent/agent.ts");
    const open = new Agent({
      bus: core.bus,
      logger: core.logger,
      name: "a3",
      host: "test",
      workRoot,
      heartbeatMs: 200,
      hostNetwork: true,
      maxLimits: { pids: 64 },
    });
    await open.start();
    try {
      assert.deepEqual(open.capabilities?.network.modes, ["none", "outbound", "host"]);
      const host = await final(await submit({ agent: "a3", command: ["true"], network: "host" }));
      assert.equal(host.status, "success", JSON.stringify(host.lastError));
      assert.equal((host.result as { network: string }).network, "host");
      assert.equal((host.result as { applied: { pids: { value: number } } }).applied.pids.value, 64);
    } finally {
      await open.stop();
    }
  });

  it("an agent's own failure reaches the job without a host path (the work root stays in the agent's log)", async () => {
    const { Agent } = await import("../../../actors/agent/agent.ts");
    const root = mkdtempSync(join(tmpdir(), "troupe-agent-broken-"));
    const broken = new Agent({
      bus: core.bus,
      logger: core.logger,
      name: "a4",
      host: "test",
      workRoot: join(root, "jobs"),
      heartbeatMs: 200,
    });
    await broken.start();
    try {
      // The work root turns into a file: making a job's root there fails with a system error naming the path.
      rmSync(join(root, "jobs"), { recursive: true });
      writeFileSync(join(root, "jobs"), "");
      const id = await submit({ agent: "a4", command: ["true"] });
      const job = await waitFor(async () => {
        const row = await core.store.getJob(id);
        return row?.lastError ? row : undefined;
      }, { what: "the job's first failure" });
      const error = job.lastError as { code: string; message: string };
      assert.equal(error.code, "AGENT_ERROR");
      assert.match(error.message, /^Agent "a4" failed \(E[A-Z]+\): see its log$/);
      assert.ok(!error.message.includes(root), error.message);
      await core.jobs.cancel(id).catch(() => {});
    } finally {
      await broken.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("an agent that dies mid-run fails its job with AGENT_LOST", async () => {
    const { Agent } = await import("../../../actors/agent/agent.ts");
    const doomed = new Agent({
      bus: core.bus,
      logger: core.logger,
      name: "a2",
      host: "test",
      workRoot,
      heartbeatMs: 200,
    });
    await doomed.start();
    const id = await submit({ agent: "a2", command: ["sh", "-c", "echo up; sleep 30"] });
    await waitFor(async () => (await logsOf(id)).some((l) => l.text.includes("up")), {
      what: "the command to start",
    });
    await doomed.stop();
    const job = await final(id, 30_000);
    assert.equal(job.status, "failed");
    assert.equal((job.lastError as { code: string }).code, "AGENT_LOST");
    assert.match((job.lastError as { message: string }).message, /Agent "a2" stopped answering/);
  });

  it("a job whose worker goes away mid-run is re-attached by the next worker, never run twice", async () => {
    const id = await submit({ agent: "a1", command: ["sh", "-c", "echo start; sleep 2; echo end"] });
    await waitFor(async () => (await logsOf(id)).some((l) => l.text.includes("start")), {
      what: "the command to start",
    });
    await system.worker!.stop({ graceMs: 0 });
    const successor = await startSystem(core, { worker: true });
    try {
      const job: JobRow = await final(id);
      assert.equal(job.status, "success", JSON.stringify(job.lastError));
      const text = (await logsOf(id)).map((l) => l.text).join("");
      assert.equal(text, "start\nend\n", "one run: one start, one end");
    } finally {
      await successor.worker!.stop({ graceMs: 0 });
    }
  });
});

describe("exec jobs when the worker process is killed (NATS, PostgreSQL, a worker process)", () => {
  let core: Core;
  let env: Record<string, string>;
  let agent: import("../../../actors/agent/agent.ts").Agent;
  let dir: string;
  const workers: ReturnType<typeof startCli>[] = [];

  before(async () => {
    const made = await backendEnv("nats+postgres");
    env = {
      ...made.env,
      LOG_LEVEL: "info",
      // A lease (and JetStream ack wait) of 1.5 s: a killed worker's job is redelivered soon.
      TROUPE_LEASE_MS: "1500",
      TROUPE_RECONCILE_INTERVAL_MS: "500",
      TROUPE_RECONCILE_GRACE_MS: "3000",
    };
    dir = mkdtempSync(join(tmpdir(), "troupe-agent-crash-"));
    core = await openTestCore(env); // migrates the database and makes the streams
    const { Agent } = await import("../../../actors/agent/agent.ts");
    // Without a sandbox, so that the command can count its runs in a file of this host.
    agent = new Agent({
      bus: core.bus,
      logger: core.logger,
      name: "crash-a",
      host: "test",
      workRoot: join(dir, "work"),
      isolation: false,
      heartbeatMs: 200,
    });
    await agent.start();
  });
  after(async () => {
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill("SIGKILL");
        await exited(worker).catch(() => {});
      }
    }
    await agent?.stop();
    await core?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const worker = async (what: string) => {
    const child = startCli(["worker"], env);
    workers.push(child);
    await waitFor(() => /Worker started/.test(child.output()), { timeoutMs: 60_000, what });
    return child;
  };

  it("a job whose worker is killed with SIGKILL mid-run is taken over after its lease and re-attached: the command runs once", async () => {
    const first = await worker("the first worker to start");
    const runs = join(dir, "runs");
    const { id } = await core.jobs.submit({
      kind: "exec",
      payload: {
        agent: "crash-a",
        command: ["sh", "-c", `echo run >> ${runs}; echo start; sleep 10; echo end`],
      },
    });
    await waitFor(() => existsSync(runs), { timeoutMs: 30_000, what: "the command to start" });
    const before = await core.store.getJob(id);
    assert.equal(before?.status, "running");
    first.kill("SIGKILL");
    await exited(first);
    await worker("the successor to start");
    const taken = await waitFor(async () => {
      const row = await core.store.getJob(id);
      return row?.workerId && row.workerId !== before?.workerId ? row : undefined;
    }, { timeoutMs: 30_000, what: "the successor to take the job over" });
    assert.ok(["locked", "running"].includes(taken.status), taken.status);
    // Taken over while the command, left alone by the killed worker, still runs on the agent.
    const state = JSON.parse(
      new TextDecoder().decode(
        await core.bus.request(
          core.bus.subjects.agent("crash-a", "status"),
          new TextEncoder().encode(JSON.stringify({ jobId: id })),
          { timeoutMs: 2000 },
        ),
      ),
    );
    assert.equal(state.state, "running", JSON.stringify(state));
    const job: JobRow = await waitFor(async () => {
      const row = await core.store.getJob(id);
      return row && ["success", "failed", "cancelled"].includes(row.status) ? row : undefined;
    }, { timeoutMs: 60_000, what: "the successor to finish the job" });
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    assert.notEqual(job.workerId, before?.workerId, "another worker finished it");
    assert.equal(readFileSync(runs, "utf8"), "run\n", "the command ran exactly once");
    assert.equal((job.result as { exitCode: number }).exitCode, 0);
    const events = await core.store.jobEvents(id);
    assert.ok(
      events.some((e) =>
        e.status === "locked" && (e.data as { takeover?: boolean } | null)?.takeover === true
      ),
      `the successor took the job over: ${JSON.stringify(events.map((e) => [e.status, e.data]))}`,
    );
    assert.equal(events.filter((e) => e.status === "success").length, 1);
    const logs: string[] = [];
    const sub = core.bus.watchLogs(id, "all");
    const timer = setTimeout(() => void sub.close(), 500);
    for await (const record of sub) logs.push(decodeLogChunk(id, record.data).text);
    clearTimeout(timer);
    assert.equal(logs.join(""), "start\nend\n", "one run's output, whole");
  });
});
