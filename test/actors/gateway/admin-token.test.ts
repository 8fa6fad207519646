/** The local admin token file (actors/gateway/admin-token.ts) on the real file system. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminTokenPath, cliToken, ensureAdminToken } from "../../../actors/gateway/admin-token.ts";
import { ConfigError } from "../../../machines/errors.ts";

describe("Admin token file", () => {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-token-"));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("ensureAdminToken() creates <dir>/admin-token (0600, 32 random bytes base64url) once and reuses it", async () => {
    const dir = join(fresh(), "nested", ".troupe");
    const first = await ensureAdminToken(dir);
    assert.equal(first.path, join(dir, "admin-token"));
    assert.equal(first.created, true);
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(readFileSync(first.path, "utf8"), `${first.token}\n`);
    assert.equal(statSync(first.path).mode & 0o777, 0o600);
    const second = await ensureAdminToken(dir);
    assert.deepEqual(second, { ...first, created: false });
    assert.notEqual((await ensureAdminToken(fresh())).token, first.token);
    assert.deepEqual(readdirSync(dir), ["admin-token"], "no temporary file left behind");
  });

  it("ensureAdminToken() calls racing on a fresh folder agree on one token, written once", async () => {
    const dir = fresh();
    const results = await Promise.all(Array.from({ length: 8 }, () => ensureAdminToken(dir)));
    assert.equal(new Set(results.map((r) => r.token)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(readFileSync(adminTokenPath(dir), "utf8").trim(), results[0]!.token);
    assert.deepEqual(readdirSync(dir), ["admin-token"]);
  });

  it("ensureAdminToken() refuses a file open to other users or without a token, naming the file, never its content", async () => {
    const dir = fresh();
    const { path, token } = await ensureAdminToken(dir);
    chmodSync(path, 0o644);
    await assert.rejects(
      ensureAdminToken(dir),
      (error: Error) =>
        error instanceof ConfigError && error.message.includes(path) &&
        /mode 0644.*chmod 600/.test(error.message) && !error.message.includes(token),
    );
    const empty = fresh();
    writeFileSync(adminTokenPath(empty), "\n", { mode: 0o600 });
    await assert.rejects(
      ensureAdminToken(empty),
      (error: Error) => error instanceof ConfigError && /holds no usable token/.test(error.message),
    );
  });

  it("cliToken() prefers TROUPE_TOKEN, reads the file only for a TROUPE_URL on this machine, and is undefined without it", async () => {
    const dir = fresh();
    const local = "http://127.0.0.1:8000";
    assert.equal(await cliToken({ token: undefined, dataDir: dir, troupeUrl: local }), undefined);
    const { token } = await ensureAdminToken(dir);
    for (const troupeUrl of [local, "http://localhost:9", "https://[::1]:8443"]) {
      assert.equal(await cliToken({ token: undefined, dataDir: dir, troupeUrl }), token, troupeUrl);
    }
    assert.equal(
      await cliToken({ token: "from-the-environment", dataDir: dir, troupeUrl: local }),
      "from-the-environment",
    );
    assert.equal(
      await cliToken({ token: undefined, dataDir: dir, troupeUrl: "https://troupe.example.com" }),
      undefined,
      "never sent to another host",
    );
  });
});
