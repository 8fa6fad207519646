import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { parseApiTokens, roleOf } from "../../actors/auth.ts";
import { loadConfig } from "../../actors/config.ts";
import { createGateway } from "../../actors/gateway.ts";
import type { Core } from "../../actors/system.ts";
import { ConfigError } from "../../machines/errors.ts";
import { backendEnv, openTestCore } from "../support/system.ts";

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
      assert.throws(() => loadConfig({ TROUPE_API_TOKENS: spec }), (error: Error) =>
        error instanceof ConfigError && /TROUPE_API_TOKENS entry 1/.test(error.message) && !error.message.includes(ADMIN) && !error.message.includes("short"));
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
    app = createGateway({ jobs: core.jobs, store: core.store, bus: core.bus, logger: core.logger, maxBodyBytes: 4096, tokens: parseApiTokens(`admin:${ADMIN},viewer:${VIEWER}`) });
  });
  after(async () => {
    await core.close();
    cleanup();
  });

  const call = (method: string, path: string, token?: string, body?: string) =>
    app.request(path, { method, ...(body ? { body } : {}), headers: token ? { authorization: `Bearer ${token}` } : {} });

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
    const res = await call("POST", "/jobs", ADMIN, '{"kind":"noop","id":"auth-1","runAt":"2099-01-01T00:00:00Z"}');
    assert.equal(res.status, 202);
    const [pending] = await core.store.jobEvents("auth-1");
    assert.equal(pending?.data.actor, "token:admin");
  });
});
