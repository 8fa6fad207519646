/**
 * The `nats pub -H traceparent:…` leg of tracing, over real NATS and PostgreSQL:
 * a job published straight onto the bus with a W3C `traceparent` header is
 * processed by a real `troupe worker` process whose spans, exported over OTLP,
 * join the publisher's trace (Node: the OpenTelemetry SDK; Deno: its built-in
 * OpenTelemetry).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { testNatsUrl } from "../../harness/nats-server.ts";
import { testDatabaseUrl } from "../../harness/postgres-server.ts";
import { exited, startCli } from "../../support/cli.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";
import { uniqueNamespace } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const PUBLISHER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const PUBLISHER_SPAN = "b7ad6b7169203331";

describe("Traces of a job published on NATS with a traceparent header", () => {
  let receiver: OtlpReceiver;
  let nc: NatsConnection;
  let worker: ReturnType<typeof startCli>;
  let sql: ReturnType<typeof postgres>;
  const namespace = uniqueNamespace("trace");

  before(async () => {
    receiver = await startOtlpReceiver();
    const natsUrl = await testNatsUrl();
    const databaseUrl = await testDatabaseUrl();
    nc = await connect({ servers: natsUrl });
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    worker = startCli(["worker"], {
      NATS_URL: natsUrl,
      DATABASE_URL: databaseUrl,
      TROUPE_NAMESPACE: namespace,
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "troupe-nats-trace",
      OTEL_DENO: "true",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
      OTEL_DENO_CONSOLE: "ignore",
    });
    await waitFor(() => /Worker started/.test(worker.output()), {
      timeoutMs: 60_000,
      what: "the worker to start",
    });
  });

  after(async () => {
    worker?.kill("SIGKILL");
    if (worker) await exited(worker).catch(() => {});
    await nc?.close();
    await sql?.end();
    await receiver?.close();
  });

  it("the worker's process and run spans are children of the publisher's span", async () => {
    const h = natsHeaders();
    h.set("Nats-Msg-Id", "nats-traced-1");
    h.set("traceparent", `00-${PUBLISHER_TRACE}-${PUBLISHER_SPAN}-01`);
    nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ payload: { sleepMs: 5 } }), { headers: h });
    await nc.flush();
    await waitFor(async () => {
      const [row] = await sql`select status from jobs where id = 'nats-traced-1'`;
      return row?.status === "success";
    }, { timeoutMs: 30_000, what: "the published job to succeed" });
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === PUBLISHER_TRACE);
      return mine.some((s) => s.name === "run noop") && mine.some((s) => /^process /.test(s.name))
        ? mine
        : undefined;
    }, {
      timeoutMs: 20_000,
      what: `spans of trace ${PUBLISHER_TRACE} (got ${
        receiver.spans.map((s) => `${s.name}@${s.traceId}`).join(", ")
      })`,
    });
    const processSpan = spans.find((s) => /^process .*\.jobs\.noop$/.test(s.name));
    assert.ok(processSpan, `a process span among ${spans.map((s) => s.name)}`);
    assert.equal(
      processSpan.parentSpanId,
      PUBLISHER_SPAN,
      "the consumer span continues the publisher's span",
    );
    assert.equal(processSpan.kind, 5);
    assert.equal(processSpan.attributes["troupe.job.id"], "nats-traced-1");
    assert.equal(processSpan.service, "troupe-nats-trace");
    const run = spans.find((s) => s.name === "run noop");
    assert.equal(run?.parentSpanId, processSpan.spanId);
  });

  it("a message without a traceparent starts a trace of its own", async () => {
    const h = natsHeaders();
    h.set("Nats-Msg-Id", "nats-untraced-1");
    nc.publish(`${namespace}.jobs.noop`, JSON.stringify({ payload: {} }), { headers: h });
    await nc.flush();
    const processSpan = await waitFor(
      () =>
        receiver.spans.find((s) =>
          /^process /.test(s.name) && s.attributes["troupe.job.id"] === "nats-untraced-1"
        ),
      { timeoutMs: 30_000, what: "the untraced job's process span" },
    );
    assert.notEqual(processSpan.traceId, PUBLISHER_TRACE);
    assert.match(processSpan.traceId, /^[0-9a-f]{32}$/);
  });
});
