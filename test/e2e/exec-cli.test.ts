/**
 * `troupe run`, `logs`, `agents` and `stop` against `troupe start` (embedded
 * default, with its local agent), as a newcomer would use them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort, runCli, startCli } from "../support/cli.ts";
import { waitFor } from "../support/wait.ts";

describe("troupe run against `troupe start`", () => {
  let server: ReturnType<typeof startCli>;
  let env: Record<string, string>;
  let dir: string;
  let workRoot: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "troupe-e2e-exec-"));
    workRoot = mkdtempSync(join(tmpdir(), "troupe-e2e-work-"));
    chmodSync(workRoot, 0o755);
    const port = await freePort();
    env = {
      TROUPE_DATA_DIR: dir,
      TROUPE_AGENT_WORK_ROOT: workRoot,
      PORT: String(port),
      TROUPE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: "warn",
      NATS_URL: "",
      DATABASE_URL: "",
      TROUPE_LEASE_MS: "3000",
    };
    server = startCli(["start"], env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
      timeoutMs: 60_000,
      what: "troupe start to listen",
    });
  });

  after(async () => {
    if (server.exitCode === null) server.kill("SIGTERM");
    await exited(server).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    rmSync(workRoot, { recursive: true, force: true });
  });

  it("follows the command's output and exits with its exit code", async () => {
    const r = await runCli([
      "run",
      "--max-memory",
      "64",
      "--env",
      "GREETING=hi there",
      "--",
      "sh",
      "-c",
      'echo "$GREETING"; echo err >&2; exit 7',
    ], env);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "hi there\n");
    assert.match(r.stderr, /^err$/m);
  });

  it("--detach prints the id; logs replays the output; agents lists the local agent", async () => {
    const r = await runCli(["run", "--detach", "--", "echo", "detached"], env);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const logs = await waitFor(async () => {
      const out = await runCli(["logs", "-f", id], env);
      return out.stdout.includes("detached") ? out : undefined;
    }, { timeoutMs: 20_000, what: "the detached command's output" });
    assert.equal(logs.code, 0);
    assert.equal(logs.stdout, "detached\n");
    const agents = await runCli(["agents"], env);
    assert.equal(agents.code, 0, agents.stderr);
    assert.match(agents.stdout, /^local\s+\S+\s+running=\d+ isolation=bwrap cgroup=v[12]/m);
  });

  it("stop cancels a running command; run then exits 130, and the job keeps the stopped command's outcome", async () => {
    const running = startCli(["run", "--", "sh", "-c", "echo up; sleep 60"], env);
    await waitFor(() => running.output().includes("up"), { timeoutMs: 20_000, what: "the command to start" });
    const list = await runCli(["list", "--kind", "exec", "--status", "running", "--json"], env);
    const id = (JSON.parse(list.stdout) as { jobs: { id: string }[] }).jobs[0]!.id;
    const stop = await runCli(["stop", id], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await exited(running, 30_000), 130);
    // The outcome arrives once the agent has stopped the command: the API answers it as a structured value.
    const job = await waitFor(async () => {
      const shown = await showJob(id);
      return shown.result ? shown : undefined;
    }, { timeoutMs: 30_000, what: "the cancelled job's outcome" });
    assert.equal(job.status, "cancelled");
    assert.equal((job.lastError as { code: string }).code, "CANCELLED");
    const outcome = job.result as Record<string, unknown>;
    assert.equal(outcome.stoppedBy, "stop");
    assert.equal(outcome.oomKilled, false);
    assert.ok(outcome.signal === "SIGTERM" || typeof outcome.exitCode === "number", JSON.stringify(outcome));
    assert.equal(typeof outcome.durationMs, "number");
    assert.ok("cpuSeconds" in outcome && "peakMemoryBytes" in outcome, JSON.stringify(outcome));
  });

  it("a failed command's exit code, signal, OOM flag and usage are the job's result in the API, not text", async () => {
    const r = await runCli(["run", "--detach", "--", "sh", "-c", "exit 7"], env);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const job = await waitFor(async () => {
      const shown = await showJob(id);
      return shown.status === "failed" ? shown : undefined;
    }, { timeoutMs: 20_000, what: "the command to fail" });
    const outcome = job.result as Record<string, unknown>;
    assert.deepEqual([outcome.exitCode, outcome.signal, outcome.oomKilled], [7, null, false]);
    assert.ok("cpuSeconds" in outcome && "peakMemoryBytes" in outcome, JSON.stringify(outcome));
    assert.deepEqual(job.lastError, {
      kind: "permanent",
      code: "EXIT_NONZERO",
      message: "Command exited with code 7",
    });
  });

  /** The job as `troupe status` shows it, over the HTTP API. */
  async function showJob(id: string): Promise<Record<string, unknown>> {
    const shown = await runCli(["status", id], env);
    assert.equal(shown.code, 0, shown.stderr);
    return JSON.parse(shown.stdout) as Record<string, unknown>;
  }

  it("a bad flag exits 2 naming it", async () => {
    const r = await runCli(["run", "--max-memory", "lots", "--", "true"], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-memory must be a positive integer/);
  });

  it("run --agent with a name no live agent has exits 3 at once, naming the live agents", async () => {
    await waitFor(async () => (await runCli(["agents"], env)).stdout.includes("local"), {
      what: "the local agent's heartbeat",
    });
    const r = await runCli(["run", "--agent", "nobody-here", "--", "true"], env);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /No agent named "nobody-here" is alive; live agents: "local"/);
    const listed = await runCli(["list", "--kind", "exec", "--json"], env);
    assert.doesNotMatch(listed.stdout, /nobody-here/, "no job was submitted");
  });
});
