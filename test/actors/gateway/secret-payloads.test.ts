/**
 * Secrets out of payloads, end to end on real NATS, PostgreSQL and bubblewrap:
 * an exec job's env values are `***` to viewers and admins alike in GET /jobs,
 * GET /jobs/:id, the submit answer, /schedules and the SSE events, while the
 * command still gets them; `envFrom` references are resolved on the agent from
 * mounted secret files, so the secret is in no payload, no NATS message and no
 * API answer; a missing reference fails the job at once, naming it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { parseApiTokens } from "../../../actors/gateway/auth.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { decodeLogChunk } from "../../../bus/log-chunk.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const ADMIN = "admin-token-secrets-0123456789";
const VIEWER = "viewer-token-secrets-0123456789";
const SECRET = {
  env: "envSecretValue-3f9a1c",
  file: "fileSecretValue-77b0e2",
  plain: "plainSecretValue-c4d5e6",
  externalId: "externalIdSecret-1a2b",
};
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("Secret payload fields (NATS + PostgreSQL, real agent)", () => {
  let core: Core;
  let system: RunningSystem;
  let app: Hono;
  let nc: NatsConnection;
  let workRoot: string;
  let secretsDir: string;
  const seen: string[] = [];
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("nats+postgres");
    cleanup = made.cleanup;
    workRoot = mkdtempSync(join(tmpdir(), "troupe-secrets-work-"));
    secretsDir = mkdtempSync(join(tmpdir(), "troupe-secrets-dir-"));
    writeFileSync(join(secretsDir, "db-prod.json"), JSON.stringify({ user: "app", password: SECRET.file }));
    writeFileSync(join(secretsDir, "api-key.json"), `${SECRET.plain}\n`);
    // Every message on the server, JetStream publishes and agent requests included.
    nc = await connect({ servers: made.env.NATS_URL! });
    const everything = nc.subscribe(">");
    void (async () => {
      for await (const msg of everything) {
        seen.push(`${msg.subject} ${msg.string()} ${JSON.stringify([...(msg.headers ?? [])])}`);
      }
    })();
    core = await openTestCore(made.env, {
      env: {
        TROUPE_AGENT_NAME: "sec1",
        TROUPE_AGENT_WORK_ROOT: workRoot,
        TROUPE_CREDENTIALS_DIR: secretsDir,
        TROUPE_SHUTDOWN_GRACE_MS: "0",
      },
    });
    system = await startSystem(core, { worker: true, agent: true });
    app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 65536,
      tokens: parseApiTokens(`admin:${ADMIN},viewer:${VIEWER}`),
      inventory: { schedules: core.schedules, resources: core.inventory },
    });
    await waitFor(() => core.agents.isAlive("sec1"), { what: "the agent's first heartbeat" });
  });
  after(async () => {
    await system?.stop();
    await nc?.close();
    cleanup();
    rmSync(workRoot, { recursive: true, force: true });
    rmSync(secretsDir, { recursive: true, force: true });
  });

  const call = async (token: string, path: string, init: RequestInit = {}) => {
    const res = await app.request(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    return { status: res.status, text: await res.text() };
  };
  const final = (id: string) =>
    waitFor(async () => {
      const job = await core.store.getJob(id);
      return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
    }, { timeoutMs: 30_000, what: `job ${id} to end` });
  const output = async (id: string) => {
    let text = "";
    const sub = core.bus.watchLogs(id, "all");
    const timer = setTimeout(() => void sub.close(), 500);
    for await (const record of sub) text += decodeLogChunk(id, record.data).text;
    clearTimeout(timer);
    return text;
  };

  it("exec env values are *** for viewer and admin in the submit answer, GET /jobs, GET /jobs/:id and SSE, and the command still gets them", async () => {
    const payload = {
      agent: "sec1",
      command: ["sh", "-c", 'printf %s "$DB_PASSWORD" | sha256sum'],
      env: { DB_PASSWORD: SECRET.env, MODE: "fast" },
    };
    const submitted = await call(ADMIN, "/jobs", {
      method: "POST",
      body: JSON.stringify({ kind: "exec", id: "sec-env", payload }),
    });
    assert.equal(submitted.status, 202, submitted.text);
    assert.ok(!submitted.text.includes(SECRET.env), "the submit answer shows no secret");
    const job = await final("sec-env");
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    assert.match(await output("sec-env"), new RegExp(sha256(SECRET.env)), "the command got the real value");
    assert.equal(
      (job.payload as { env: Record<string, string> }).env.DB_PASSWORD,
      SECRET.env,
      "the stored payload is intact",
    );

    for (const token of [VIEWER, ADMIN]) {
      const one = await call(token, "/jobs/sec-env");
      assert.equal(one.status, 200);
      assert.deepEqual(JSON.parse(one.text).payload.env, { DB_PASSWORD: "***", MODE: "***" });
      const list = await call(token, "/jobs?kind=exec");
      assert.ok(list.text.includes('"DB_PASSWORD":"***"'), list.text.slice(0, 300));
      const events = await call(token, "/jobs/sec-env/events");
      assert.match(events.text, /event: transition/);
      assert.match(events.text, /"status":"success"/);
      for (const text of [one.text, list.text, events.text]) {
        assert.ok(!text.includes(SECRET.env), "no secret in the answer");
      }
    }
  });

  it("schedules show the payload's secret fields as *** to viewer and admin, and keep them for the jobs they fire", async () => {
    const payload = { agent: "sec1", command: ["true"], env: { DB_PASSWORD: SECRET.env } };
    const created = await call(ADMIN, "/schedules", {
      method: "POST",
      body: JSON.stringify({ id: "sec-schedule", kind: "exec", interval: "1h", enabled: false, payload }),
    });
    assert.equal(created.status, 201, created.text);
    assert.ok(!created.text.includes(SECRET.env));
    for (const token of [VIEWER, ADMIN]) {
      for (const path of ["/schedules", "/schedules/sec-schedule"]) {
        const res = await call(token, path);
        assert.equal(res.status, 200);
        assert.ok(res.text.includes('"DB_PASSWORD":"***"'), `${path}: ${res.text.slice(0, 300)}`);
        assert.ok(!res.text.includes(SECRET.env), `${path} shows no secret`);
      }
    }
    const row = await core.schedules.get("sec-schedule");
    assert.equal((row!.payload as { env: Record<string, string> }).env.DB_PASSWORD, SECRET.env);

    // What GET shows, changed and sent back: the *** keeps the stored secret, the rest changes.
    const shown = JSON.parse((await call(ADMIN, "/schedules/sec-schedule")).text) as {
      payload: typeof payload;
    };
    const patched = await call(ADMIN, "/schedules/sec-schedule", {
      method: "PATCH",
      body: JSON.stringify({ payload: { ...shown.payload, command: ["false"] } }),
    });
    assert.equal(patched.status, 200, patched.text);
    const after = (await core.schedules.get("sec-schedule"))!.payload as {
      command: string[];
      env: Record<string, string>;
    };
    assert.deepEqual(after, { command: ["false"], env: { DB_PASSWORD: SECRET.env }, agent: "sec1" });
  });

  it("a discovery job shows its credentials reference (a name, not a secret); aws.iam.policy hides its external id", async () => {
    await core.jobs.submit({
      kind: "discovery.kubernetes",
      id: "sec-discovery",
      payload: { scope: "prod", credentials: "k8s-prod" },
    });
    await core.jobs.submit({
      kind: "aws.iam.policy",
      id: "sec-iam",
      runAt: new Date(Date.now() + 3_600_000).toISOString(),
      payload: {
        action: "attach",
        accountId: "111122223333",
        principalType: "role",
        principalName: "app",
        policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
        externalId: SECRET.externalId,
      },
    });
    for (const token of [VIEWER, ADMIN]) {
      assert.equal(
        JSON.parse((await call(token, "/jobs/sec-discovery")).text).payload.credentials,
        "k8s-prod",
      );
      const iam = await call(token, "/jobs/sec-iam");
      assert.equal(JSON.parse(iam.text).payload.externalId, "***");
      assert.ok(!iam.text.includes(SECRET.externalId));
    }
  });

  it("envFrom: the agent resolves references from mounted secret files; payload, NATS and API carry only the references", async () => {
    const payload = {
      agent: "sec1",
      command: [
        "sh",
        "-c",
        'printf %s "$DB_PASSWORD" | sha256sum; printf %s "$API_KEY" | sha256sum; echo "mode=$MODE"',
      ],
      env: { MODE: "plain" },
      envFrom: { DB_PASSWORD: { ref: "db-prod", key: "password" }, API_KEY: "api-key" },
    };
    await core.jobs.submit({ kind: "exec", id: "sec-envfrom", payload });
    const job = await final("sec-envfrom");
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    const text = await output("sec-envfrom");
    assert.match(text, new RegExp(sha256(SECRET.file)), "the JSON secret's field reached the command");
    assert.match(
      text,
      new RegExp(sha256(SECRET.plain)),
      "the plain secret reached the command, its trailing newline dropped",
    );
    assert.match(text, /mode=plain/);
    for (const token of [VIEWER, ADMIN]) {
      const res = await call(token, "/jobs/sec-envfrom");
      assert.deepEqual(
        JSON.parse(res.text).payload.envFrom,
        payload.envFrom,
        "the references are shown as they are",
      );
    }
    const stored = JSON.stringify(await core.store.getJob("sec-envfrom"));
    await nc.flush();
    for (const secret of [SECRET.file, SECRET.plain]) {
      assert.ok(!stored.includes(secret), "the stored job holds no secret");
      assert.ok(!seen.some((m) => m.includes(secret)), "no NATS message holds the secret");
    }
    assert.ok(
      seen.some((m) => m.includes(".agent.sec1.run") && m.includes('"db-prod"')),
      "the run request carried the reference",
    );
  });

  it("envFrom: a reference the agent cannot find fails the job at once, naming the variable and the reference", async () => {
    await core.jobs.submit({
      kind: "exec",
      id: "sec-missing",
      payload: { agent: "sec1", command: ["true"], envFrom: { TOKEN: "nope-ref" } },
    });
    const job = await final("sec-missing");
    assert.equal(job.status, "failed");
    assert.equal(job.attempts, 1, "permanent: not retried");
    const error = job.lastError as { code: string; message: string };
    assert.equal(error.code, "CREDENTIALS_NOT_FOUND");
    assert.match(error.message, /"TOKEN"/);
    assert.match(error.message, /"nope-ref" not found/);
    assert.match(error.message, /TROUPE_CREDENTIALS_NOPE_REF/);
  });

  it("envFrom and env may not set the same variable", async () => {
    await assert.rejects(
      core.jobs.submit({
        kind: "exec",
        payload: { command: ["true"], env: { A: "1" }, envFrom: { A: "db-prod" } },
      }),
      /payload\.envFrom\.A/,
    );
  });
});
