/**
 * deploy/nats/troupe-permissions.conf against a real nats-server: each role can
 * do its work and is refused what the file says it may not do. Troupe's own
 * worker and job service run as the `worker` and `gateway` users.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type Core, type RunningSystem, startSystem } from "../../actors/process/system.ts";
import { createNatsBus } from "../../bus/nats-bus.ts";
import { type Subjects, subjectsFor } from "../../bus/subjects.ts";
import { backendEnv, openTestCore, uniqueNamespace } from "../support/system.ts";
import { delay, waitFor } from "../support/wait.ts";
import {
  CONFIG_FILE,
  type PermissionedNats,
  renderPermissionsConfig,
  startPermissionedNats,
  type User,
} from "./permissioned-nats.ts";

const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const dec = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;

/** A permissions violation the server reported, as nats.js parses it. */
interface Violation {
  operation: string;
  subject: string;
}

function asViolation(error: unknown): Violation | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e.name === "PermissionViolationError") return e as unknown as Violation;
  }
  return undefined;
}

/** A connection of one user, with every permissions violation the server reported on it. */
interface UserConnection {
  nc: NatsConnection;
  violations: Violation[];
  /** Resolves once the server reported refusing `operation` on `subject`. */
  refused(operation: "publish" | "subscription", subject: string): Promise<Violation>;
}

/** What a subscription closed with, or "open" when the server left it alone for `ms`. */
function closedWithin(sub: { closed: Promise<void | Error> }, ms = 2000): Promise<void | Error | "open"> {
  return Promise.race([sub.closed, delay(ms).then(() => "open" as const)]);
}

describe("deploy/nats/troupe-permissions.conf", () => {
  let nats: PermissionedNats;
  let subjects: Subjects;
  let env: Record<string, string>;
  let workerSystem: RunningSystem;
  let gatewayCore: Core;
  let admin: UserConnection;
  let adminJsm: JetStreamManager;
  const connections: NatsConnection[] = [];

  async function as(user: User): Promise<UserConnection> {
    const nc = await connect({
      servers: nats.server.url,
      user,
      pass: nats.passwords[user],
      name: `test-${user}`,
    });
    connections.push(nc);
    const violations: Violation[] = [];
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "error") {
          const violation = asViolation(status.error);
          if (violation) violations.push(violation);
        }
      }
    })();
    return {
      nc,
      violations,
      refused: (operation, subject) =>
        waitFor(() => violations.find((v) => v.operation === operation && v.subject === subject), {
          timeoutMs: 5000,
          what: `the server to refuse ${user}'s ${operation} on "${subject}"`,
        }),
    };
  }

  /** The last sequence of the jobs stream: it grows with every message stored, consumed or not. */
  async function jobsLastSeq(): Promise<number> {
    return (await adminJsm.streams.info(subjects.streams.jobs)).state.last_seq;
  }

  /** Env of a Troupe process running as `user` on the test server. */
  function envAs(user: User): Record<string, string> {
    return { ...env, NATS_URL: nats.server.url, NATS_USER: user, NATS_PASSWORD: nats.passwords[user] };
  }

  before(async () => {
    const backend = await backendEnv("nats+postgres");
    const namespace = uniqueNamespace("perm");
    env = {
      ...backend.env,
      TROUPE_NAMESPACE: namespace,
      METRICS_ENABLED: "false",
      TROUPE_SHUTDOWN_GRACE_MS: "200",
      TROUPE_BACKOFF_BASE_MS: "20",
      TROUPE_BACKOFF_MAX_MS: "100",
    };
    subjects = subjectsFor(namespace);
    nats = await startPermissionedNats(namespace);
    // The worker's start runs the bus's init(): it creates the streams and the durable consumer.
    const workerCore = await openTestCore(envAs("worker"));
    workerSystem = await startSystem(workerCore, { worker: true, reconciler: true });
    gatewayCore = await openTestCore(envAs("gateway"));
    admin = await as("admin");
    adminJsm = await jetstreamManager(admin.nc);
  });

  after(async () => {
    await gatewayCore?.close();
    await workerSystem?.stop();
    for (const nc of connections) await nc.close().catch(() => {});
    await nats?.stop();
  });

  it("renderPermissionsConfig() leaves the shipped file as it is for the default namespace and moves every subject for another", () => {
    const shipped = readFileSync(CONFIG_FILE, "utf8");
    assert.equal(renderPermissionsConfig(shipped, "troupe"), shipped);
    const rules = nats.config.split("\n").filter((line) => !line.trimStart().startsWith("#"));
    const quoted = rules.join("\n").match(/"[^"]+"/g) ?? [];
    assert.ok(quoted.length > 40, `expected the subject lists, found ${quoted.length} quoted strings`);
    for (const subject of quoted) {
      assert.match(
        subject,
        new RegExp(`^"(${subjects.namespace}\\.|\\$JS\\.|_INBOX\\.)`),
        `${subject} is outside the namespace`,
      );
      assert.doesNotMatch(subject, /troupe|TROUPE/, `${subject} still names the default namespace`);
    }
  });

  it("viewer's publish to <ns>.jobs.> is refused and never reaches the jobs stream", async () => {
    const viewer = await as("viewer");
    const before = await jobsLastSeq();
    const subject = subjects.job("noop");
    await assert.rejects(
      jetstream(viewer.nc).publish(subject, enc({ payload: {} }), { msgID: "viewer-js" }),
      (error: unknown) => {
        assert.equal(asViolation(error)?.subject, subject);
        return true;
      },
    );
    viewer.nc.publish(subject, enc({ payload: {} }));
    await viewer.nc.flush();
    assert.equal((await viewer.refused("publish", subject)).operation, "publish");
    assert.equal(await jobsLastSeq(), before, "a viewer's message reached the jobs stream");
    assert.equal(viewer.nc.isClosed(), false, "a refused publish should not close the connection");
  });

  it("viewer may not create, update or purge streams", async () => {
    const viewer = await as("viewer");
    const jsm = await jetstreamManager(viewer.nc);
    await assert.rejects(
      jsm.streams.add({ name: `${subjects.streams.jobs}_X`, subjects: [`${subjects.namespace}.x.>`] }),
      (e: unknown) => !!asViolation(e),
    );
    await assert.rejects(
      jsm.streams.update(subjects.streams.events, { max_age: 1 }),
      (e: unknown) => !!asViolation(e),
    );
    await assert.rejects(jsm.streams.purge(subjects.streams.events), (e: unknown) => !!asViolation(e));
  });

  it("worker user runs a job the gateway user submitted, and a viewer follows it live and replays it", async () => {
    const viewer = await as("viewer");
    const live: string[] = [];
    const sub = viewer.nc.subscribe(subjects.eventsFilter, {
      callback: (_error, msg) => {
        live.push(String(dec(msg.data).status));
      },
    });
    await viewer.nc.flush();
    const { id } = await gatewayCore.jobs.submit({ kind: "noop", payload: {} });
    const done = await waitFor(async () => {
      const job = await gatewayCore.store.getJob(id);
      return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
    }, { what: `job "${id}" to end` });
    assert.equal(done.status, "success");
    // The worker acked it (commit, then ack): nothing left pending on its consumer.
    await waitFor(
      async () =>
        (await adminJsm.consumers.info(subjects.streams.jobs, `${subjects.streams.jobs}_WORKERS`))
          .num_ack_pending === 0,
      {
        what: "the worker to ack the job",
        timeoutMs: 5000,
      },
    );
    await waitFor(() => live.includes("success"), { what: "the viewer's live subscription to see success" });
    sub.unsubscribe();
    assert.equal((await sub.closed) instanceof Error, false);

    // Replay with Troupe's own ordered consumer (Bus.watchEvents), as the viewer.
    const bus = await createNatsBus({
      servers: nats.server.url,
      user: "viewer",
      pass: nats.passwords.viewer,
      namespace: subjects.namespace,
    });
    try {
      const replayed: string[] = [];
      const events = bus.watchEvents(id, "all");
      for await (const record of events) {
        assert.equal(record.subject, subjects.event(id));
        replayed.push(String(dec(record.data).status));
        if (replayed.includes("success")) break;
      }
      await events.close();
      const audit = (await gatewayCore.store.jobEvents(id)).map((e) => e.status);
      assert.deepEqual(
        [...replayed].sort(),
        [...audit].sort(),
        "the replay should hold one message per audit row",
      );
      assert.ok(
        replayed.includes("pending") && replayed.at(-1) === "success",
        `replayed ${replayed.join(", ")}`,
      );
    } finally {
      await bus.close();
    }
  });

  it("worker user publishes a job's logs and a viewer replays them, but a viewer cannot write logs", async () => {
    const worker = await createNatsBus({
      servers: nats.server.url,
      user: "worker",
      pass: nats.passwords.worker,
      namespace: subjects.namespace,
    });
    const viewerBus = await createNatsBus({
      servers: nats.server.url,
      user: "viewer",
      pass: nats.passwords.viewer,
      namespace: subjects.namespace,
    });
    try {
      await worker.publishLog("log-job-1", enc({ line: "hello" }), { msgId: "log-job-1:1" });
      await assert.rejects(
        viewerBus.publishLog("log-job-1", enc({ line: "forged" })),
        (e: unknown) => !!asViolation(e),
      );
      const logs = viewerBus.watchLogs("log-job-1", "all");
      const lines: unknown[] = [];
      for await (const record of logs) {
        lines.push(dec(record.data).line);
        break;
      }
      await logs.close();
      assert.deepEqual(lines, ["hello"]);
      const stored = await adminJsm.streams.info(subjects.streams.logs);
      assert.equal(stored.state.messages, 1, "only the worker's line is stored");
    } finally {
      await viewerBus.close();
      await worker.close();
    }
  });

  it("agent-a1 uses its own control subjects and is refused another agent's and the jobs subjects", async () => {
    const agent = await as("agent-a1");
    const own = `${subjects.namespace}.agent.a1.run`;
    const other = `${subjects.namespace}.agent.b2.run`;
    const received: string[] = [];
    agent.nc.subscribe(`${subjects.namespace}.agent.a1.>`, {
      callback: (_error, msg) => {
        received.push(msg.subject);
        if (msg.reply) msg.respond(enc({ ok: true }));
      },
    });
    await agent.nc.flush();
    agent.nc.publish(`${subjects.namespace}.agent.a1.status`, enc({ up: true }));
    await waitFor(() => received.includes(`${subjects.namespace}.agent.a1.status`), {
      what: "the agent to hear itself",
    });

    // A worker asks the agent; the agent answers on the reply inbox (allow_responses).
    const worker = await as("worker");
    const answer = await worker.nc.request(own, enc({ cmd: "true" }), { timeout: 5000 });
    assert.deepEqual(dec(answer.data), { ok: true });

    const foreign = agent.nc.subscribe(`${subjects.namespace}.agent.b2.>`);
    assert.equal(asViolation(await closedWithin(foreign))?.operation, "subscription");

    const before = await jobsLastSeq();
    agent.nc.publish(other, enc({ cmd: "rm" }));
    agent.nc.publish(subjects.job("noop"), enc({ payload: {} }));
    await agent.nc.flush();
    await agent.refused("publish", other);
    await agent.refused("publish", subjects.job("noop"));
    assert.equal(await jobsLastSeq(), before, "an agent's message reached the jobs stream");
    const eavesdrop = agent.nc.subscribe("_INBOX.>");
    assert.equal(asViolation(await closedWithin(eavesdrop))?.operation, "subscription");
  });

  it("gateway user cannot pull from the workers' consumer, delete streams or delete the consumer", async () => {
    const gateway = await as("gateway");
    const js = jetstream(gateway.nc);
    const consumer = await js.consumers.get(subjects.streams.jobs, `${subjects.streams.jobs}_WORKERS`);
    const pulled = consumer.next({ expires: 1000 }).catch(() => null);
    await gateway.refused(
      "publish",
      `$JS.API.CONSUMER.MSG.NEXT.${subjects.streams.jobs}.${subjects.streams.jobs}_WORKERS`,
    );
    assert.equal(await pulled, null);

    const jsm = await jetstreamManager(gateway.nc);
    await assert.rejects(jsm.streams.delete(subjects.streams.jobs), (e: unknown) => !!asViolation(e));
    await assert.rejects(jsm.streams.purge(subjects.streams.jobs), (e: unknown) => !!asViolation(e));
    await assert.rejects(
      jsm.consumers.delete(subjects.streams.jobs, `${subjects.streams.jobs}_WORKERS`),
      (e: unknown) => !!asViolation(e),
    );
    const info = await adminJsm.consumers.info(subjects.streams.jobs, `${subjects.streams.jobs}_WORKERS`);
    assert.equal(info.name, `${subjects.streams.jobs}_WORKERS`);
  });

  it("worker user cannot delete or purge streams, nor create another consumer on the jobs stream", async () => {
    const worker = await as("worker");
    const jsm = await jetstreamManager(worker.nc);
    await assert.rejects(jsm.streams.delete(subjects.streams.events), (e: unknown) => !!asViolation(e));
    await assert.rejects(jsm.streams.purge(subjects.streams.jobs), (e: unknown) => !!asViolation(e));
    await assert.rejects(
      jsm.consumers.add(subjects.streams.jobs, {
        durable_name: "THIEF",
        ack_policy: AckPolicy.Explicit,
        filter_subject: subjects.job("noop"),
      }),
      (e: unknown) => !!asViolation(e),
    );
    assert.ok((await adminJsm.streams.info(subjects.streams.events)).config.name);
  });

  it("worker's job still runs after the refusals above", async () => {
    const { id } = await gatewayCore.jobs.submit({
      kind: "noop",
      payload: { failTimes: 1, failWith: "transient", retryAfterMs: 10 },
      maxAttempts: 3,
    });
    const done = await waitFor(async () => {
      const job = await gatewayCore.store.getJob(id);
      return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
    }, { what: `job "${id}" to end`, timeoutMs: 20_000 });
    assert.equal(done.status, "success");
    assert.equal(done.attempts, 2, "the retry is republished by the worker on <ns>.jobs.>");
  });
});
