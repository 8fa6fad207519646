/**
 * The README's first command, end to end: `troupe start` (embedded default) in a
 * child process, then the CLI against its HTTP API, then SIGTERM.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort, runCli, startCli } from "../support/cli.ts";
import { waitFor } from "../support/wait.ts";

describe("troupe CLI against `troupe start` (embedded default)", () => {
  let server: ReturnType<typeof startCli>;
  let env: Record<string, string>;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "troupe-e2e-"));
    const port = await freePort();
    env = { TROUPE_DATA_DIR: dir, PORT: String(port), TROUPE_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: "info", NATS_URL: "", DATABASE_URL: "" };
    server = startCli(["start"], env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, { timeoutMs: 60_000, what: "troupe start to listen" });
  });

  after(async () => {
    if (server.exitCode === null) {
      server.kill("SIGKILL");
      await exited(server).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("submit --wait follows a job to success and exits 0", async () => {
    const r = await runCli(["submit", "noop", '{"sleepMs":20}', "--id", "cli-ok", "--wait"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /running/);
    assert.match(r.stdout, /success/);
  });

  it("submit --wait exits 1 when the job fails", async () => {
    const r = await runCli(["submit", "noop", '{"failTimes":1,"failWith":"permanent"}', "--wait"], env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /failed/);
  });

  it("status prints the job; an unknown id exits 3", async () => {
    const ok = await runCli(["status", "cli-ok"], env);
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.stdout).status, "success");
    const missing = await runCli(["status", "no-such-job"], env);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /not found/);
  });

  it("watch prints a finished job's history and exits 0 for success", async () => {
    const r = await runCli(["watch", "cli-ok"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").map((line) => line.split(/\s+/)[1]), ["pending", "locked", "running", "success"]);
  });

  it("cancel cancels a job that has not run yet, and refuses an ended one", async () => {
    const later = new Date(Date.now() + 60_000).toISOString();
    const submitted = await runCli(["submit", "noop", "{}", "--id", "cli-later", "--run-at", later], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const r = await runCli(["cancel", "cli-later"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cli-later cancelled/);
    const again = await runCli(["cancel", "cli-later"], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already cancelled/);
  });

  it("list filters by status", async () => {
    const r = await runCli(["list", "--status", "success", "--json"], env);
    assert.equal(r.code, 0);
    const page = JSON.parse(r.stdout) as { jobs: { id: string; status: string }[] };
    assert.ok(page.jobs.some((j) => j.id === "cli-ok"));
    assert.ok(page.jobs.every((j) => j.status === "success"));
  });

  it("bad input exits 2 with a clear message", async () => {
    const r = await runCli(["submit", "noop", "{not json"], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid JSON for payload/);
    const unknown = await runCli(["submit", "no.such.kind", "{}"], env);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /Unknown kind/);
  });

  it("an unreachable API exits 4 and says where it looked", async () => {
    const port = await freePort();
    const r = await runCli(["status", "x"], { ...env, TROUPE_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /Cannot reach the Troupe API/);
  });

  it("a bad variable stops the CLI at start, naming it (exit 5)", async () => {
    const r = await runCli(["status", "x"], { ...env, PORT: "not-a-port" });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /PORT/);
  });

  it("SIGTERM stops `troupe start` cleanly", async () => {
    server.kill("SIGTERM");
    const code = await exited(server);
    assert.match(server.output(), /Stopped/);
    // Deno's child_process reports the signal instead of the exit code of a child that handled it.
    if (!("Deno" in globalThis)) assert.equal(code, 0, server.output());
  });
});
