/**
 * The Store contract: postgres.js on a PostgreSQL server and embedded PGlite both run it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Store, TransitionWrite } from "../../adapters/postgres/store.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";
import { type JobEvent } from "../../machines/job-machine.ts";
import { applyJobEvent, createJobSnapshot, persistJob } from "../../machines/job-transition.ts";
import { jobWrite, snapshotOfStored } from "../../machines/job-write.ts";
import { delay } from "../support/wait.ts";

export interface StoreContractOptions {
  name: string;
  /** A fresh, empty store (not yet migrated). */
  create: () => Promise<Store>;
}

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${n++}`;

/** The write of a job born failed with `error`, as the machine derives it. */
function bornFailed(id: string, error: JobErrorInfo) {
  const created = createJobSnapshot({ id, kind: "noop", maxAttempts: 1 });
  const failed = applyJobEvent(created, { type: "job.reject", error }).snapshot;
  return { write: jobWrite(null, [{ snapshot: created, note: { source: "test" } }, { snapshot: failed }]) };
}

export function runStoreContract({ name, create }: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await create();
      await store.migrate();
    });
    after(async () => {
      await store.close();
    });

    const admitOne = (id: string, extra: Record<string, unknown> = {}) =>
      store.admit([{ id, kind: "noop", payload: { a: 1 }, maxAttempts: 3, ...extra }]);
    const lockOne = async (id: string, workerId = "w1", leaseMs = 30_000) =>
      (await store.lock([{ id, workerId, leaseMs }]))[0]!;
    const write = (
      id: string,
      leaseVersion: number,
      status: TransitionWrite["status"],
      extra: Partial<TransitionWrite> = {},
    ): TransitionWrite => ({
      id,
      leaseVersion,
      status,
      snapshot: { value: status },
      attempts: 1,
      events: [{ status, data: { n: 1 } }],
      ...extra,
    });

    it("migrate() is idempotent", async () => {
      assert.deepEqual(await store.migrate(), []);
    });

    it("admit() inserts a job once with a pending event; resubmitting the id does nothing", async () => {
      const id = uid("adm");
      const first = await admitOne(id, { eventData: { source: "test" } });
      assert.deepEqual(first.inserted, [id]);
      assert.equal(first.events.length, 1);
      assert.equal(first.events[0]!.status, "pending");
      assert.deepEqual(first.events[0]!.data, { source: "test" });
      const again = await admitOne(id);
      assert.deepEqual(again.inserted, []);
      assert.deepEqual(again.events, []);
      const job = await store.getJob(id);
      assert.equal(job?.status, "pending");
      assert.deepEqual(job?.payload, { a: 1 });
      assert.equal(job?.maxAttempts, 3);
      assert.equal((await store.jobEvents(id)).length, 1);
    });

    it("admit() of a born-failed job stores its write: pending then failed with the error, and its snapshot", async () => {
      const id = uid("born");
      const made = bornFailed(id, { kind: "permanent", code: "VALIDATION", message: "bad" });
      const r = await admitOne(id, made);
      assert.deepEqual(r.events.map((e) => [e.status, e.data]), [
        ["pending", { source: "test" }],
        ["failed", { error: { kind: "permanent", code: "VALIDATION", message: "bad" } }],
      ]);
      const job = await store.getJob(id);
      assert.equal(job?.status, "failed");
      assert.deepEqual(job?.lastError, { kind: "permanent", code: "VALIDATION", message: "bad" });
      assert.deepEqual(job?.snapshot, made.write.snapshot);
      assert.equal(job?.leaseVersion, 0);
    });

    it("admit() with a lease inserts a started job holding lease version 1, with every audit row", async () => {
      const id = uid("start");
      const created = createJobSnapshot({ id, kind: "noop", maxAttempts: 3 });
      const locked = applyJobEvent(created, { type: "job.lock", workerId: "w9", leaseVersion: 1 }).snapshot;
      const running = applyJobEvent(locked, { type: "job.start" }).snapshot;
      const write = jobWrite(null, [{ snapshot: created }, { snapshot: locked }, { snapshot: running }]);
      const r = await admitOne(id, { write, lease: { workerId: "w9", leaseMs: 30_000 } });
      assert.deepEqual(r.events.map((e) => e.status), ["pending", "locked", "running"]);
      const job = await store.getJob(id);
      assert.equal(job?.status, "running");
      assert.equal(job?.attempts, 1);
      assert.equal(job?.workerId, "w9");
      assert.equal(job?.leaseVersion, 1);
      assert.ok(job?.leaseExpiresAt);
      assert.deepEqual(job?.snapshot, persistJob(running));
      assert.deepEqual(await store.heartbeat([{ id, leaseVersion: 1 }], 30_000), [id]);
    });

    it("lock() takes a due pending job, bumps the fencing token and sets a lease from the database clock", async () => {
      const id = uid("lock");
      await admitOne(id);
      const r = await lockOne(id, "w1", 5000);
      assert.ok(r.locked);
      assert.equal(r.previousStatus, "pending");
      assert.equal(r.job.status, "locked");
      assert.equal(r.job.workerId, "w1");
      assert.equal(r.job.leaseVersion, 1);
      const leaseLeft = r.job.leaseExpiresAt!.getTime() - r.job.updatedAt.getTime();
      assert.ok(leaseLeft > 4900 && leaseLeft <= 5001, `lease ${leaseLeft} ms`);
    });

    it("lock() refuses a job whose lease is held, saying when to come back", async () => {
      const id = uid("held");
      await admitOne(id);
      await lockOne(id, "w1", 5000);
      const r = await lockOne(id, "w2");
      assert.equal(r.locked, false);
      assert.ok(!r.locked && r.reason === "leased" && r.retryInMs! > 0 && r.retryInMs! <= 5000);
    });

    it("lock() takes over a job whose lease expired", async () => {
      const id = uid("expired");
      await admitOne(id);
      const first = await lockOne(id, "w1", 50);
      await delay(120);
      const second = await lockOne(id, "w2", 5000);
      assert.ok(first.locked && second.locked);
      assert.equal(second.leaseExpired, true);
      assert.equal(second.job.leaseVersion, first.job.leaseVersion + 1);
      assert.equal(second.job.workerId, "w2");
    });

    it("lock() refuses final, not-due and missing jobs with the reason", async () => {
      const done = uid("final");
      await admitOne(done, bornFailed(done, { kind: "permanent", code: "X", message: "x" }));
      const later = uid("later");
      await admitOne(later, { runAt: new Date(Date.now() + 60_000) });
      const results = await store.lock([
        { id: done, workerId: "w", leaseMs: 1000 },
        { id: later, workerId: "w", leaseMs: 1000 },
        { id: uid("nope"), workerId: "w", leaseMs: 1000 },
      ]);
      assert.deepEqual(results.map((r) => !r.locked && r.reason), ["final", "not-due", "missing"]);
      const notDue = results[1]!;
      assert.ok(!notDue.locked && notDue.retryInMs! > 58_000);
    });

    it("lock() called concurrently for one job lets exactly one win", async () => {
      const id = uid("race");
      await admitOne(id);
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => lockOne(id, `w${i}`)));
      assert.equal(results.filter((r) => r.locked).length, 1);
    });

    it("commit() with a stale fencing token is refused and writes no event", async () => {
      const id = uid("fence");
      await admitOne(id);
      const a = await lockOne(id, "a", 50);
      await delay(120);
      const b = await lockOne(id, "b", 5000);
      assert.ok(a.locked && b.locked);
      const stale = await store.commit([write(id, a.job.leaseVersion, "success")]);
      assert.deepEqual(stale.accepted, []);
      assert.deepEqual(stale.events, []);
      const fresh = await store.commit([write(id, b.job.leaseVersion, "running")]);
      assert.deepEqual(fresh.accepted, [id]);
      assert.deepEqual((await store.jobEvents(id)).map((e) => e.status), ["pending", "running"]);
    });

    it("commit() writes events in order, refs, result and error, and releases the lease", async () => {
      const ids = [uid("c1"), uid("c2")];
      for (const id of ids) await admitOne(id);
      const locks = await store.lock(ids.map((id) => ({ id, workerId: "w", leaseMs: 5000 })));
      const v = (i: number) => (locks[i] as { job: { leaseVersion: number } }).job.leaseVersion;
      const r = await store.commit([
        {
          ...write(ids[0]!, v(0), "success"),
          events: [{ status: "locked", data: {} }, { status: "running", data: {} }, {
            status: "success",
            data: { ms: 1 },
          }],
          result: { ok: true },
          lastError: null,
          releaseLease: true,
          refs: [{ system: "aws.iam", ref: "req-1" }],
        },
        {
          ...write(ids[1]!, v(1), "retry"),
          lastError: { message: "later" },
          runInMs: 60_000,
          releaseLease: true,
        },
      ]);
      assert.deepEqual(r.accepted.sort(), [...ids].sort());
      assert.deepEqual(r.events.map((e) => `${e.jobId === ids[0] ? 1 : 2}:${e.status}`), [
        "1:locked",
        "1:running",
        "1:success",
        "2:retry",
      ]);
      const ordered = r.events.map((e) => e.id);
      assert.deepEqual(ordered, [...ordered].sort((x, y) => x - y));
      const one = await store.getJob(ids[0]!);
      assert.equal(one?.status, "success");
      assert.deepEqual(one?.result, { ok: true });
      assert.equal(one?.workerId, null);
      assert.equal(one?.leaseExpiresAt, null);
      assert.deepEqual(await store.jobRefs(ids[0]!), [{ system: "aws.iam", ref: "req-1" }]);
      const two = await store.getJob(ids[1]!);
      assert.equal(two?.status, "retry");
      assert.deepEqual(two?.lastError, { message: "later" });
      const relock = await lockOne(ids[1]!);
      assert.ok(!relock.locked && relock.reason === "not-due", "retry waits for its backoff");
    });

    it("heartbeat() extends only leases still held", async () => {
      const a = uid("hb");
      const b = uid("hb");
      await admitOne(a);
      await admitOne(b);
      const la = await lockOne(a, "w", 1000);
      const lb = await lockOne(b, "w", 1000);
      assert.ok(la.locked && lb.locked);
      const held = await store.heartbeat([{ id: a, leaseVersion: la.job.leaseVersion }, {
        id: b,
        leaseVersion: lb.job.leaseVersion + 7,
      }], 60_000);
      assert.deepEqual(held, [a]);
      const job = await store.getJob(a);
      assert.ok(job!.leaseExpiresAt!.getTime() - job!.updatedAt.getTime() > 50_000);
    });

    /** A change by a writer without a lease, as the job service makes it: guarded by what it read, taking the lease. */
    const leaseless = async (id: string, event: JobEvent, note: Record<string, unknown> = {}) => {
      const job = (await store.getJob(id))!;
      const before = snapshotOfStored(job);
      const next = applyJobEvent(before, event).snapshot;
      const w: TransitionWrite = {
        id,
        leaseVersion: job.leaseVersion,
        expectStatus: job.status,
        bumpLease: true,
        ...jobWrite(before, [{ snapshot: next, note }]),
      };
      return { w, next, job };
    };

    it("commit() of a lease-less write (a cancel) ends a running job, fences its holder, and is refused once the row changed", async () => {
      const id = uid("cancel");
      await admitOne(id);
      const l = await lockOne(id);
      assert.ok(l.locked);
      const { w, next } = await leaseless(id, { type: "job.cancel", reason: "by test" }, { actor: "test" });
      const stale = { ...w };
      const committed = await store.commit([w]);
      assert.deepEqual(committed.accepted, [id]);
      assert.deepEqual(committed.events.map((e) => [e.status, e.data]), [
        ["cancelled", { reason: "by test", actor: "test" }],
      ]);
      const job = await store.getJob(id);
      assert.equal(job?.status, "cancelled");
      assert.equal(job?.leaseVersion, l.job.leaseVersion + 1);
      assert.equal(job?.workerId, null);
      assert.deepEqual(job?.lastError, { kind: "permanent", code: "CANCELLED", message: "by test" });
      assert.deepEqual(job?.snapshot, persistJob(next), "the stored snapshot is the machine's");
      assert.deepEqual(
        (await store.commit([write(id, l.job.leaseVersion, "success")])).accepted,
        [],
        "the holder is fenced",
      );
      assert.deepEqual(
        (await store.commit([stale])).accepted,
        [],
        "a write of what it no longer is is refused",
      );
    });

    it("commit() of a lease-less write with the wrong status is refused, whatever its lease version", async () => {
      const id = uid("expect");
      await admitOne(id);
      const { w } = await leaseless(id, { type: "job.cancel" });
      assert.deepEqual((await store.commit([{ ...w, expectStatus: "running" }])).accepted, []);
      assert.equal((await store.getJob(id))?.status, "pending");
      assert.deepEqual((await store.jobEvents(id)).map((e) => e.status), ["pending"]);
    });

    it("commit() of a redrive brings a failed job back: pending, due now, attempts 0, lease taken, the machine's snapshot", async () => {
      const failedId = uid("redrive-born");
      await admitOne(failedId, {
        ...bornFailed(failedId, { kind: "permanent", code: "X", message: "boom" }),
        runAt: new Date(Date.now() + 60_000),
      });
      const before = await store.getJob(failedId);
      const { w, next } = await leaseless(failedId, { type: "job.redrive" }, { actor: "test" });
      assert.equal(w.runInMs, 0);
      const committed = await store.commit([w]);
      assert.deepEqual(committed.events.map((e) => [e.status, e.data]), [["pending", {
        redrive: true,
        actor: "test",
      }]]);
      const job = await store.getJob(failedId);
      assert.equal(job?.status, "pending");
      assert.equal(job?.attempts, 0);
      assert.equal(job?.leaseVersion, before!.leaseVersion + 1);
      assert.deepEqual(job?.snapshot, persistJob(next));
      assert.deepEqual(
        job?.lastError,
        { kind: "permanent", code: "X", message: "boom" },
        "the last error is kept",
      );
      assert.ok((await lockOne(failedId)).locked, "it is due and can run again");
    });

    it("listJobs() filters by creation time with since", async () => {
      const kind = `s${Date.now().toString(36)}`;
      await store.admit([{ id: uid("old"), kind, payload: null, maxAttempts: 1 }]);
      await delay(30);
      const cut = new Date();
      await delay(30);
      const fresh = uid("new");
      await store.admit([{ id: fresh, kind, payload: null, maxAttempts: 1 }]);
      assert.deepEqual((await store.listJobs({ kind, since: cut })).jobs.map((j) => j.id), [fresh]);
    });

    it("claimStale() finds a job left pending past the grace, once per grace period", async () => {
      const id = uid("stale");
      await admitOne(id);
      await delay(150);
      const first = await store.claimStale(100, 1000);
      assert.ok(first.some((j) => j.id === id));
      const again = await store.claimStale(100, 1000);
      assert.ok(!again.some((j) => j.id === id), "not again within the grace");
      await delay(150);
      assert.ok((await store.claimStale(100, 1000)).some((j) => j.id === id), "again after the grace");
    });

    it("listJobs() pages newest first and filters by status and kind", async () => {
      const kind = `k${Date.now().toString(36)}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = uid("list");
        ids.push(id);
        await store.admit([{ id, kind, payload: null, maxAttempts: 1 }]);
      }
      const page1 = await store.listJobs({ kind, limit: 2 });
      assert.deepEqual(page1.jobs.map((j) => j.id), [ids[4], ids[3]]);
      const page2 = await store.listJobs({ kind, limit: 2, cursor: page1.nextCursor! });
      assert.deepEqual(page2.jobs.map((j) => j.id), [ids[2], ids[1]]);
      const page3 = await store.listJobs({ kind, limit: 2, cursor: page2.nextCursor! });
      assert.deepEqual(page3.jobs.map((j) => j.id), [ids[0]]);
      assert.equal(page3.nextCursor, undefined);
      assert.equal((await store.listJobs({ kind, status: "success" })).jobs.length, 0);
      await assert.rejects(store.listJobs({ cursor: "garbage" }), /Invalid cursor/);
    });

    it("unpublishedEvents() and markPublished() drive the outbox", async () => {
      const id = uid("outbox");
      const { events } = await admitOne(id);
      await delay(30);
      const pending = await store.unpublishedEvents(10, 10_000);
      assert.ok(pending.some((e) => e.id === events[0]!.id));
      assert.ok(events[0]!.outboxId !== undefined, "written events name their outbox row");
      assert.equal(pending.find((e) => e.id === events[0]!.id)?.outboxId, events[0]!.outboxId);
      await store.markPublished([events[0]!.outboxId!]);
      assert.ok(!(await store.unpublishedEvents(0, 10_000)).some((e) => e.id === events[0]!.id));
    });

    it("recordRejected() stores subject, reason, seq and headers, and listRejected() reads them back newest first", async () => {
      const subject = uid("troupe.jobs.rej");
      await store.recordRejected({ subject, reason: "no id", seq: 3, headers: { a: "b" } });
      await store.recordRejected({ subject, reason: "MALFORMED: not JSON" });
      const [second, first] = (await store.listRejected({ limit: 10 })).filter((r) => r.subject === subject);
      assert.deepEqual([first?.reason, first?.seq, first?.headers], ["no id", 3, { a: "b" }]);
      assert.deepEqual([second?.reason, second?.seq, second?.headers], ["MALFORMED: not JSON", null, {}]);
      assert.ok(first!.at instanceof Date && !Number.isNaN(first!.at.getTime()));
      assert.ok(second!.id > first!.id);
      assert.equal((await store.listRejected({ limit: 1 })).length, 1);
    });

    it("countByStatus() and ping() answer", async () => {
      const counts = await store.countByStatus();
      assert.ok((counts.pending ?? 0) >= 1);
      assert.equal(await store.ping(), true);
    });
  });
}
