/**
 * Worker behaviour, run once per backend (embedded: memory bus + PGlite; real:
 * NATS JetStream + PostgreSQL). Each test gets its own namespace and database.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { builtinKinds, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import type { Core } from "../../../actors/process/system.ts";
import { Reconciler } from "../../../actors/outbox/reconciler.ts";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { type Backend, backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";
import { applyJobEvent, persistJob } from "../../../machines/job-transition.ts";
import { snapshotOfStored } from "../../../machines/job-write.ts";

const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

/** One run a recorder kind saw, and why its signal was aborted. */
interface Seen {
  id: string;
  attempt: number;
  aborted?: boolean;
  why?: string | undefined;
}

/** A kind that records what it saw and returns refs. */
function recorderKind(seen: Seen[]): JobKind {
  return defineKind({
    kind: "test.record",
    description: "records its runs",
    schema: z.object({ holdMs: z.number().int().min(0).default(0) }),
    async run({ id, attempt, payload, signal }) {
      const entry: Seen = { id, attempt };
      seen.push(entry);
      if (payload.holdMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, payload.holdMs);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            entry.aborted = true;
            entry.why = (signal.reason as { why?: string }).why;
            reject(signal.reason);
          }, { once: true });
        });
      }
      return { result: { id }, refs: [{ system: "test", ref: `ref-${id}` }] };
    },
  }) as unknown as JobKind;
}

export function runWorkerScenarios(backend: Backend): void {
  describe(`Worker on ${backend}`, () => {
    let system: RunningSystem;
    let core: Core;
    let cleanup = () => {};
    const seen: Seen[] = [];

    before(async () => {
      const made = await backendEnv(backend);
      cleanup = made.cleanup;
      core = await openTestCore(made.env, {
        env: {
          TROUPE_BACKOFF_BASE_MS: "20",
          TROUPE_BACKOFF_MAX_MS: "100",
          TROUPE_LEASE_MS: "3000",
          TROUPE_MAX_PAYLOAD_BYTES: "4096",
          TROUPE_SHUTDOWN_GRACE_MS: "200",
        },
        kinds: [...builtinKinds(), recorderKind(seen)],
      });
      system = await startSystem(core, { worker: true });
    });

    after(async () => {
      await system?.stop();
      cleanup();
    });

    const job = (id: string) => core.store.getJob(id);
    const final = (id: string) =>
      waitFor(async () => {
        const j = await job(id);
        return j && ["success", "failed", "cancelled"].includes(j.status) ? j : undefined;
      }, { what: `job "${id}" to end` });
    const statuses = async (id: string) => (await core.store.jobEvents(id)).map((e) => e.status);

    it("runs a job published as the nats CLI would, through every state, with one audit row each", async () => {
      await core.bus.publishRaw(`${core.bus.subjects.job("noop")}`, enc({ payload: {} }), {
        headers: { "Nats-Msg-Id": "plain-1" },
        msgId: "plain-1",
      });
      const done = await final("plain-1");
      assert.equal(done.status, "success");
      assert.equal(done.attempts, 1);
      assert.deepEqual(await statuses("plain-1"), ["pending", "locked", "running", "success"]);
    });

    it("records who asked (the gateway's Troupe-Actor header) in the pending audit row", async () => {
      await core.bus.publishJob("noop", enc({ id: "actor-1", payload: {} }), {
        msgId: "actor-1",
        headers: { "Troupe-Actor": "token:admin" },
      });
      await final("actor-1");
      const [pending] = await core.store.jobEvents("actor-1");
      assert.deepEqual([pending?.status, pending?.data.actor, pending?.data.source], [
        "pending",
        "token:admin",
        "api",
      ]);
    });

    it("publishes every committed transition on <ns>.events.<jobId>", async () => {
      await core.bus.publishJob("noop", enc({ id: "evt-1", payload: {} }), { msgId: "evt-1" });
      await final("evt-1");
      const sub = core.bus.watchEvents("evt-1", "all");
      const got: string[] = [];
      for await (const record of sub) {
        got.push(JSON.parse(new TextDecoder().decode(record.data)).status);
        if (got.length === 4) break;
      }
      await sub.close();
      assert.deepEqual(got, ["pending", "locked", "running", "success"]);
    });

    it("retries transient failures with backoff, then succeeds", async () => {
      await core.bus.publishJob("noop", enc({ id: "retry-1", payload: { failTimes: 2 }, maxAttempts: 3 }), {
        msgId: "retry-1",
      });
      const done = await final("retry-1");
      assert.equal(done.status, "success");
      assert.equal(done.attempts, 3);
      assert.deepEqual(await statuses("retry-1"), [
        "pending",
        "locked",
        "running",
        "retry",
        "pending",
        "locked",
        "running",
        "retry",
        "pending",
        "locked",
        "running",
        "success",
      ]);
    });

    it("fails after maxAttempts transient failures, keeping the last error", async () => {
      await core.bus.publishJob("noop", enc({ id: "exhaust-1", payload: { failTimes: 5 }, maxAttempts: 2 }), {
        msgId: "exhaust-1",
      });
      const done = await final("exhaust-1");
      assert.equal(done.status, "failed");
      assert.equal(done.attempts, 2);
      assert.match(JSON.stringify(done.lastError), /failing attempt 2/);
    });

    it("fails a permanent error at once and never retries it", async () => {
      await core.bus.publishJob(
        "noop",
        enc({ id: "perm-1", payload: { failTimes: 1, failWith: "permanent" }, maxAttempts: 5 }),
        { msgId: "perm-1" },
      );
      const done = await final("perm-1");
      assert.equal(done.status, "failed");
      assert.equal(done.attempts, 1);
      assert.deepEqual(await statuses("perm-1"), ["pending", "locked", "running", "failed"]);
    });

    it("records refs and the result on success", async () => {
      await core.bus.publishJob("test.record", enc({ id: "refs-1", payload: {} }), { msgId: "refs-1" });
      const done = await final("refs-1");
      assert.equal(done.status, "success");
      assert.deepEqual(done.result, { id: "refs-1" });
      assert.deepEqual(await core.store.jobRefs("refs-1"), [{ system: "test", ref: "ref-refs-1" }]);
    });

    it("turns malformed JSON, a bad payload, an unknown kind and an oversized message into failed jobs, and keeps flowing", async () => {
      const subject = (kind: string) => `${core.bus.subjects.jobPrefix}${kind}`;
      await core.bus.publishRaw(subject("noop"), enc("{not json"), {
        msgId: "bad-json",
        headers: { "Nats-Msg-Id": "bad-json" },
      });
      await core.bus.publishRaw(subject("noop"), enc({ payload: { sleepMs: "soon" } }), {
        msgId: "bad-schema",
        headers: { "Nats-Msg-Id": "bad-schema" },
      });
      await core.bus.publishRaw(subject("noop"), enc("[1,2]"), {
        msgId: "bad-shape",
        headers: { "Nats-Msg-Id": "bad-shape" },
      });
      await core.bus.publishRaw(subject("no.such.kind"), enc({ payload: {} }), {
        msgId: "bad-kind",
        headers: { "Nats-Msg-Id": "bad-kind" },
      });
      await core.bus.publishRaw(subject("noop"), enc({ payload: { result: "x".repeat(5000) } }), {
        msgId: "too-big",
        headers: { "Nats-Msg-Id": "too-big" },
      });
      await core.bus.publishRaw(subject("noop"), enc({ id: "bad id*", payload: {} }));
      await core.bus.publishJob("noop", enc({ id: "after-bad", payload: {} }), { msgId: "after-bad" });
      const expectations: [string, RegExp][] = [
        ["bad-json", /Malformed JSON/],
        ["bad-schema", /payload\.sleepMs/],
        ["bad-shape", /Invalid payload for kind "noop"/],
        ["bad-kind", /Unknown kind "no\.such\.kind"/],
        ["too-big", /exceeds the limit of 4096 bytes/],
      ];
      for (const [id, pattern] of expectations) {
        const done = await final(id);
        assert.equal(done.status, "failed", id);
        assert.equal(done.attempts, 0, `${id} never ran`);
        assert.match((done.lastError as { message: string }).message, pattern, id);
      }
      assert.equal((await final("after-bad")).status, "success");
      await waitFor(() => system.worker!.stats.rejected >= 1, { what: "the id-less message to be rejected" });
    });

    it("runs an id submitted twice only once", async () => {
      await core.bus.publishJob("test.record", enc({ id: "twice-1", payload: {} }), { msgId: "twice-1" });
      await final("twice-1");
      // Outside the dedupe window (a different msg id): the database refuses it.
      const duplicatesBefore = system.worker!.stats.duplicates;
      await core.bus.publishJob("test.record", enc({ id: "twice-1", payload: {} }), {
        msgId: "twice-1-again",
      });
      await waitFor(() => system.worker!.stats.duplicates > duplicatesBefore, {
        what: "the second delivery to be dropped",
      });
      assert.equal(seen.filter((s) => s.id === "twice-1").length, 1);
      assert.deepEqual(await statuses("twice-1"), ["pending", "locked", "running", "success"]);
    });

    it("cancels a running job and aborts its handler", async () => {
      await core.bus.publishJob("test.record", enc({ id: "cancel-1", payload: { holdMs: 60_000 } }), {
        msgId: "cancel-1",
      });
      const before = await waitFor(async () => {
        const j = await job("cancel-1");
        return j?.status === "running" ? j : undefined;
      }, { what: "cancel-1 to run" });
      await core.jobs.cancel("cancel-1", "test");
      const done = await final("cancel-1");
      assert.equal(done.status, "cancelled");
      // What the service committed is what the machine makes of the running job.
      const cancel = applyJobEvent(snapshotOfStored(before), {
        type: "job.cancel",
        reason: "cancelled by user",
      });
      assert.deepEqual(done.snapshot, persistJob(cancel.snapshot));
      assert.deepEqual(done.lastError, cancel.snapshot.context.lastError);
      assert.equal(done.workerId, null);
      await waitFor(() => seen.find((s) => s.id === "cancel-1")?.aborted, {
        what: "the handler to be aborted",
        timeoutMs: 5000,
      });
      assert.equal(seen.find((s) => s.id === "cancel-1")?.why, "cancel", "the machine's abort reason");
      assert.deepEqual((await statuses("cancel-1")).slice(-1), ["cancelled"]);
    });

    it("aborts an attempt past its timeoutMs (the machine's job.timeout) and fails it as TIMEOUT on its last attempt", async () => {
      await core.bus.publishJob(
        "test.record",
        enc({ id: "timeout-1", payload: { holdMs: 60_000 }, timeoutMs: 200, maxAttempts: 1 }),
        { msgId: "timeout-1" },
      );
      const done = await final("timeout-1");
      assert.equal(done.status, "failed");
      assert.equal((done.lastError as { code: string }).code, "TIMEOUT");
      assert.match((done.lastError as { message: string }).message, /timed out after 200 ms/);
      assert.deepEqual(seen.filter((s) => s.id === "timeout-1").map((s) => [s.aborted, s.why]), [[
        true,
        "timeout",
      ]]);
      assert.deepEqual(await statuses("timeout-1"), ["pending", "locked", "running", "failed"]);
    });

    it("does not run a job before its runAt", async () => {
      const runAt = new Date(Date.now() + 700).toISOString();
      await core.bus.publishJob("test.record", enc({ id: "later-1", payload: {}, runAt }), {
        msgId: "later-1",
      });
      await waitFor(async () => (await job("later-1"))?.status === "pending", { what: "later-1 admitted" });
      const done = await final("later-1");
      assert.equal(done.status, "success");
      const running = (await core.store.jobEvents("later-1")).find((e) => e.status === "running");
      assert.ok(
        running && running.at.getTime() >= new Date(runAt).getTime() - 50,
        "ran no earlier than runAt",
      );
    });

    it("has the reconciler republish a job whose message was lost", async () => {
      await core.store.admit([{ id: "lost-1", kind: "noop", payload: {}, maxAttempts: 3 }]);
      const reconciler = new Reconciler({
        bus: core.bus,
        store: core.store,
        outbox: core.outbox,
        logger: core.logger,
        graceMs: 50,
      });
      await new Promise((r) => setTimeout(r, 120));
      const republished = await reconciler.runOnce();
      assert.ok(republished >= 1);
      assert.equal((await final("lost-1")).status, "success");
      // Its "pending" row was committed but never handed to the publisher (as after a crash):
      // the same pass relayed it from the outbox.
      const sub = core.bus.watchEvents("lost-1", "all");
      const seenStatuses: string[] = [];
      for await (const record of sub) {
        seenStatuses.push((JSON.parse(new TextDecoder().decode(record.data)) as { status: string }).status);
        if (seenStatuses.length === 4) break;
      }
      await sub.close();
      assert.deepEqual([...seenStatuses].sort(), ["locked", "pending", "running", "success"]);
    });
  });
}
