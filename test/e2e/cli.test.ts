/**
 * The README's first command, end to end: `troupe start` (embedded default) in a
 * child process, then the CLI against its HTTP API, then SIGTERM.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort, runCli, startCli } from "../support/cli.ts";
import { waitFor } from "../support/wait.ts";
import { rawRequest } from "../support/gateway.ts";

describe("troupe CLI against `troupe start` (embedded default)", () => {
  let server: ReturnType<typeof startCli>;
  let env: Record<string, string>;
  let dir: string;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "troupe-e2e-"));
    port = await freePort();
    // No TROUPE_TOKEN and no TROUPE_API_TOKENS: the CLI finds the admin token file itself.
    env = {
      TROUPE_DATA_DIR: dir,
      PORT: String(port),
      TROUPE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: "info",
      NATS_URL: "",
      DATABASE_URL: "",
      TROUPE_TOKEN: "",
      TROUPE_API_TOKENS: "",
    };
    server = startCli(["start"], env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
      timeoutMs: 60_000,
      what: "troupe start to listen",
    });
  });

  after(async () => {
    if (server.exitCode === null) {
      server.kill("SIGKILL");
      await exited(server).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("start keeps an admin token in <data dir>/admin-token (0600), prints where and a curl line, never the token", async () => {
    const file = join(dir, "admin-token");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const token = readFileSync(file, "utf8").trim();
    assert.match(token, /^[A-Za-z0-9_-]{43,}$/);
    await waitFor(() => server.output().includes("curl -H"), { what: "the start banner" });
    assert.ok(server.output().includes(`Admin token created in ${file}`), server.output());
    assert.ok(
      server.output().includes(
        `curl -H "Authorization: Bearer $(cat ${file})" -H 'Content-Type: application/json' http://localhost:${port}/jobs/noop -d '{}'`,
      ),
    );
    assert.ok(!server.output().includes(token), "the token itself is never printed");
    assert.equal((await rawRequest(port, { path: "/jobs" })).status, 401);
    assert.equal(
      (await rawRequest(port, { path: "/jobs", headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );
  });

  it("refuses the issue 11 probe (foreign Host and Origin, text/plain exec) and runs nothing", async () => {
    const probe = await rawRequest(port, {
      method: "POST",
      path: "/jobs/exec",
      body: '{"command":["id"]}',
      headers: { origin: "https://evil.example", host: "rebind.evil.example", "content-type": "text/plain" },
    });
    assert.equal(probe.status, 421, probe.body);
    assert.match(probe.body, /rebind\.evil\.example/);
    const token = readFileSync(join(dir, "admin-token"), "utf8").trim();
    const crossOrigin = await rawRequest(port, {
      method: "POST",
      path: "/jobs/exec",
      body: '{"command":["id"]}',
      headers: {
        authorization: `Bearer ${token}`,
        origin: "https://evil.example",
        "content-type": "application/json",
      },
    });
    assert.equal(crossOrigin.status, 403, crossOrigin.body);
    const plain = await rawRequest(port, {
      method: "POST",
      path: "/jobs/exec",
      body: '{"command":["id"]}',
      headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
    });
    assert.equal(plain.status, 415, plain.body);
    const listed = await runCli(["list", "--kind", "exec", "--json"], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).jobs, []);
  });

  it("without TROUPE_TOKEN or a readable token file the CLI is refused and says where a token comes from", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "troupe-e2e-other-"));
    try {
      const r = await runCli(["list"], { ...env, TROUPE_DATA_DIR: elsewhere });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bearer token is required.*TROUPE_TOKEN.*admin-token/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
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
    assert.deepEqual(r.stdout.trim().split("\n").map((line) => line.split(/\s+/)[1]), [
      "pending",
      "locked",
      "running",
      "success",
    ]);
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

  it("discovery-runs says so when there are none, like the other listings", async () => {
    const runs = await runCli(["discovery-runs"], env);
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(runs.stdout.trim(), "No discovery runs");
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

  it("a second start on the same data folder reuses the admin token file", async () => {
    const file = join(dir, "admin-token");
    const token = readFileSync(file, "utf8").trim();
    server = startCli(["start"], env);
    await waitFor(() => server.output().includes("curl -H"), {
      timeoutMs: 60_000,
      what: "the second start's banner",
    });
    assert.ok(server.output().includes(`Admin token read from ${file}`), server.output());
    assert.equal(readFileSync(file, "utf8").trim(), token);
    const r = await runCli(["status", "cli-ok"], env);
    assert.equal(r.code, 0, r.stderr);
  });
});
