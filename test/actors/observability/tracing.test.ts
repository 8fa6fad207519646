/**
 * One trace per job, exported over OTLP to a real (local) receiver by a real
 * `troupe start` process of the same runtime (Node: the OpenTelemetry SDK; Deno:
 * its built-in OpenTelemetry): the caller's span → `POST /jobs` → `send` →
 * `process` (with the transitions as events) → `run noop`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort, startCli } from "../../support/cli.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { waitFor } from "../../support/wait.ts";
import { localAdminFetch } from "../../support/gateway.ts";
import { type AwsStandIn, startAwsStandIn } from "../../support/standins/aws/stand-in.ts";

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

describe("Traces over OTLP from `troupe start`", () => {
  let receiver: OtlpReceiver;
  let server: ReturnType<typeof startCli>;
  let base: string;
  let dir: string;
  let aws: AwsStandIn;
  let api: ReturnType<typeof localAdminFetch>;

  before(async () => {
    receiver = await startOtlpReceiver();
    aws = await startAwsStandIn();
    aws.account("111122223333").trust("cSecBridgeIAMHandlerRole");
    aws.account("111122223333").addRole("app");
    dir = mkdtempSync(join(tmpdir(), "troupe-otel-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startCli(["start"], {
      TROUPE_DATA_DIR: dir,
      PORT: String(port),
      NATS_URL: "",
      DATABASE_URL: "",
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "troupe-test",
      OTEL_DENO: "true",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
      OTEL_DENO_CONSOLE: "ignore",
      AWS_ENDPOINT_URL: aws.url,
      AWS_ACCESS_KEY_ID: aws.master.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.master.secretAccessKey,
    });
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, {
      timeoutMs: 60_000,
      what: "troupe start to listen",
    });
    api = localAdminFetch(dir);
  });

  after(async () => {
    server.kill("SIGKILL");
    await exited(server).catch(() => {});
    await receiver.close();
    await aws.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const find = (spans: ReceivedSpan[], name: RegExp) => spans.find((s) => name.test(s.name));

  it("a job submitted over HTTP with a traceparent is one trace: request, publish, consume, transitions, handler", async () => {
    const res = await api(`${base}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ kind: "noop", id: "traced-1", payload: { sleepMs: 5 } }),
    });
    assert.equal(res.status, 202, await res.text());
    await waitFor(
      async () =>
        ((await (await api(`${base}/jobs/traced-1`)).json()) as { status: string }).status === "success",
      { what: "the job to succeed" },
    );
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === CALLER_TRACE);
      return mine.some((s) => s.name === "run noop") && mine.some((s) => /^process /.test(s.name))
        ? mine
        : undefined;
    }, {
      timeoutMs: 20_000,
      what: `spans of trace ${CALLER_TRACE} (got ${receiver.spans.map((s) => s.name).join(", ")})`,
    });

    const request = find(spans, /^POST \/jobs$/);
    assert.ok(request, `a server span for POST /jobs among ${spans.map((s) => s.name)}`);
    assert.equal(request.kind, 2);
    assert.equal(request.parentSpanId, CALLER_SPAN);
    assert.equal(request.attributes["http.response.status_code"], 202);
    assert.equal(request.service, "troupe-test");

    const send = find(spans, /^send .*\.jobs\.noop$/);
    assert.ok(send, "a producer span for the publish");
    assert.equal(send.kind, 4);
    assert.equal(send.parentSpanId, request.spanId);
    assert.equal(send.attributes["messaging.system"], "nats");
    assert.equal(send.attributes["messaging.operation.type"], "send");
    assert.equal(send.attributes["messaging.destination.name"], "troupe.jobs.noop");
    assert.equal(send.attributes["troupe.job.id"], "traced-1");

    const consume = find(spans, /^process .*\.jobs\.noop$/);
    assert.ok(consume, "a consumer span for the worker's processing");
    assert.equal(consume.kind, 5);
    assert.equal(consume.parentSpanId, send.spanId);
    assert.equal(consume.attributes["messaging.operation.type"], "process");
    assert.equal(consume.attributes["troupe.job.id"], "traced-1");
    assert.deepEqual(consume.events.map((e) => e.name), ["job.locked", "job.running", "job.success"]);

    const run = find(spans, /^run noop$/);
    assert.ok(run);
    assert.equal(run.parentSpanId, consume.spanId);
  });

  it("an AWS job's SDK calls are CLIENT spans under its handler span, with AWS's request id and no credentials", async () => {
    const res = await api(`${base}/jobs/aws.iam.policy`, {
      method: "POST",
      headers: { "content-type": "application/json", "Idempotency-Key": "traced-aws" },
      body: JSON.stringify({
        action: "attach",
        accountId: "111122223333",
        principalType: "role",
        principalName: "app",
        policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      }),
    });
    assert.equal(res.status, 202, await res.text());
    const job = await waitFor(async () => {
      const j = (await (await api(`${base}/jobs/traced-aws`)).json()) as {
        status: string;
        lastError: unknown;
      };
      return ["success", "failed"].includes(j.status) ? j : undefined;
    }, { what: "the AWS job to end" });
    assert.equal(job.status, "success", JSON.stringify(job.lastError));
    const spans = await waitFor(() => {
      const run = receiver.spans.find((s) =>
        s.name === "run aws.iam.policy" && s.attributes["troupe.job.id"] === "traced-aws"
      );
      const calls = run ? receiver.spans.filter((s) => s.parentSpanId === run.spanId) : [];
      return run && calls.some((s) => s.name === "IAM/AttachRolePolicy") ? { run, calls } : undefined;
    }, { timeoutMs: 20_000, what: "the AWS call spans" });
    const names = spans.calls.map((s) => s.name);
    assert.ok(names.includes("STS/AssumeRole"), `calls: ${names}`);
    const attach = spans.calls.find((s) => s.name === "IAM/AttachRolePolicy")!;
    assert.equal(attach.kind, 3);
    assert.equal(attach.attributes["rpc.system"], "aws-api");
    assert.match(String(attach.attributes["aws.request_id"]), /\S+/);
    assert.ok(
      !receiver.bodies.some((b) => b.includes(aws.master.secretAccessKey)),
      "the secret key is not in any exported span",
    );
  });

  it("a retried job keeps every attempt in the job's trace, the failure marked on its span", async () => {
    const res = await api(`${base}/jobs/noop`, {
      method: "POST",
      headers: { "content-type": "application/json", "Idempotency-Key": "traced-2" },
      body: JSON.stringify({ failTimes: 1, retryAfterMs: 1 }),
    });
    assert.equal(res.status, 202);
    await waitFor(
      async () =>
        ((await (await api(`${base}/jobs/traced-2`)).json()) as { status: string }).status === "success",
      { what: "the job to succeed", timeoutMs: 30_000 },
    );
    const processes = await waitFor(() => {
      const found = receiver.spans.filter((s) =>
        /^process /.test(s.name) && s.attributes["troupe.job.id"] === "traced-2"
      );
      return found.length >= 2 ? found : undefined;
    }, { timeoutMs: 20_000, what: "two process spans of traced-2" });
    const [first, second] = processes.sort((a, b) =>
      Number(a.attributes["troupe.job.attempt"]) - Number(b.attributes["troupe.job.attempt"])
    );
    assert.equal(first!.traceId, second!.traceId, "both attempts in one trace");
    assert.equal(first!.status.code, 2, "the failed attempt's span is an error");
    assert.ok(first!.events.some((e) => e.name === "job.retry"));
    assert.ok(second!.events.some((e) => e.name === "job.success"));
    assert.equal(second!.parentSpanId, first!.spanId, "the retry continues from the failed attempt");
  });
});
