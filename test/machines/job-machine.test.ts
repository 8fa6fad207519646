import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { getShortestPaths } from "@xstate/graph";
import { initialTransition, transition } from "xstate";
import {
  applyJobEvent,
  createJobSnapshot,
  type JobEvent,
  jobMachine,
  type JobSnapshot,
  persistJob,
  redriveJobSnapshot,
  restoreJob,
  statusOf,
} from "../../machines/job-machine.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";
import { FINAL_STATUSES, JobStatus } from "../../machines/job-status.ts";

const input = { id: "j1", kind: "noop", maxAttempts: 3, backoff: { baseMs: 100, maxMs: 10_000 } };
const transient: JobErrorInfo = { kind: "transient", code: "TRANSIENT", message: "slow down" };
const permanent: JobErrorInfo = { kind: "permanent", code: "PERMANENT", message: "access denied" };
const lock: JobEvent = { type: "job.lock", workerId: "w1", leaseVersion: 1 };

/** Applies events in order, asserting each is accepted. */
function run(events: JobEvent[], from: JobSnapshot = createJobSnapshot(input)) {
  let snapshot = from;
  let actions: string[] = [];
  for (const event of events) {
    const next = applyJobEvent(snapshot, event);
    assert.ok(next.changed, `event ${event.type} accepted in ${statusOf(snapshot)}`);
    snapshot = next.snapshot;
    actions = next.actions;
  }
  return { snapshot, status: statusOf(snapshot), context: snapshot.context, actions };
}

describe("jobMachine", () => {
  it("starts pending with no attempts", () => {
    const s = createJobSnapshot(input);
    assert.equal(statusOf(s), "pending");
    assert.equal(s.context.attempts, 0);
    assert.equal(s.context.lastError, null);
  });

  it("createJobSnapshot() and applyJobEvent() agree with xstate's own initialTransition() and transition()", () => {
    const [initial] = initialTransition(jobMachine, input);
    const ours = createJobSnapshot(input);
    assert.equal(ours.value, initial.value);
    assert.deepEqual(ours.context, initial.context);
    const [theirs, theirActions] = transition(jobMachine, applyJobEvent(ours, lock).snapshot, {
      type: "job.start",
    });
    const mine = applyJobEvent(applyJobEvent(ours, lock).snapshot, { type: "job.start" });
    assert.equal(mine.snapshot.value, theirs.value);
    assert.deepEqual(mine.snapshot.context, theirs.context);
    assert.deepEqual(mine.actions, theirActions.map((a) => a.type));
  });

  it("job.lock moves pending to locked and records the lease", () => {
    const r = run([lock]);
    assert.equal(r.status, "locked");
    assert.equal(r.context.workerId, "w1");
    assert.equal(r.context.leaseVersion, 1);
  });

  it("job.start moves locked to running, counts the attempt and lists runHandler", () => {
    const r = run([lock, { type: "job.start" }]);
    assert.equal(r.status, "running");
    assert.equal(r.context.attempts, 1);
    assert.deepEqual(r.actions, ["runHandler"]);
  });

  it("job.succeed records the result and ends in success", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.succeed", result: { ok: 1 } }]);
    assert.equal(r.status, "success");
    assert.deepEqual(r.context.result, { ok: 1 });
    assert.equal(r.context.workerId, null);
  });

  it("a transient failure with attempts left goes to retry with a backoff and lists scheduleRetry", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.fail", error: transient, jitter: 0.5 }]);
    assert.equal(r.status, "retry");
    assert.equal(r.context.retryDelayMs, 50);
    assert.deepEqual(r.context.lastError, transient);
    assert.deepEqual(r.actions, ["scheduleRetry"]);
  });

  it("honours the adapter's retryAfter", () => {
    const r = run([lock, { type: "job.start" }, {
      type: "job.fail",
      error: { ...transient, retryAfterMs: 7000 },
      jitter: 0.1,
    }]);
    assert.equal(r.context.retryDelayMs, 7000);
  });

  it("backoff.elapsed moves retry back to pending, and the next attempt counts", () => {
    const r = run([
      lock,
      { type: "job.start" },
      { type: "job.fail", error: transient, jitter: 0 },
      { type: "backoff.elapsed" },
      { ...lock, leaseVersion: 2 },
      { type: "job.start" },
    ]);
    assert.equal(r.status, "running");
    assert.equal(r.context.attempts, 2);
    assert.equal(r.context.leaseVersion, 2);
  });

  it("a transient failure on the last attempt fails the job", () => {
    const attempt = (
      v: number,
    ): JobEvent[] => [{ ...lock, leaseVersion: v }, { type: "job.start" }, {
      type: "job.fail",
      error: transient,
      jitter: 0,
    }];
    const r = run([
      ...attempt(1),
      { type: "backoff.elapsed" },
      ...attempt(2),
      { type: "backoff.elapsed" },
      ...attempt(3),
    ]);
    assert.equal(r.status, "failed");
    assert.equal(r.context.attempts, 3);
    assert.equal(r.context.retryDelayMs, null);
  });

  it("a permanent failure fails at once, with attempts left", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.fail", error: permanent, jitter: 0.5 }]);
    assert.equal(r.status, "failed");
    assert.equal(r.context.attempts, 1);
    assert.deepEqual(r.context.lastError, permanent);
  });

  it("job.reject fails a pending or locked job without running it", () => {
    assert.equal(run([{ type: "job.reject", error: permanent }]).status, "failed");
    const r = run([lock, { type: "job.reject", error: permanent }]);
    assert.equal(r.status, "failed");
    assert.equal(r.context.attempts, 0);
  });

  it("job.takeover of a running job counts the lost attempt and relocks while attempts remain", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.takeover", workerId: "w2", leaseVersion: 2 }]);
    assert.equal(r.status, "locked");
    assert.equal(r.context.workerId, "w2");
    assert.equal(r.context.attempts, 1);
    assert.equal(r.context.lastError?.code, "WORKER_LOST");
    assert.deepEqual(r.actions, ["abortHandler"]);
  });

  it("job.takeover of a running job on its last attempt fails it", () => {
    const one = createJobSnapshot({ ...input, maxAttempts: 1 });
    const r = run(
      [lock, { type: "job.start" }, { type: "job.takeover", workerId: "w2", leaseVersion: 2 }],
      one,
    );
    assert.equal(r.status, "failed");
    assert.match(r.context.lastError?.message ?? "", /Worker lost during attempt 1/);
  });

  it("job.takeover of a locked job just moves the lease", () => {
    const r = run([lock, { type: "job.takeover", workerId: "w3", leaseVersion: 5 }]);
    assert.equal(r.status, "locked");
    assert.equal(r.context.leaseVersion, 5);
  });

  it("job.release gives a locked or running job back to pending", () => {
    assert.equal(run([lock, { type: "job.release" }]).status, "pending");
    const r = run([lock, { type: "job.start" }, { type: "job.release" }]);
    assert.equal(r.status, "pending");
    assert.equal(r.context.attempts, 0, "the interrupted attempt is given back");
    assert.deepEqual(r.actions, ["abortHandler"]);
  });

  it("job.cancel ends any non-final state in cancelled", () => {
    const paths: JobEvent[][] = [[], [lock], [lock, { type: "job.start" }], [lock, { type: "job.start" }, {
      type: "job.fail",
      error: transient,
      jitter: 0,
    }]];
    for (const path of paths) {
      const r = run([...path, { type: "job.cancel", reason: "by test" }]);
      assert.equal(r.status, "cancelled");
      assert.equal(r.context.lastError?.message, "by test");
    }
    assert.deepEqual(run([lock, { type: "job.start" }, { type: "job.cancel" }]).actions, ["abortHandler"]);
  });

  it("refuses events its state does not accept, leaving the snapshot unchanged", () => {
    const pending = createJobSnapshot(input);
    for (
      const event of [{ type: "job.start" }, { type: "job.succeed" }, { type: "backoff.elapsed" }, {
        type: "job.release",
      }] as JobEvent[]
    ) {
      const r = applyJobEvent(pending, event);
      assert.equal(r.changed, false, event.type);
      assert.equal(r.status, "pending");
    }
    const done = run([lock, { type: "job.start" }, { type: "job.succeed" }]).snapshot;
    for (
      const event of [lock, { type: "job.cancel" }, {
        type: "job.fail",
        error: transient,
        jitter: 0,
      }] as JobEvent[]
    ) {
      assert.equal(applyJobEvent(done, event).changed, false, `${event.type} after success`);
    }
  });

  it("survives persist → JSON → restore and carries on", () => {
    const mid =
      run([lock, { type: "job.start" }, { type: "job.fail", error: transient, jitter: 0.3 }]).snapshot;
    const restored = restoreJob(JSON.parse(JSON.stringify(persistJob(mid))));
    assert.equal(statusOf(restored), "retry");
    assert.deepEqual(restored.context, mid.context);
    const r = run([{ type: "backoff.elapsed" }, { ...lock, leaseVersion: 2 }, { type: "job.start" }, {
      type: "job.succeed",
    }], restored);
    assert.equal(r.status, "success");
    assert.equal(r.context.attempts, 2);
  });

  it("redriveJobSnapshot() brings a failed job back to pending with attempts reset", () => {
    const failed =
      run([lock, { type: "job.start" }, { type: "job.fail", error: permanent, jitter: 0 }]).snapshot;
    const again = redriveJobSnapshot(failed);
    assert.equal(statusOf(again), "pending");
    assert.equal(again.context.attempts, 0);
    assert.deepEqual(again.context.lastError, permanent);
    assert.equal(run([lock], again).status, "locked");
  });

  it("every path the graph enumerates reaches only known states, and every state is reachable", () => {
    const events: JobEvent[] = [
      lock,
      { type: "job.start" },
      { type: "job.succeed" },
      { type: "job.fail", error: transient, jitter: 0.5 },
      { type: "job.fail", error: permanent, jitter: 0.5 },
      { type: "job.reject", error: permanent },
      { type: "job.release" },
      { type: "backoff.elapsed" },
      { type: "job.takeover", workerId: "w2", leaseVersion: 9 },
      { type: "job.cancel" },
    ];
    // Shortest paths: one per distinct snapshot (state + context) reachable with these events.
    const paths = getShortestPaths(jobMachine, { events, input: { ...input, maxAttempts: 2 }, limit: 5000 });
    const known = new Set(Object.values(JobStatus));
    const reached = new Set<string>();
    for (const path of paths) {
      for (const step of path.steps) {
        const value = String(step.state.value);
        assert.ok(known.has(value as JobStatus), `unknown state ${value}`);
        reached.add(value);
      }
      const end = String(path.state.value);
      if (FINAL_STATUSES.includes(end as JobStatus)) {
        assert.equal(path.state.status, "done", `${end} is final`);
      }
      assert.ok(
        path.state.context.attempts <= path.state.context.maxAttempts,
        "never more attempts than allowed",
      );
    }
    assert.deepEqual([...reached].sort(), [...known].sort());
    assert.ok(paths.length > 20, `enumerated ${paths.length} paths`);
  });

  it("machine source is pure: imports only xstate and its own folder", () => {
    for (const file of ["job-machine.ts", "backoff.ts", "job-status.ts", "errors.ts"]) {
      const source = readFileSync(new URL(`../../machines/${file}`, import.meta.url), "utf8");
      const imports = [...source.matchAll(/^import[^"]*"([^"]+)"/gm)].map((m) => m[1]);
      for (const spec of imports) {
        assert.ok(spec === "xstate" || spec!.startsWith("./"), `${file} imports ${spec}`);
      }
      assert.doesNotMatch(
        source,
        /Date\.now|Math\.random|setTimeout|process\.|Deno\./,
        `${file} uses no clock, randomness or runtime`,
      );
    }
  });
});
