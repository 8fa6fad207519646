/**
 * Worker lifecycle on the embedded backend: graceful shutdown releases what did
 * not finish in the grace period (another worker completes it), per-kind
 * concurrency limits hold, and a cancel and a redrive through the job service
 * leave exactly what the job machine makes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { builtinKinds, type Core, startSystem } from "../../../actors/process/system.ts";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { sleep } from "../../../adapters/noop/mod.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";
import { applyJobEvent, createJobSnapshot, persistJob } from "../../../machines/job-transition.ts";
import { jobWrite, snapshotOfStored } from "../../../machines/job-write.ts";

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

  it("cancel and redrive through the job service store the machine's snapshot, last error and audit rows; the job then runs", async () => {
    // No worker runs yet: what is stored is what the job service committed.
    // A job waiting in retry, as a worker leaves it (through the machine).
    const id = "svc-retry-1";
    const created = createJobSnapshot({
      id,
      kind: "noop",
      maxAttempts: 3,
      backoff: { baseMs: 5000, maxMs: 5000 },
    });
    const locked = applyJobEvent(created, { type: "job.lock", workerId: "gone", leaseVersion: 1 }).snapshot;
    const running = applyJobEvent(locked, { type: "job.start" }).snapshot;
    const retry = applyJobEvent(running, {
      type: "job.fail",
      error: { kind: "transient", code: "SLOW", message: "slow down" },
      jitter: 1,
    }).snapshot;
    assert.equal(retry.context.retryDelayMs, 5000);
    await core.store.admit([{
      id,
      kind: "noop",
      payload: {},
      maxAttempts: 3,
      runAt: new Date(Date.now() + 60_000),
      write: jobWrite(null, [{ snapshot: created }, { snapshot: locked }, { snapshot: running }, {
        snapshot: retry,
      }]),
    }]);
    const before = (await core.store.getJob(id))!;
    assert.equal(before.status, "retry");

    const cancelled = await core.jobs.cancel(id, "test");
    const cancel = applyJobEvent(snapshotOfStored(before), {
      type: "job.cancel",
      reason: "cancelled by user",
    });
    assert.deepEqual(cancelled.snapshot, persistJob(cancel.snapshot), "the snapshot is the machine's");
    assert.deepEqual(cancelled.lastError, {
      kind: "permanent",
      code: "CANCELLED",
      message: "cancelled by user",
    });
    assert.deepEqual(
      cancelled.lastError,
      cancel.snapshot.context.lastError,
      "the column and the snapshot agree",
    );
    assert.equal(cancel.snapshot.context.retryDelayMs, null);
    assert.equal(cancelled.leaseVersion, before.leaseVersion + 1, "a holder would be fenced");

    const redriven = await core.jobs.retry(id, "test");
    const redrive = applyJobEvent(cancel.snapshot, { type: "job.redrive" });
    assert.deepEqual(redriven.snapshot, persistJob(redrive.snapshot), "the snapshot is the machine's");
    assert.equal(redriven.status, "pending");
    assert.equal(redriven.attempts, 0);
    assert.ok(redriven.runAt.getTime() <= Date.now(), "due at once");
    const history = await core.store.jobEvents(id);
    assert.deepEqual(history.slice(-2).map((e) => [e.status, e.data]), [
      ["cancelled", { reason: "cancelled by user", actor: "test" }],
      ["pending", { redrive: true, actor: "test" }],
    ]);

    // The redrive's message brings it to a worker, which runs it from the machine's snapshot.
    const system = await startSystem(core, { worker: true });
    const done = await waitFor(async () => {
      const job = await core.store.getJob(id);
      return job?.status === "success" ? job : undefined;
    }, { what: "the redriven job to run" });
    assert.equal(done.attempts, 1);
    assert.equal(done.lastError, null);
    await system.worker!.stop({ graceMs: 1000 });
  });
});
