/**
 * The Prometheus exposition passes Prometheus' own linter (`promtool check
 * metrics`, Debian's `prometheus` package, installed by test/run.ts), with every
 * metric Troupe registers present and, on Node, the process metrics too.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createMetrics } from "../../../actors/observability/metrics.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";

function promtool(body: string): { status: number | null; output: string } {
  const result = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describe("metrics", () => {
  it("createMetrics() renders an exposition that promtool check metrics accepts", async () => {
    const metrics = createMetrics({ enabled: true });
    metrics.jobFinished("noop", "success", 0.01);
    metrics.jobFinished("noop", "cancelled", 0.5);
    metrics.attemptStarted("noop");
    metrics.redelivered(2);
    metrics.rejected("malformed");
    metrics.syncFinished("kubernetes", "success", 1.5);
    metrics.syncFinished("ldap", "partial", 2);
    metrics.entitiesSynced("kubernetes", "created", 3);
    metrics.setInFlightSource(() => 4);
    const { body } = await metrics.render();
    for (
      const name of [
        "troupe_jobs_total",
        "troupe_jobs_in_flight",
        "worker_entities_synced",
        "troupe_messages_rejected_total",
      ]
    ) {
      assert.match(body, new RegExp(`^${name}`, "m"), `${name} is exposed`);
    }
    // The reference worker's sync metrics, for a directory connector as for discovery.
    assert.match(body, /^worker_sync_total\{connector="ldap",status="partial"\} 1$/m);
    assert.match(body, /^worker_sync_errors_total\{connector="ldap"\} 1$/m);
    assert.match(body, /^worker_sync_duration_seconds_count\{connector="kubernetes"\} 1$/m);
    assert.match(body, /^worker_discovery_jobs_executed_total\{provider="kubernetes",status="success"\} 1$/m);
    assert.doesNotMatch(body, /^worker_discovery_jobs_executed_total\{provider="ldap"/m);
    const checked = promtool(body);
    assert.equal(checked.output, "", checked.output);
    assert.equal(checked.status, 0);
  });

  it("promtool check metrics refuses a gauge named like a counter (the check can fail)", () => {
    const checked = promtool("# HELP x_total A gauge\n# TYPE x_total gauge\nx_total 1\n");
    assert.notEqual(checked.status, 0);
    assert.match(checked.output, /non-counter metrics should not have "_total" suffix/);
  });

  it("worker_entities_synced only grows: it adds each sync's count", async () => {
    const metrics = createMetrics({ enabled: true, processMetrics: false });
    metrics.entitiesSynced("aws", "created", 3);
    metrics.entitiesSynced("aws", "created", 4);
    const { body } = await metrics.render();
    assert.match(body, /^worker_entities_synced\{connector="aws",operation="created"\} 7$/m);
  });

  it("a cancelled job counts in troupe_jobs_total with outcome cancelled", async () => {
    const { env, cleanup } = await backendEnv("embedded");
    const core = await openTestCore({ ...env, METRICS_ENABLED: "true" });
    try {
      const runAt = new Date(Date.now() + 3_600_000).toISOString();
      await core.jobs.submit({ kind: "noop", id: "cancel-metric-1", payload: {}, runAt });
      await core.jobs.cancel("cancel-metric-1", "test");
      const { body } = await core.metrics.render();
      assert.match(body, /^troupe_jobs_total\{kind="noop",outcome="cancelled"\} 1$/m);
    } finally {
      await core.close();
      cleanup();
    }
  });
});
