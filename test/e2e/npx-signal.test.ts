/**
 * `npx troupe start` under a supervisor: npx runs troupe as its grandchild
 * (npm → sh → node), so a SIGTERM to npx alone used to leave the server running
 * with parent 1, holding its port. The server now notices its npm parent going
 * and shuts down.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { exited, freePort } from "../support/cli.ts";
import { waitFor } from "../support/wait.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("npx troupe start", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-npx-"));
  let npx: ChildProcess | undefined;
  after(() => {
    if (npx && npx.exitCode === null) npx.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops listening when npx alone receives SIGTERM", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: Record<string, string | undefined> = {
      ...process.env,
      TROUPE_DATA_DIR: dir,
      PORT: String(port),
      NATS_URL: "",
      DATABASE_URL: "",
      LOG_LEVEL: "info",
    };
    npx = spawn("npx", ["--no-install", "troupe", "start"], { cwd: root, env, stdio: "ignore" });
    await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 120_000,
      what: "troupe start under npx to listen",
    });
    npx.kill("SIGTERM");
    await exited(npx);
    const state = () => fetch(`${base}/healthz`).then(() => "listening", () => "stopped");
    await waitFor(async () => (await state()) === "stopped", {
      timeoutMs: 15_000,
      what: "the server under npx to stop listening after npx got SIGTERM",
    });
    assert.equal(await state(), "stopped");
  });
});
