/**
 * SSE clients that go away leave nothing behind on NATS: the ordered consumer
 * behind `GET /jobs/:id/events` and `GET /jobs/:id/logs` is deleted when the
 * client disconnects early (the server would otherwise keep it 5 minutes),
 * counted on the streams with the JetStream manager.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { parseApiTokens } from "../../../actors/gateway/auth.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { serve } from "../../../actors/process/runtime.ts";
import type { Core } from "../../../actors/process/system.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const VIEWER = "viewer-token-sse-0123456789ab";

describe("SSE consumers on NATS", () => {
  let core: Core;
  let app: Hono;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("nats+postgres");
    cleanup = made.cleanup;
    nc = await connect({ servers: made.env.NATS_URL! });
    jsm = await jetstreamManager(nc);
    // No worker: the job stays pending, so both streams stay open until the client goes.
    core = await openTestCore(made.env);
    app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 4096,
      tokens: parseApiTokens(`viewer:${VIEWER}`),
      logStream: { pollMs: 50, quietMs: 100 },
    });
    await core.jobs.submit({ kind: "noop", id: "sse-open" });
  });
  after(async () => {
    await core?.close();
    await nc?.close();
    cleanup();
  });

  const consumers = async (stream: string) => (await jsm.streams.info(stream)).state.consumer_count;

  /** Opens `path`, reads until `until` shows up (or the first bytes), and disconnects. */
  async function openThenLeave(path: string, stream: string, until?: RegExp): Promise<void> {
    const before = await consumers(stream);
    const res = await app.request(path, { headers: { authorization: `Bearer ${VIEWER}` } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    if (until) {
      let text = "";
      while (!until.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    }
    await waitFor(async () => (await consumers(stream)) === before + 1, {
      timeoutMs: 5000,
      what: "the stream's consumer to exist",
    });
    await reader.cancel();
    await waitFor(async () => (await consumers(stream)) === before, {
      timeoutMs: 5000,
      what: "the consumer to be deleted after the client left",
    });
  }

  it("GET /jobs/:id/events deletes its consumer when the client disconnects mid-stream", async () => {
    await openThenLeave("/jobs/sse-open/events", core.bus.subjects.streams.events, /"status":"pending"/);
  });

  it("a client of the real HTTP server that hangs up mid-stream leaves no consumer either", async () => {
    const server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
    try {
      const stream = core.bus.subjects.streams.events;
      const before = await consumers(stream);
      const hangUp = new AbortController();
      const res = await fetch(`http://127.0.0.1:${server.port}/jobs/sse-open/events`, {
        headers: { authorization: `Bearer ${VIEWER}` },
        signal: hangUp.signal,
      });
      const reader = res.body!.getReader();
      let text = "";
      while (!/"status":"pending"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await waitFor(async () => (await consumers(stream)) === before + 1, {
        timeoutMs: 5000,
        what: "the consumer to exist",
      });
      hangUp.abort();
      await reader.cancel().catch(() => {});
      await waitFor(async () => (await consumers(stream)) === before, {
        timeoutMs: 5000,
        what: "the consumer to be deleted after the client hung up",
      });
    } finally {
      await server.close();
    }
  });

  it("GET /jobs/:id/logs deletes its consumer when the client disconnects while the job is silent", async () => {
    await openThenLeave("/jobs/sse-open/logs", core.bus.subjects.streams.logs);
  });
});
