/**
 * No credential reaches a log line, a metric or an exported span: a real
 * `troupe start` on real NATS (with a password) and PostgreSQL (URL with a
 * password), bearer tokens, wrong tokens, a payload holding a password, a NATS
 * restart, at LOG_LEVEL=trace; then every byte it wrote is grepped. Also checks
 * that lines are JSON and carry the job and trace ids.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { exited, freePort, startCli } from "../support/cli.ts";
import { type NatsServer, startNatsServer } from "../harness/nats-server.ts";
import { testDatabaseUrl } from "../harness/postgres-server.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { uniqueNamespace } from "../support/system.ts";
import { delay, waitFor } from "../support/wait.ts";

const SECRETS = {
  nats: "natsSecretPw-7c1d9e",
  database: "pgSecretPw-41b2aa",
  admin: "adminTokenSecret-9f8e7d6c5b",
  viewer: "viewerTokenSecret-1a2b3c4d5e",
  wrong: "wrongTokenSecret-0000aaaa",
  payload: "payloadPassword-55aa11",
};

describe("Secrets stay out of logs, metrics and traces", () => {
  let nats: NatsServer;
  let receiver: OtlpReceiver;
  let server: ReturnType<typeof startCli>;
  let base: string;

  before(async () => {
    nats = await startNatsServer({ args: ["--user", "troupe", "--pass", SECRETS.nats] });
    receiver = await startOtlpReceiver();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Trust auth ignores the password, but it is in the URL every connection is made from.
    const databaseUrl = (await testDatabaseUrl()).replace("postgres@", `postgres:${SECRETS.database}@`);
    server = startCli(["start"], {
      NATS_URL: nats.url,
      NATS_USER: "troupe",
      NATS_PASSWORD: SECRETS.nats,
      DATABASE_URL: databaseUrl,
      TROUPE_NAMESPACE: uniqueNamespace("sec"),
      PORT: String(port),
      LOG_LEVEL: "trace",
      TROUPE_API_TOKENS: `admin:${SECRETS.admin},viewer:${SECRETS.viewer}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_DENO: "true",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
      OTEL_DENO_CONSOLE: "ignore",
    });
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, {
      timeoutMs: 60_000,
      what: "troupe start to listen",
    });
  });

  after(async () => {
    if (server.exitCode === null) server.kill("SIGKILL");
    await exited(server).catch(() => {});
    await receiver.close();
    await nats.stop();
  });

  it("no secret appears in any output after requests, failures and a NATS restart", async () => {
    const auth = (token: string) => ({
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    });
    const submit = await fetch(`${base}/jobs`, {
      method: "POST",
      headers: auth(SECRETS.admin),
      body: JSON.stringify({
        kind: "noop",
        id: "secret-job",
        payload: { sleepMs: 1, result: { password: SECRETS.payload } },
      }),
    });
    assert.equal(submit.status, 202, await submit.text());
    assert.equal((await fetch(`${base}/jobs`, { headers: auth(SECRETS.wrong) })).status, 401);
    assert.equal(
      (await fetch(`${base}/jobs/noop`, { method: "POST", headers: auth(SECRETS.viewer), body: "{}" }))
        .status,
      403,
    );
    assert.equal(
      (await fetch(`${base}/jobs/x`, {
        method: "POST",
        headers: { authorization: SECRETS.wrong, "content-type": "application/json" },
        body: "{",
      })).status,
      401,
    );
    const failing = await fetch(`${base}/jobs/noop`, {
      method: "POST",
      headers: auth(SECRETS.admin),
      body: '{"failTimes":5,"failWith":"permanent"}',
    });
    assert.equal(failing.status, 202);
    await waitFor(async () => {
      const r = await fetch(`${base}/jobs/secret-job`, { headers: auth(SECRETS.viewer) });
      return ((await r.json()) as { status: string }).status === "success";
    }, { what: "the job to succeed" });
    const metrics = await (await fetch(`${base}/metrics`, { headers: auth(SECRETS.viewer) })).text();
    assert.match(metrics, /troupe_jobs_total/);

    await nats.restart();
    await delay(1500);
    const afterRestart = await fetch(`${base}/jobs/noop`, {
      method: "POST",
      headers: auth(SECRETS.admin),
      body: '{"sleepMs":1}',
    });
    assert.ok([202, 503].includes(afterRestart.status));
    await delay(500);
    server.kill("SIGTERM");
    await exited(server, 30_000);
    await delay(200);

    const output = server.output();
    const lines = output.split("\n").filter((l) => l.trim() !== "");
    assert.ok(lines.length > 10, `expected plenty of trace-level lines, got ${lines.length}`);
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!output.includes(secret), `the ${name} secret leaked into the process output`);
      assert.ok(!metrics.includes(secret), `the ${name} secret leaked into /metrics`);
      assert.ok(
        !receiver.bodies.some((b) => b.includes(secret)),
        `the ${name} secret leaked into exported telemetry`,
      );
    }
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`a log line is not JSON: ${line.slice(0, 200)}`);
      }
    });
    const jobLines = parsed.filter((l) => l.jobId === "secret-job");
    assert.ok(jobLines.length > 0, "lines about the job carry its id");
    assert.ok(jobLines.every((l) => typeof l.traceId === "string"), "and its trace id");
    assert.ok(
      parsed.some((l) => typeof l.traceId === "string" && /^[0-9a-f]{32}$/.test(l.traceId as string)),
      "lines inside a traced request or job carry the trace id",
    );
    assert.ok(receiver.spans.length > 0, "spans were exported");
  });
});
