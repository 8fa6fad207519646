/**
 * The HTTP API refuses what PostgreSQL cannot store with a 422 naming the rule
 * and the path (never the value), refuses oversized bodies with a 413, and
 * publishes nothing it refused. Through `app.request()`, on NATS + PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { parseApiTokens } from "../../../actors/gateway/auth.ts";
import { createLogger } from "../../../actors/observability/logger.ts";
import { loadConfig } from "../../../actors/process/config.ts";
import { type Core, openCore } from "../../../actors/process/system.ts";
import { backendEnv } from "../../support/system.ts";

const TOKEN = "poison-test-admin-token-0123456789";
const SECRET = "hunter2-http-marker";
const MAX_BODY = 262_144;
const list = (depth: number) => `${"[".repeat(depth)}"${SECRET}"${"]".repeat(depth)}`;

describe("POST /jobs with payloads PostgreSQL cannot store", () => {
  let core: Core;
  let app: Hono;
  let cleanup = () => {};
  const log: string[] = [];

  before(async () => {
    const made = await backendEnv("nats+postgres");
    cleanup = made.cleanup;
    const logger = createLogger({
      level: "debug",
      destination: { write: (line: string) => void log.push(line) },
    });
    core = await openCore(loadConfig({ ...made.env, TROUPE_MAX_PAYLOAD_BYTES: String(MAX_BODY) }), {
      logger,
    });
    app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger,
      maxBodyBytes: MAX_BODY,
      tokens: parseApiTokens(`admin:${TOKEN}`),
      inventory: { schedules: core.schedules, resources: core.inventory },
    });
  });

  after(async () => {
    await core?.close();
    cleanup();
  });

  const post = (path: string, body: string) =>
    app.request(path, {
      method: "POST",
      body,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });

  async function refused(
    path: string,
    body: string,
    status = 422,
  ): Promise<{ code: string; message: string }> {
    const response = await post(path, body);
    const text = await response.text();
    assert.equal(response.status, status, text.slice(0, 300));
    assert.doesNotMatch(text, /hunter2/, "the answer echoes no value");
    return (JSON.parse(text) as { error: { code: string; message: string } }).error;
  }

  it("answers 422 for U+0000 in a value or a key, and for lone surrogates, naming the rule and the path", async () => {
    const cases: [string, unknown, string][] = [
      [
        "/jobs",
        { kind: "noop", payload: { result: { password: SECRET, a: `x\u0000${SECRET}` } } },
        'Payload refused: a string at "payload.result.a" holds U+0000, which PostgreSQL cannot store',
      ],
      [
        "/jobs",
        { kind: "noop", payload: { result: { [`k\u0000${SECRET}`]: 1 } } },
        'Payload refused: a key of the object at "payload.result" holds U+0000, which PostgreSQL cannot store',
      ],
      [
        "/jobs/noop",
        { result: [`\ud800${SECRET}`] },
        'Payload refused: a string at "payload.result[0]" holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store',
      ],
      [
        "/jobs/noop",
        { result: `${SECRET}\udc00` },
        'Payload refused: a string at "payload.result" holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store',
      ],
      [
        "/jobs",
        { kind: "noop", org: `a\u0000${SECRET}`, payload: {} },
        'Job refused: a string at "org" holds U+0000, which PostgreSQL cannot store',
      ],
      [
        "/jobs",
        { kind: "noop", id: `id-\ud800`, payload: {} },
        'Job refused: a string at "id" holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store',
      ],
    ];
    for (const [path, body, message] of cases) {
      const error = await refused(path, JSON.stringify(body));
      assert.deepEqual(error, { code: "VALIDATION", message });
    }
  });

  it("answers 422 for nesting deeper than 64, at 65, 10,000 and 50,000 levels, and accepts 64", async () => {
    for (const depth of [65, 10_000, 50_000]) {
      const error = await refused("/jobs", `{"kind":"noop","payload":{"result":${list(depth - 1)}}}`);
      assert.equal(error.code, "VALIDATION");
      assert.match(
        error.message,
        /^Payload refused: "payload\.result\[0\].*" nests objects and arrays deeper than 64 levels$/,
      );
      const bare = await refused("/jobs/noop", `{"result":${list(depth - 1)}}`);
      assert.match(bare.message, /deeper than 64 levels/);
    }
    const ok = await post("/jobs", `{"kind":"noop","id":"deep-64","payload":{"result":${list(63)}}}`);
    assert.equal(ok.status, 202, await ok.text());
  });

  it("answers 413 for a body over the limit, and for a payload whose job message would be over it", async () => {
    const big = await refused(
      "/jobs/noop",
      JSON.stringify({ result: SECRET.repeat(MAX_BODY / SECRET.length + 1) }),
      413,
    );
    assert.deepEqual(big, {
      code: "PAYLOAD_TOO_LARGE",
      message: `Body exceeds the limit of ${MAX_BODY} bytes`,
    });
    // Under the body limit, but its envelope (id, maxAttempts) is not.
    const body = JSON.stringify({ result: "x".repeat(MAX_BODY - 20) });
    assert.ok(body.length <= MAX_BODY);
    const edge = await refused("/jobs/noop", body, 413);
    assert.match(edge.message, /^Job message of \d+ bytes exceeds the limit of 262144 bytes$/);
  });

  it("answers 422 for a schedule whose payload or org cannot be stored", async () => {
    const payload = await refused(
      "/schedules",
      JSON.stringify({ id: "s1", kind: "noop", interval: "1h", payload: { result: `\u0000${SECRET}` } }),
    );
    assert.deepEqual(payload, {
      code: "VALIDATION",
      message: 'Payload refused: a string at "payload.result" holds U+0000, which PostgreSQL cannot store',
    });
    const deep = await refused(
      "/schedules",
      `{"id":"s2","kind":"noop","interval":"1h","payload":{"result":${list(10_000)}}}`,
    );
    assert.match(deep.message, /deeper than 64 levels/);
    const org = await refused(
      "/schedules",
      JSON.stringify({ id: "s3", kind: "noop", interval: "1h", org: `a\u0000${SECRET}` }),
    );
    assert.equal(org.code, "VALIDATION");
    assert.match(org.message, /org: holds U\+0000 or a lone surrogate/);
  });

  it("stored and logged none of what it refused", async () => {
    const { jobs } = await core.store.listJobs({ limit: 100 });
    assert.deepEqual(jobs.map((j) => j.id), ["deep-64"]);
    assert.deepEqual(await core.schedules.list({}), []);
    assert.doesNotMatch(log.join(""), /hunter2/);
  });
});
