/**
 * The gateway's request guard (actors/gateway/request-guard.ts) through createGateway()
 * and `app.request()`: foreign Hosts (DNS rebinding), cross-origin and cross-site
 * writes, and writes without a JSON content type never reach a route.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { loadConfig } from "../../../actors/process/config.ts";
import { createGateway, type GatewayOptions } from "../../../actors/gateway/gateway.ts";
import type { Core } from "../../../actors/process/system.ts";
import { ConfigError } from "../../../machines/errors.ts";
import { TEST_ADMIN_TOKEN, TEST_TOKENS } from "../../support/gateway.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";

type ErrorBody = { error: { code: string; message: string } };

describe("Gateway request guard", () => {
  let core: Core;
  let app: Hono;
  let cleanup = () => {};
  const gateway = (extra: Partial<GatewayOptions> = {}) =>
    createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 4096,
      tokens: TEST_TOKENS,
      ...extra,
    });

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env);
    app = gateway();
  });
  after(async () => {
    await core.close();
    cleanup();
  });

  const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  const json = { ...auth, "content-type": "application/json" };
  const later = () => new Date(Date.now() + 3_600_000).toISOString();
  const jobCount = async () => (await core.jobs.list({ limit: 1000 })).jobs.length;

  it("refuses the probe of issue 11 (foreign Host and Origin, text/plain exec) and runs nothing, token or not", async () => {
    const before = await jobCount();
    for (const target of [gateway({ tokens: undefined }), app]) {
      for (const headers of [{}, auth]) {
        const res = await target.request("http://127.0.0.1:8000/jobs/exec", {
          method: "POST",
          headers: {
            ...headers,
            origin: "https://evil.example",
            host: "rebind.evil.example",
            "content-type": "text/plain",
          },
          body: '{"command":["id"]}',
        });
        assert.equal(res.status, 421);
        const body = await res.json() as ErrorBody;
        assert.equal(body.error.code, "MISDIRECTED_REQUEST");
        assert.match(body.error.message, /"rebind\.evil\.example"/);
      }
    }
    assert.equal(await jobCount(), before);
  });

  it("refuses a Host it does not serve with 421 naming it, even with a valid token; probes stay open", async () => {
    for (
      const host of [
        "rebind.evil.example",
        "rebind.evil.example:8000",
        "evil.example@localhost",
        "localhost.evil.example",
        "localhost.",
      ]
    ) {
      const res = await app.request("/jobs", { headers: { ...auth, host } });
      assert.equal(res.status, 421, host);
      assert.ok((await res.json() as ErrorBody).error.message.includes(JSON.stringify(host)), host);
    }
    assert.equal((await app.request("/healthz", { headers: { host: "rebind.evil.example" } })).status, 200);
    assert.equal((await app.request("/readyz", { headers: { host: "rebind.evil.example" } })).status, 200);
  });

  it("serves localhost, IP literals on any port, and the names of TROUPE_ALLOWED_HOSTS", async () => {
    for (const host of ["localhost", "LocalHost:8000", "127.0.0.1:9", "[::1]:8000", "10.0.0.5"]) {
      assert.equal((await app.request("/jobs", { headers: { ...auth, host } })).status, 200, host);
    }
    assert.equal(
      (await app.request("/jobs", { headers: { ...auth, host: "troupe.example.com" } })).status,
      421,
    );
    const listed = gateway({
      allowedHosts: loadConfig({ TROUPE_ALLOWED_HOSTS: "Troupe.Example.com, other.example" }).allowedHosts,
    });
    assert.equal(
      (await listed.request("/jobs", { headers: { ...auth, host: "troupe.example.com:8443" } })).status,
      200,
    );
    assert.equal((await listed.request("/jobs", { headers: { ...auth, host: "evil.example" } })).status, 421);
  });

  it("answers 415 to a write without Content-Type: application/json, body or not, and accepts a charset", async () => {
    const before = await jobCount();
    for (
      const type of [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
      ]
    ) {
      const res = await app.request("/jobs/noop", {
        method: "POST",
        headers: { ...auth, "content-type": type },
        body: "{}",
      });
      assert.equal(res.status, 415, type);
      const body = await res.json() as ErrorBody;
      assert.equal(body.error.code, "UNSUPPORTED_MEDIA_TYPE");
      assert.match(body.error.message, /application\/json/);
    }
    assert.equal(await jobCount(), before);
    const submitted = await app.request("/jobs", {
      method: "POST",
      headers: { ...auth, "content-type": "Application/JSON; charset=utf-8" },
      body: JSON.stringify({ kind: "noop", id: "guard-1", runAt: later() }),
    });
    assert.equal(submitted.status, 202);
    // Body-less writes too: a form post could otherwise cancel.
    assert.equal((await app.request("/jobs/guard-1/cancel", { method: "POST", headers: auth })).status, 415);
    assert.equal((await core.jobs.get("guard-1")).status, "pending");
    assert.equal((await app.request("/jobs/guard-1/cancel", { method: "POST", headers: json })).status, 200);
  });

  it("refuses a cross-origin write (403) and lets a same-origin or TROUPE_ALLOWED_ORIGINS one through", async () => {
    const submit = (target: Hono, id: string, headers: Record<string, string>) =>
      target.request("/jobs", {
        method: "POST",
        headers: { ...json, ...headers },
        body: JSON.stringify({ kind: "noop", id, runAt: later() }),
      });
    for (
      const origin of [
        "https://evil.example",
        "null",
        "http://localhost:9999",
        "http://localhost.evil.example:8000",
        "file://",
      ]
    ) {
      const res = await submit(app, "guard-x", { host: "localhost:8000", origin });
      assert.equal(res.status, 403, origin);
      assert.equal((await res.json() as ErrorBody).error.code, "FORBIDDEN_ORIGIN");
    }
    await assert.rejects(core.jobs.get("guard-x"));
    assert.equal(
      (await submit(app, "guard-2", { host: "localhost:8000", origin: "http://localhost:8000" })).status,
      202,
    );
    assert.equal(
      (await submit(app, "guard-3", { host: "127.0.0.1:8000", origin: "https://127.0.0.1:8000" })).status,
      202,
    );
    const dashboard = gateway({
      allowedOrigins: loadConfig({ TROUPE_ALLOWED_ORIGINS: "https://Dash.Example.com/" }).allowedOrigins,
    });
    assert.equal(
      (await submit(dashboard, "guard-4", { host: "localhost:8000", origin: "https://dash.example.com" }))
        .status,
      202,
    );
    assert.equal(
      (await submit(dashboard, "guard-5", { host: "localhost:8000", origin: "http://dash.example.com" }))
        .status,
      403,
    );
    // Reads are left to authentication: a page cannot attach the bearer token.
    assert.equal(
      (await app.request("/jobs", { headers: { ...auth, origin: "https://evil.example" } })).status,
      200,
    );
  });

  it("refuses a write marked Sec-Fetch-Site: cross-site, and lets same-origin and none through", async () => {
    const cancel = (site: string) =>
      app.request("/jobs/no-such-job/cancel", {
        method: "POST",
        headers: { ...json, "sec-fetch-site": site },
      });
    const refused = await cancel("cross-site");
    assert.equal(refused.status, 403);
    assert.match((await refused.json() as ErrorBody).error.message, /Sec-Fetch-Site/);
    assert.equal((await cancel("same-origin")).status, 404);
    assert.equal((await cancel("none")).status, 404);
  });

  it("TROUPE_ALLOWED_HOSTS and TROUPE_ALLOWED_ORIGINS refuse malformed entries, naming the variable", () => {
    for (const spec of ["http://troupe.example.com", "troupe.example.com:8000", "a b", "evil.example/path"]) {
      assert.throws(
        () => loadConfig({ TROUPE_ALLOWED_HOSTS: spec }),
        (error: Error) => error instanceof ConfigError && /TROUPE_ALLOWED_HOSTS entry 1/.test(error.message),
        spec,
      );
    }
    for (
      const spec of [
        "dash.example.com",
        "https://dash.example.com/app",
        "ftp://dash.example.com",
        "https://u:p@dash.example.com",
      ]
    ) {
      assert.throws(
        () => loadConfig({ TROUPE_ALLOWED_ORIGINS: spec }),
        (error: Error) =>
          error instanceof ConfigError && /TROUPE_ALLOWED_ORIGINS entry 1/.test(error.message),
        spec,
      );
    }
    const config = loadConfig({
      TROUPE_ALLOWED_HOSTS: "A.example,[::1]",
      TROUPE_ALLOWED_ORIGINS: "https://a.example:8443",
    });
    assert.deepEqual([config.allowedHosts, config.allowedOrigins], [["a.example", "[::1]"], [
      "https://a.example:8443",
    ]]);
  });
});
