import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createNatsBus } from "../../bus/nats-bus.ts";
import { runBusContract } from "../contract/bus.contract.ts";
import { startNatsServer, testNatsUrl } from "../harness/nats-server.ts";
import { uniqueNamespace } from "../support/system.ts";

runBusContract({
  name: "NATS JetStream",
  create: async (options) => {
    const bus = await createNatsBus({
      servers: await testNatsUrl(),
      namespace: uniqueNamespace("b"),
      ...options,
    });
    await bus.init();
    return bus;
  },
});

describe("NATS bus specifics", () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server.stop();
  });

  it("init() is idempotent and two namespaces on one server do not see each other's jobs", async () => {
    const a = await createNatsBus({ servers: server.url, namespace: "alpha" });
    const b = await createNatsBus({ servers: server.url, namespace: "beta" });
    await a.init();
    await a.init();
    await b.init();
    await a.publishJob("noop", new TextEncoder().encode("for alpha"));
    assert.deepEqual(await b.pullJobs({ max: 1, expiresMs: 1000 }), []);
    const [d] = await a.pullJobs({ max: 1, expiresMs: 2000 });
    assert.equal(new TextDecoder().decode(d!.data), "for alpha");
    await d!.ack();
    await a.close();
    await b.close();
  });

  it("keeps pending work across a server restart and reconnects by itself", async () => {
    const bus = await createNatsBus({ servers: server.url, namespace: uniqueNamespace("rs") });
    await bus.init();
    for (let i = 0; i < 20; i++) await bus.publishJob("noop", new TextEncoder().encode(String(i)));
    await server.restart();
    const got: string[] = [];
    const deadline = Date.now() + 20_000;
    while (got.length < 21 && Date.now() < deadline) {
      if (got.length === 20) {
        try {
          await bus.publishJob("noop", new TextEncoder().encode("after"));
        } catch {
          continue;
        }
      }
      for (const d of await bus.pullJobs({ max: 50, expiresMs: 1000 })) {
        got.push(new TextDecoder().decode(d.data));
        await d.ack();
      }
    }
    assert.equal(got.length, 21, `got ${got.length}`);
    assert.ok(got.includes("after"));
    await bus.close();
  });

  it("says which server it could not reach, without credentials", async () => {
    await assert.rejects(
      createNatsBus({ servers: "nats://user:s3cret@127.0.0.1:1", namespace: "x" }),
      (error: Error) =>
        /Cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/.test(error.message) &&
        !error.message.includes("s3cret"),
    );
  });
});
