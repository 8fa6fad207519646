/**
 * Worker lifecycle on the embedded backend: graceful shutdown releases what did
 * not finish in the grace period (another worker completes it), and per-kind
 * concurrency limits hold.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { builtinKinds, type Core, startSystem } from "../../../actors/process/system.ts";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { sleep } from "../../../adapters/noop/mod.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("Worker lifecycle", () => {
  let core: Core;
  let cleanup = () => {};
  const intervals: [number, number][] = [];
  const single = defineKind({
    kind: "test.single",
    description: "one at a time",
    schema: z.object({}).default({}),
    concurrency: 1,
    async run({ signal }) {
      const start = Date.now();
      await sleep(150, signal);
      intervals.push([start, Date.now()]);
    },
  }) as unknown as JobKind;

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env, {
      env: { TROUPE_SHUTDOWN_GRACE_MS: "100" },
      kinds: [...builtinKinds(), single],
    });
  });
  after(async () => {
    await core.close();
    cleanup();
  });

  it("stop() lets short jobs finish, releases long ones to pending, and a successor completes them", async () => {
    const first = await startSystem(core, { worker: true });
    await core.bus.publishJob("noop", enc({ id: "long-1", payload: { sleepMs: 2000 } }), { msgId: "long-1" });
    await core.bus.publishJob("noop", enc({ id: "short-1", payload: { sleepMs: 20 } }), { msgId: "short-1" });
    await waitFor(async () => (await core.store.getJob("long-1"))?.status === "running", {
      what: "long-1 to run",
    });
    await first.worker!.stop({ graceMs: 300 });
    assert.equal((await core.store.getJob("short-1"))?.status, "success", "finished within the grace period");
    const released = await core.store.getJob("long-1");
    assert.equal(released?.status, "pending");
    assert.equal(released?.attempts, 0, "the interrupted attempt is given back");
    const history = await core.store.jobEvents("long-1");
    assert.deepEqual(history.map((e) => e.status), ["pending", "locked", "running", "pending"]);
    assert.equal(history.at(-1)?.data.released, true);

    const second = await startSystem(core, { worker: true });
    await waitFor(async () => (await core.store.getJob("long-1"))?.status === "success", {
      what: "the successor to finish long-1",
    });
    assert.equal((await core.store.getJob("long-1"))?.attempts, 1);
    await second.worker!.stop({ graceMs: 1000 });
  });

  it("runs no more jobs of a kind at once than its concurrency", async () => {
    const system = await startSystem(core, { worker: true });
    for (let i = 0; i < 4; i++) {
      await core.bus.publishJob("test.single", enc({ id: `single-${i}` }), { msgId: `single-${i}` });
    }
    await waitFor(async () => {
      const counts = await Promise.all(
        [0, 1, 2, 3].map(async (i) => (await core.store.getJob(`single-${i}`))?.status),
      );
      return counts.every((s) => s === "success");
    }, { timeoutMs: 20_000, what: "all single jobs" });
    await system.worker!.stop({ graceMs: 1000 });
    assert.equal(intervals.length, 4);
    const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      assert.ok(sorted[i]![0] >= sorted[i - 1]![1] - 5, "runs did not overlap");
    }
  });
});
