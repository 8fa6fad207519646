/**
 * An agent on a host without bubblewrap says what it can really do (issue 14):
 * `troupe agent` in a process of its own, in a mount namespace where every
 * `bwrap` it could find is a non-executable file, over real NATS and
 * PostgreSQL. Its log says it refuses commands and gives advice that exists
 * (`troupe agent --no-isolation`, `TROUPE_AGENT_ISOLATION=false` for `troupe
 * start`, which has no such flag), `troupe agents` shows the isolation as
 * unavailable, and an exec job sent to it fails at once with that advice.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { spawn } from "node:child_process";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { cliArgv, exited, runCli } from "../../support/cli.ts";
import { waitFor } from "../../support/wait.ts";

const root = new URL("../../..", import.meta.url).pathname;

describe("an agent on a host without bubblewrap", () => {
  let core: Core;
  let system: RunningSystem;
  let env: Record<string, string>;
  let dir: string;
  let agent: ReturnType<typeof spawn> | undefined;
  let output = "";

  before(async () => {
    assert.equal(process.getuid?.(), 0, "hiding bubblewrap needs root (a mount namespace), as CI has");
    env = { ...(await backendEnv("nats+postgres")).env, LOG_LEVEL: "info" };
    dir = mkdtempSync(join(tmpdir(), "troupe-no-bwrap-"));
    core = await openTestCore(env);
    system = await startSystem(core, { worker: true });
    // Every place the agent looks for bwrap (PATH, then the system directories) holds a file it cannot run.
    const empty = join(dir, "not-bwrap");
    writeFileSync(empty, "", { mode: 0o644 });
    const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
    const masks = [...new Set(dirs.filter(Boolean).map((d) => join(d, "bwrap")).filter((p) => existsSync(p)))]
      .map((p) => `mount --bind '${empty}' '${p}'`);
    const [cmd, argv] = cliArgv(["agent", "--name", "no-bwrap", "--work-root", join(dir, "work")]);
    agent = spawn(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        `${masks.join(" && ") || "true"} && exec "$@"`,
        "sh",
        cmd,
        ...argv,
      ],
      { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    agent.stdout!.on("data", (d) => (output += d));
    agent.stderr!.on("data", (d) => (output += d));
    await waitFor(() => core.agents.isAlive("no-bwrap"), {
      timeoutMs: 60_000,
      what: `the agent's heartbeat (${output})`,
    });
  });
  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill("SIGTERM");
      await exited(agent).catch(() => agent?.kill("SIGKILL"));
    }
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("its log says it refuses commands, with advice that exists, and never that it is ready with isolation", async () => {
    await waitFor(() => /refusing commands: no sandbox/.test(output), { what: "the agent's start line" });
    assert.match(output, /Isolation is unavailable on agent \\"no-bwrap\\"/);
    assert.match(output, /`troupe agent --no-isolation`, or TROUPE_AGENT_ISOLATION=false for `troupe start`/);
    assert.doesNotMatch(output, /troupe start --no-isolation/);
    assert.doesNotMatch(output, /"isolation":"bwrap"/);
    assert.doesNotMatch(output, /Agent \\"no-bwrap\\" ready/);
  });

  it("`troupe agents` shows its isolation as unavailable", async () => {
    const r = await runCli(["agents"], env);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.startsWith("no-bwrap "));
    assert.match(line ?? "", /isolation=unavailable\(refuses-jobs\)/, r.stdout);
  });

  it("an exec job sent to it fails at once with ISOLATION_UNAVAILABLE and the same advice", async () => {
    const { id } = await core.jobs.submit({
      kind: "exec",
      payload: { agent: "no-bwrap", command: ["true"] },
    });
    const job = await waitFor(async () => {
      const row = await core.store.getJob(id);
      return row && ["success", "failed", "cancelled"].includes(row.status) ? row : undefined;
    }, { timeoutMs: 30_000, what: "the job to end" });
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1, "refused for good, not retried");
    const error = job.lastError as { code: string; message: string };
    assert.equal(error.code, "ISOLATION_UNAVAILABLE");
    assert.match(error.message, /TROUPE_AGENT_ISOLATION=false for `troupe start`/);
    assert.doesNotMatch(error.message, /troupe start --no-isolation/);
  });
});
