/**
 * One process per data folder: the lock file, its takeover after a crash, and two
 * real `troupe start` processes on one folder (the second is refused, exit 5).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { lockDataDir } from "../../../actors/process/data-dir-lock.ts";
import { exited, freePort, runCli, startCli } from "../../support/cli.ts";
import { waitFor } from "../../support/wait.ts";

describe("data folder lock", () => {
  const root = mkdtempSync(join(tmpdir(), "troupe-lock-"));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("lockDataDir() writes the pid, and release() removes the file", async () => {
    const dir = join(root, "a");
    const lock = await lockDataDir(dir);
    assert.equal(readFileSync(join(dir, "troupe.lock"), "utf8").split("\n")[0], String(process.pid));
    await lock.release();
    assert.equal(existsSync(join(dir, "troupe.lock")), false);
  });

  it("lockDataDir() takes over a lock whose process is gone", async () => {
    const dir = join(root, "b");
    const gone = spawn(process.execPath, ["--version"], { stdio: "ignore" });
    await exited(gone);
    await lockDataDir(join(dir)).then((l) => l.release());
    writeFileSync(join(dir, "troupe.lock"), `${gone.pid}\nold\n`);
    const lock = await lockDataDir(dir);
    assert.equal(readFileSync(lock.path, "utf8").split("\n")[0], String(process.pid));
    await lock.release();
  });

  it("lockDataDir() refuses a lock held by a live process, naming the folder and the pid", async () => {
    const dir = join(root, "c");
    const holder = spawn(
      process.execPath,
      isDeno() ? ["eval", "setTimeout(() => {}, 60000)"] : ["-e", "setTimeout(() => {}, 60000)"],
      {
        stdio: "ignore",
      },
    );
    try {
      await lockDataDir(dir).then((l) => l.release());
      writeFileSync(join(dir, "troupe.lock"), `${holder.pid}\nother\n`);
      await assert.rejects(lockDataDir(dir), (error: Error) => {
        assert.equal(error.name, "ConfigError");
        assert.match(
          error.message,
          new RegExp(
            `^Data folder ".*/c" is in use by process ${holder.pid}: one process per TROUPE_DATA_DIR`,
          ),
        );
        return true;
      });
    } finally {
      holder.kill("SIGKILL");
      await exited(holder);
    }
  });

  it("a second troupe start on the same folder exits 5 naming the holder; after a kill -9 the next one starts", async () => {
    const dir = join(root, "d");
    const env = (port: number) => ({
      TROUPE_DATA_DIR: dir,
      PORT: String(port),
      NATS_URL: "",
      DATABASE_URL: "",
      LOG_LEVEL: "warn",
    });
    const port = await freePort();
    const first = startCli(["start"], env(port));
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
        {
          timeoutMs: 90_000,
          what: "the first troupe start to be ready",
        },
      );
      const second = await runCli(["start"], env(await freePort()));
      assert.equal(second.code, 5, second.stderr);
      assert.match(second.stderr, new RegExp(`is in use by process ${first.pid}`));
      assert.match(second.stderr, /d" is in use/);
    } finally {
      first.kill("SIGKILL");
      await exited(first);
    }
    const port3 = await freePort();
    const third = startCli(["start"], env(port3));
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port3}/readyz`).catch(() => undefined))?.ok === true,
        {
          timeoutMs: 90_000,
          what: "troupe start to take over the lock of a killed one",
        },
      );
    } finally {
      third.kill("SIGTERM");
      await exited(third);
    }
  });
});

function isDeno(): boolean {
  return "Deno" in globalThis;
}
