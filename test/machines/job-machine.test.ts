import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { getShortestPaths } from "@xstate/graph";
import { initialTransition, transition } from "xstate";
import { type JobEvent, jobMachine, type JobSnapshot } from "../../machines/job-machine.ts";
import {
  applyJobEvent,
  createJobSnapshot,
  dueEvent,
  persistJob,
  restoreJob,
  statusOf,
} from "../../machines/job-transition.ts";
import type { JobEffect } from "../../machines/job-effects.ts";
import type { JobErrorInfo } from "../../machines/errors.ts";
import { FINAL_STATUSES, JobStatus } from "../../machines/job-status.ts";

const input = { id: "j1", kind: "noop", maxAttempts: 3, backoff: { baseMs: 100, maxMs: 10_000 } };
const transient: JobErrorInfo = { kind: "transient", code: "TRANSIENT", message: "slow down" };
const permanent: JobErrorInfo = { kind: "permanent", code: "PERMANENT", message: "access denied" };
const lock: JobEvent = { type: "job.lock", workerId: "w1", leaseVersion: 1 };
/** The machine's own delayed event of `retry` (its `after` transition). */
const elapsed: JobEvent = { type: "xstate.after.retryBackoff.job.retry" };

/** Applies events in order, asserting each is accepted. */
function run(events: JobEvent[], from: JobSnapshot = createJobSnapshot(input)) {
  let snapshot = from;
  let effects: JobEffect[] = [];
  for (const event of events) {
    const next = applyJobEvent(snapshot, event);
    assert.ok(next.changed, `event ${event.type} accepted in ${statusOf(snapshot)}`);
    snapshot = next.snapshot;
    effects = next.effects;
  }
  return { snapshot, status: statusOf(snapshot), context: snapshot.context, effects };
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
    assert.deepEqual(mine.effects, [{ type: "run", attempt: 1 }]);
    assert.deepEqual(theirActions.map((a) => [a.type, a.params]), [["run", { attempt: 1 }]]);
  });

  it("job.lock moves pending to locked and records the lease", () => {
    const r = run([lock]);
    assert.equal(r.status, "locked");
    assert.equal(r.context.workerId, "w1");
    assert.equal(r.context.leaseVersion, 1);
  });

  it("job.start moves locked to running, counts the attempt and says run it", () => {
    const r = run([lock, { type: "job.start" }]);
    assert.equal(r.status, "running");
    assert.equal(r.context.attempts, 1);
    assert.deepEqual(r.effects, [{ type: "run", attempt: 1 }]);
  });

  it("job.succeed records the result, ends in success and says ack", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.succeed", result: { ok: 1 } }]);
    assert.equal(r.status, "success");
    assert.deepEqual(r.context.result, { ok: 1 });
    assert.equal(r.context.workerId, null);
    assert.deepEqual(r.effects, [{ type: "ack" }]);
  });

  it("a transient failure with attempts left goes to retry: republish after the backoff (the machine's own delayed event), then ack", () => {
    const r = run([lock, { type: "job.start" }, { type: "job.fail", error: transient, jitter: 0.5 }]);
    assert.equal(r.status, "retry");
    assert.equal(r.context.retryDelayMs, 50);
    assert.deepEqual(r.context.lastError, transient);
    assert.deepEqual(r.effects, [{ type: "republish", delayMs: 50, event: elapsed }, { type: "ack" }]);
    assert.deepEqual(dueEvent(r.snapshot), elapsed, "what the host sends back when the delay has passed");
    assert.equal(dueEvent(run([lock]).snapshot), undefined, "only retry waits on its own");
  });

  it("a failure keeps the attempt's structured outcome as the result, and in retry or failed", () => {
    const outcome = { exitCode: 7, signal: null, oomKilled: false };
    const again = run([lock, { type: "job.start" }, {
      type: "job.fail",
      error: transient,
      jitter: 0,
      result: outcome,
    }]);
    assert.deepEqual(again.context.result, outcome);
    const failed = run([lock, { type: "job.start" }, {
      type: "job.fail",
      error: permanent,
      jitter: 0,
      result: outcome,
    }]);
    assert.equal(failed.status, "failed");
    assert.deepEqual(failed.context.result, outcome);
    assert.deepEqual(failed.effects, [{ type: "ack" }]);
    const none = run([lock, { type: "job.start" }, { type: "job.fail", error: permanent, jitter: 0 }]);
    assert.equal(none.context.result, null);
  });

  it("job.timeout and lease.lost abort a running handler without changing the job", () => {
    const running = run([lock, { type: "job.start" }]).snapshot;
    for (const [event, reason] of [["job.timeout", "timeout"], ["lease.lost", "lease-lost"]] as const) {
      const r = applyJobEvent(running, { type: event });
      assert.equal(r.changed, false, event);
      assert.equal(r.accepted, true, event);
      assert.equal(r.snapshot, running);
      assert.deepEqual(r.effects, [{ type: "abort", reason }], event);
      const elsewhere = applyJobEvent(run([lock]).snapshot, { type: event });
      assert.deepEqual([elsewhere.accepted, elsewhere.effects], [false, []], `${event} outside running`);
    }
  });

  it("honours the adapter's retryAfter", () => {
    const r = run([lock, { type: "job.start" }, {
      type: "job.fail",
      error: { ...transient, retryAfterMs: 7000 },
      jitter: 0.1,
    }]);
    assert.equal(r.context.retryDelayMs, 7000);
  });

  it("the backoff's delayed event moves retry back to pending, and the next attempt counts", () => {
    const r = run([
      lock,
      { type: "job.start" },
      { type: "job.fail", error: transient, jitter: 0 },
      elapsed,
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
      elapsed,
      ...attempt(2),
      elapsed,
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
    assert.deepEqual(r.effects, [], "the successor has no handler to abort: the holder's lease.lost does");
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

  it("job.release gives a locked or running job back to pending: abort (shutdown), then nak at once", () => {
    const locked = run([lock, { type: "job.release" }]);
    assert.equal(locked.status, "pending");
    assert.deepEqual(locked.effects, [{ type: "nak", delayMs: 0 }]);
    const r = run([lock, { type: "job.start" }, { type: "job.release" }]);
    assert.equal(r.status, "pending");
    assert.equal(r.context.attempts, 0, "the interrupted attempt is given back");
    assert.deepEqual(r.effects, [{ type: "abort", reason: "shutdown" }, { type: "nak", delayMs: 0 }]);
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
      assert.deepEqual(r.context.lastError, { kind: "permanent", code: "CANCELLED", message: "by test" });
      assert.equal(r.context.retryDelayMs, null);
    }
    assert.deepEqual(run([lock, { type: "job.start" }, { type: "job.cancel" }]).effects, [
      { type: "abort", reason: "cancel" },
      { type: "ack" },
    ]);
  });

  it("job.outcome adds the interrupted attempt's outcome to a cancelled job, and nothing else", () => {
    const cancelled = run([lock, { type: "job.start" }, { type: "job.cancel" }]).snapshot;
    const r = applyJobEvent(cancelled, {
      type: "job.outcome",
      result: { exitCode: null, signal: "SIGTERM" },
    });
    assert.equal(r.status, "cancelled");
    assert.deepEqual(r.snapshot.context.result, { exitCode: null, signal: "SIGTERM" });
    assert.deepEqual(r.effects, []);
    assert.equal(applyJobEvent(run([lock]).snapshot, { type: "job.outcome", result: 1 }).accepted, false);
  });

  it("refuses events its state does not accept, leaving the snapshot unchanged", () => {
    const pending = createJobSnapshot(input);
    for (
      const event of [{ type: "job.start" }, { type: "job.succeed" }, elapsed, {
        type: "job.release",
      }, { type: "job.redrive" }] as JobEvent[]
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
      }, { type: "job.redrive" }] as JobEvent[]
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
    const r = run([elapsed, { ...lock, leaseVersion: 2 }, { type: "job.start" }, {
      type: "job.succeed",
    }], restored);
    assert.equal(r.status, "success");
    assert.equal(r.context.attempts, 2);
  });

  it("job.redrive brings a failed or cancelled job back to pending, attempts and backoff reset, and says republish", () => {
    const failed =
      run([lock, { type: "job.start" }, { type: "job.fail", error: permanent, jitter: 0 }]).snapshot;
    const cancelled = run([lock, { type: "job.start" }, { type: "job.fail", error: transient, jitter: 0.5 }, {
      type: "job.cancel",
    }]).snapshot;
    for (const from of [failed, cancelled]) {
      const again = applyJobEvent(from, { type: "job.redrive" });
      assert.equal(again.status, "pending");
      assert.equal(again.snapshot.context.attempts, 0);
      assert.equal(again.snapshot.context.workerId, null);
      assert.equal(again.snapshot.context.retryDelayMs, null);
      assert.deepEqual(again.snapshot.context.lastError, from.context.lastError, "the last error is kept");
      assert.deepEqual(again.effects, [{ type: "republish", delayMs: 0 }]);
      assert.equal(run([lock], again.snapshot).status, "locked");
    }
    const success = run([lock, { type: "job.start" }, { type: "job.succeed" }]).snapshot;
    assert.equal(applyJobEvent(success, { type: "job.redrive" }).accepted, false, "success is final");
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
      elapsed,
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
      // Only success is final for xstate: a redrive brings failed and cancelled back.
      if (end === "success") assert.equal(path.state.status, "done", `${end} is final`);
      else if (FINAL_STATUSES.includes(end as JobStatus)) {
        assert.deepEqual(
          events.filter((e) => applyJobEvent(path.state, e).changed).map((e) => e.type),
          [],
          `${end} accepts no worker event`,
        );
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
    for (
      const file of [
        "job-machine.ts",
        "job-transition.ts",
        "job-effects.ts",
        "job-write.ts",
        "backoff.ts",
        "job-status.ts",
        "errors.ts",
      ]
    ) {
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
