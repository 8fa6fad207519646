import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { encodeLogChunk, type LogChunk } from "../../../bus/log-chunk.ts";
import { asAdmin, TEST_TOKENS } from "../../support/gateway.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";

/** Reads an SSE response to its end: the events with their ids. */
async function readSse(res: Response): Promise<{ id?: string; event?: string; data: string }[]> {
  const text = await res.text();
  return text.split("\n\n").filter((block) => block.trim() !== "").map((block) => {
    const out: { id?: string; event?: string; data: string } = { data: "" };
    for (const line of block.split("\n")) {
      const [field, ...rest] = line.split(":");
      const value = rest.join(":").replace(/^ /, "");
      if (field === "id") out.id = value;
      else if (field === "event") out.event = value;
      else if (field === "data") out.data += value;
    }
    return out;
  });
}

describe("Gateway: /openapi.json and GET /jobs/:id/logs", () => {
  let core: Core;
  let system: RunningSystem;
  let app: Hono;
  let cleanup = () => {};

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env);
    system = await startSystem(core, { worker: true });
    app = asAdmin(createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: 4096,
      version: "9.9.9",
      logStream: { pollMs: 20, quietMs: 100 },
      inventory: { schedules: core.schedules, resources: core.inventory },
      tokens: TEST_TOKENS,
    }));
  });
  after(async () => {
    await system?.stop();
    cleanup();
  });

  it("/openapi.json documents every route the gateway serves, with each kind's payload schema", async () => {
    const res = await app.request("/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json() as {
      openapi: string;
      info: { version: string };
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.version, "9.9.9");
    let served = 0;
    for (const route of app.routes) {
      if (route.method === "ALL") continue;
      const path = route.path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, "{$1}");
      if (route.path.startsWith("/schedules") || route.path.startsWith("/resources")) served++;
      if (path === "/jobs/{kind}") {
        assert.ok(doc.paths["/jobs/noop"]?.post, "each kind's trigger route is documented");
        continue;
      }
      assert.ok(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path} is documented`);
    }
    assert.ok(served >= 7, "the schedule and inventory routes are served (and so checked above)");
    assert.ok(doc.paths["/jobs/discovery.kubernetes"]?.post, "the discovery kinds are documented");
    const trigger = doc.paths["/jobs/noop"]!.post as {
      requestBody: {
        content: {
          "application/json": {
            schema: { properties: Record<string, { type?: string }>; additionalProperties?: boolean };
          };
        };
      };
    };
    const schema = trigger.requestBody.content["application/json"].schema;
    assert.equal(schema.properties.sleepMs?.type, "integer");
    assert.equal(schema.additionalProperties, false);
    assert.ok(doc.components.schemas.Submit_noop);
  });

  it("POST /jobs/aws.iam.policy validates against the kind's schema before publishing, naming the field", async () => {
    const res = await app.request("/jobs/aws.iam.policy", {
      method: "POST",
      body: JSON.stringify({
        action: "attach",
        accountId: "123",
        principalType: "role",
        principalName: "app",
        policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
      }),
    });
    assert.equal(res.status, 422);
    const body = await res.json() as { error: { code: string; message: string } };
    assert.match(body.error.message, /payload\.accountId/);
    const doc = await (await app.request("/openapi.json")).json() as { paths: Record<string, unknown> };
    assert.ok(doc.paths["/jobs/aws.iam.policy"], "the AWS kind's trigger route is documented");
  });

  it("GET /jobs/:id/logs replays the output, follows it live, ends after the job and resumes after Last-Event-ID", async () => {
    const id = "logs-1";
    const submitted = await app.request("/jobs", {
      method: "POST",
      body: JSON.stringify({ kind: "noop", id, payload: { sleepMs: 400 } }),
    });
    assert.equal(submitted.status, 202);
    const chunk = (seq: number, text: string): LogChunk => ({
      jobId: id,
      seq,
      stream: seq % 2 ? "stdout" : "stderr",
      text,
      at: new Date().toISOString(),
    });
    const publish = async (c: LogChunk) => {
      const { data, msgId } = encodeLogChunk(c);
      await core.bus.publishLog(id, data, { msgId });
    };
    await publish(chunk(1, "one\n"));
    await publish(chunk(2, "two\n"));
    const streaming = app.request(`/jobs/${id}/logs`);
    setTimeout(() => void publish(chunk(3, "three\n")), 100);
    const events = await readSse(await streaming);
    const logs = events.filter((e) => e.event === "log").map((e) => JSON.parse(e.data) as LogChunk);
    assert.deepEqual(logs.map((l) => [l.seq, l.stream, l.text]), [[1, "stdout", "one\n"], [
      2,
      "stderr",
      "two\n",
    ], [3, "stdout", "three\n"]]);
    const end = events.at(-1)!;
    assert.equal(end.event, "end");
    assert.equal(JSON.parse(end.data).status, "success");

    const secondId = events.filter((e) => e.event === "log")[1]!.id!;
    const resumed = await readSse(
      await app.request(`/jobs/${id}/logs`, { headers: { "Last-Event-ID": secondId } }),
    );
    assert.deepEqual(
      resumed.filter((e) => e.event === "log").map((e) => (JSON.parse(e.data) as LogChunk).seq),
      [3],
    );
  });

  it("GET /jobs/:id/logs answers 404 for an unknown job and 422 for a bad Last-Event-ID", async () => {
    assert.equal((await app.request("/jobs/nope-404/logs")).status, 404);
    assert.equal(
      (await app.request("/jobs/logs-1/logs", { headers: { "Last-Event-ID": "-3" } })).status,
      422,
    );
  });
});
