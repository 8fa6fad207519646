import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type JobEvent, type JobSnapshot } from "../../machines/job-machine.ts";
import { applyJobEvent, createJobSnapshot, dueEvent, persistJob } from "../../machines/job-transition.ts";
import { jobWrite, snapshotOfStored } from "../../machines/job-write.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";

const input = { id: "j1", kind: "noop", maxAttempts: 2, backoff: { baseMs: 100, maxMs: 1000 } };
const transient: JobErrorInfo = { kind: "transient", code: "SLOW", message: "slow down" };

/** The snapshots after each event, in order. */
function walk(from: JobSnapshot, events: JobEvent[]): JobSnapshot[] {
  const out: JobSnapshot[] = [];
  let snapshot = from;
  for (const event of events) {
    snapshot = applyJobEvent(snapshot, event).snapshot;
    out.push(snapshot);
  }
  return out;
}

describe("jobWrite()", () => {
  const created = createJobSnapshot(input);
  const [locked, running] = walk(created, [{ type: "job.lock", workerId: "w1", leaseVersion: 3 }, {
    type: "job.start",
  }]) as [JobSnapshot, JobSnapshot];

  it("derives a new job's row and one audit row per state entered, the host's note on its own row", () => {
    const w = jobWrite(null, [{ snapshot: created, note: { source: "bus", seq: 4 } }, { snapshot: locked }, {
      snapshot: running,
    }]);
    assert.equal(w.status, "running");
    assert.equal(w.attempts, 1);
    assert.equal(w.releaseLease, false);
    assert.equal(w.runInMs, undefined);
    assert.deepEqual(w.snapshot, persistJob(running));
    assert.deepEqual(w.events, [
      { status: "pending", data: { source: "bus", seq: 4 } },
      { status: "locked", data: { worker: "w1", leaseVersion: 3 } },
      { status: "running", data: { attempt: 1 } },
    ]);
  });

  it("a retry is due after the machine's delay, lets the lease go and keeps the attempt's outcome", () => {
    const retry = applyJobEvent(running, {
      type: "job.fail",
      error: transient,
      jitter: 1,
      result: { exitCode: 3 },
    });
    const w = jobWrite(running, [{ snapshot: retry.snapshot }]);
    assert.equal(w.status, "retry");
    assert.equal(w.runInMs, 100);
    assert.equal(w.releaseLease, true);
    assert.deepEqual(w.lastError, transient);
    assert.deepEqual(w.result, { exitCode: 3 });
    assert.deepEqual(w.events, [{
      status: "retry",
      data: { attempt: 1, error: transient, retryInMs: 100, result: { exitCode: 3 } },
    }]);
  });

  it("the backoff's end, a takeover and a release each say what happened", () => {
    const retry = applyJobEvent(running, { type: "job.fail", error: transient, jitter: 1 }).snapshot;
    const [pending, relocked] = walk(retry, [dueEvent(retry)!, {
      type: "job.lock",
      workerId: "w2",
      leaseVersion: 4,
    }]) as [JobSnapshot, JobSnapshot];
    assert.deepEqual(jobWrite(retry, [{ snapshot: pending }, { snapshot: relocked }]).events, [
      { status: "pending", data: {} },
      { status: "locked", data: { worker: "w2", leaseVersion: 4 } },
    ]);
    const taken = applyJobEvent(running, { type: "job.takeover", workerId: "w3", leaseVersion: 5 }).snapshot;
    assert.deepEqual(jobWrite(running, [{ snapshot: taken }]).events, [
      { status: "locked", data: { worker: "w3", leaseVersion: 5, takeover: true } },
    ]);
    const retaken = applyJobEvent(locked, { type: "job.takeover", workerId: "w4", leaseVersion: 6 }).snapshot;
    assert.equal(
      jobWrite(locked, [{ snapshot: retaken }]).events.length,
      1,
      "re-entering locked with a new lease",
    );
    const released = applyJobEvent(running, { type: "job.release" }).snapshot;
    const w = jobWrite(running, [{ snapshot: released }]);
    assert.deepEqual([w.status, w.attempts, w.releaseLease], ["pending", 0, true]);
    assert.deepEqual(w.events, [{ status: "pending", data: { released: true, worker: "w1" } }]);
  });

  it("a cancel writes the machine's last error; a redrive is due at once; an outcome after a cancel adds no audit row", () => {
    const cancelled = applyJobEvent(running, { type: "job.cancel", reason: "by test" }).snapshot;
    const c = jobWrite(running, [{ snapshot: cancelled, note: { actor: "me" } }]);
    assert.deepEqual(c.lastError, { kind: "permanent", code: "CANCELLED", message: "by test" });
    assert.deepEqual(c.events, [{ status: "cancelled", data: { reason: "by test", actor: "me" } }]);
    const outcome = applyJobEvent(cancelled, { type: "job.outcome", result: { signal: "SIGTERM" } }).snapshot;
    const o = jobWrite(cancelled, [{ snapshot: outcome }]);
    assert.deepEqual([o.status, o.result, o.events], ["cancelled", { signal: "SIGTERM" }, []]);
    const redriven = applyJobEvent(outcome, { type: "job.redrive" }).snapshot;
    const r = jobWrite(outcome, [{ snapshot: redriven }]);
    assert.deepEqual([r.status, r.attempts, r.runInMs], ["pending", 0, 0]);
    assert.deepEqual(r.events, [{ status: "pending", data: { redrive: true } }]);
  });

  it("refuses an empty change", () => {
    assert.throws(() => jobWrite(created, []), RangeError);
  });
});

describe("snapshotOfStored()", () => {
  it("restores a stored snapshot, or makes one for a job without: pending, or failed with its error", () => {
    const running = walk(createJobSnapshot(input), [{ type: "job.lock", workerId: "w", leaseVersion: 1 }, {
      type: "job.start",
    }]).at(-1)!;
    const stored = { id: "j1", kind: "noop", status: "running" as const, maxAttempts: 2, lastError: null };
    assert.deepEqual(
      persistJob(snapshotOfStored({ ...stored, snapshot: persistJob(running) })),
      persistJob(running),
    );
    const fresh = snapshotOfStored({ ...stored, status: "pending", snapshot: null }, input.backoff);
    assert.deepEqual(persistJob(fresh), persistJob(createJobSnapshot(input)));
    const error: JobErrorInfo = { kind: "permanent", code: "VALIDATION", message: "bad" };
    const born = snapshotOfStored({ ...stored, status: "failed", lastError: error, snapshot: null });
    assert.equal(born.value, "failed");
    assert.deepEqual(born.context.lastError, error);
  });
});
