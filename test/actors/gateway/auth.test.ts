import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { parseApiTokens, roleOf } from "../../../actors/gateway/auth.ts";
import { loadConfig } from "../../../actors/process/config.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { type Core, startSystem } from "../../../actors/process/system.ts";
import { ConfigError } from "../../../machines/errors.ts";
import { rawRequest } from "../../support/gateway.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";

const ADMIN = "admin-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";

describe("API tokens", () => {
  it("parseApiTokens() reads role:token pairs and roleOf() finds the role", () => {
    const table = parseApiTokens(`admin:${ADMIN}, viewer:${VIEWER}`)!;
    assert.equal(roleOf(table, ADMIN), "admin");
    assert.equal(roleOf(table, VIEWER), "viewer");
    assert.equal(roleOf(table, "nope-nope-nope-nope"), undefined);
    assert.equal(parseApiTokens(undefined), undefined);
  });

  it("refuses bad entries, naming the variable and the position but never the token", () => {
    for (const spec of [`root:${ADMIN}`, "admin:short", ADMIN]) {
      assert.throws(
        () => loadConfig({ TROUPE_API_TOKENS: spec }),
        (error: Error) =>
          error instanceof ConfigError && /TROUPE_API_TOKENS entry 1/.test(error.message) &&
          !error.message.includes(ADMIN) && !error.message.includes("short"),
      );
    }
  });
});

describe("Gateway with TROUPE_API_TOKENS", () => {
  let core: Core;
  let app: Hono;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env);
    app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 4096,
      tokens: parseApiTokens(`admin:${ADMIN},viewer:${VIEWER}`),
    });
  });
  after(async () => {
    await core.close();
    cleanup();
  });

  const call = (method: string, path: string, token?: string, body?: string) =>
    app.request(path, {
      method,
      ...(body ? { body } : {}),
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it("answers 401 with WWW-Authenticate without a valid token, except for probes", async () => {
    const none = await call("GET", "/jobs");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /Bearer/);
    assert.equal((await call("GET", "/jobs", "wrong-token-wrong-token")).status, 401);
    assert.equal((await call("GET", "/healthz")).status, 200);
  });

  it("lets a viewer read but not submit or cancel", async () => {
    assert.equal((await call("GET", "/jobs", VIEWER)).status, 200);
    const submit = await call("POST", "/jobs", VIEWER, '{"kind":"noop"}');
    assert.equal(submit.status, 403);
    assert.match((await submit.json() as { error: { message: string } }).error.message, /may only read/);
    assert.equal((await call("POST", "/jobs/x/cancel", VIEWER)).status, 403);
  });

  it("lets an admin submit, and records who asked in the audit trail", async () => {
    const res = await call(
      "POST",
      "/jobs",
      ADMIN,
      '{"kind":"noop","id":"auth-1","runAt":"2099-01-01T00:00:00Z"}',
    );
    assert.equal(res.status, 202);
    const [pending] = await core.store.jobEvents("auth-1");
    assert.equal(pending?.data.actor, "token:admin");
  });

  it("createGateway() without tokens or a client CA answers 401 to everything but the probes", async () => {
    const open = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 4096,
    });
    const before = (await core.jobs.list({ limit: 1000 })).jobs.length;
    for (
      const [method, path] of [["GET", "/jobs"], ["GET", "/status"], ["POST", "/jobs/noop"], [
        "POST",
        "/jobs/x/cancel",
      ]] as const
    ) {
      const res = await open.request(path, {
        method,
        headers: { "content-type": "application/json" },
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal((await res.json() as { error: { code: string } }).error.code, "UNAUTHORIZED");
    }
    assert.equal((await core.jobs.list({ limit: 1000 })).jobs.length, before);
    assert.equal((await open.request("/healthz")).status, 200);
  });
});

describe("startSystem() gateway without TROUPE_API_TOKENS", () => {
  /** A fast core (NATS + PostgreSQL) with a data folder of its own for the token file. */
  const systemEnv = async () => {
    const made = await backendEnv("nats+postgres");
    const dir = mkdtempSync(join(tmpdir(), "troupe-auth-"));
    return {
      env: { ...made.env, TROUPE_DATA_DIR: dir, PORT: "0" },
      dir,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  };

  it("startSystem() gives its gateway a 0600 admin token file in the data folder and answers 401 without it", async () => {
    const made = await systemEnv();
    const dir = made.dir;
    const core = await openTestCore(made.env);
    const system = await startSystem(core, { gateway: true });
    try {
      const file = join(dir, "admin-token");
      assert.deepEqual(system.adminToken, { path: file, created: true });
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const token = readFileSync(file, "utf8").trim();
      assert.match(token, /^[A-Za-z0-9_-]{43,}$/, "32 random bytes or more, base64url");
      const port = system.server!.port;
      assert.equal((await rawRequest(port, { path: "/jobs" })).status, 401);
      assert.equal(
        (await rawRequest(port, { path: "/jobs", headers: { authorization: "Bearer not-the-token-at-all" } }))
          .status,
        401,
      );
      assert.equal(
        (await rawRequest(port, { path: "/jobs", headers: { authorization: `Bearer ${token}` } })).status,
        200,
      );
      assert.equal((await rawRequest(port, { path: "/healthz" })).status, 200);
    } finally {
      await system.stop();
      made.cleanup();
    }
  });

  it("startSystem() writes no token file when TROUPE_API_TOKENS is set", async () => {
    const made = await systemEnv();
    const core = await openTestCore(made.env, { env: { TROUPE_API_TOKENS: `admin:${ADMIN}` } });
    const system = await startSystem(core, { gateway: true });
    try {
      assert.equal(system.adminToken, undefined);
      assert.equal(existsSync(join(made.dir, "admin-token")), false);
      assert.equal(
        (await rawRequest(system.server!.port, {
          path: "/jobs",
          headers: { authorization: `Bearer ${ADMIN}` },
        })).status,
        200,
      );
    } finally {
      await system.stop();
      made.cleanup();
    }
  });
});
