/**
 * Prometheus metrics (prom-client) at `/metrics`. The worker reports through the
 * small {@link WorkerMetrics} interface; `METRICS_ENABLED=false` gives a no-op one.
 * Process metrics are registered on Node only (prom-client's break on Deno).
 *
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { SyncMetrics } from "../../adapters/sync/kind.ts";

/** The connectors whose syncs also count in discovery's own metrics. */
const DISCOVERY_CONNECTORS = new Set(["aws", "gcp", "azure", "kubernetes"]);

/** What the worker reports. */
export interface WorkerMetrics {
  /** A job reached a final state or retry: `outcome` is success, failed, retry or cancelled. */
  jobFinished(kind: string, outcome: string, seconds: number): void;
  /** A user cancelled a job: `troupe_jobs_total{outcome="cancelled"}` (no attempt duration). */
  jobCancelled(kind: string): void;
  /** An attempt started. */
  attemptStarted(kind: string): void;
  /** A message arrived again (deliveryCount > 1). */
  redelivered(count: number): void;
  /** A message was refused before it could become a job. */
  rejected(reason: string): void;
}

/** A metrics registry with Troupe's metrics. */
export interface Metrics extends WorkerMetrics, SyncMetrics {
  readonly enabled: boolean;
  /** Reads in-flight counts when scraped. */
  setInFlightSource(read: () => number): void;
  /** The text exposition, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** prom-client default metrics that are gauges with a `_total` suffix. */
const GAUGES_NAMED_LIKE_COUNTERS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Creates the metrics; disabled, every call is a no-op and `render()` is empty. */
export function createMetrics(options: { enabled: boolean; processMetrics?: boolean }): Metrics {
  if (!options.enabled) {
    return {
      enabled: false,
      jobFinished() {},
      jobCancelled() {},
      attemptStarted() {},
      redelivered() {},
      rejected() {},
      syncFinished() {},
      entitiesSynced() {},
      setInFlightSource() {},
      render: () => Promise.resolve({ contentType: "text/plain; version=0.0.4", body: "" }),
    };
  }
  const registry = new Registry();
  if (options.processMetrics ?? !("Deno" in globalThis)) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges like counters, which `promtool check metrics` refuses;
    // the per-type gauges (`nodejs_active_handles{type}` …) carry the same figures.
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  }
  const jobs = new Counter({
    name: "troupe_jobs_total",
    help: "Jobs that reached an outcome",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "troupe_job_duration_seconds",
    help: "Duration of an attempt, by kind",
    labelNames: ["kind"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  const attempts = new Counter({
    name: "troupe_job_attempts_total",
    help: "Attempts started",
    labelNames: ["kind"],
    registers: [registry],
  });
  const redeliveries = new Counter({
    name: "troupe_bus_redeliveries_total",
    help: "Job messages delivered again",
    registers: [registry],
  });
  const rejectedTotal = new Counter({
    name: "troupe_messages_rejected_total",
    help: "Messages refused before becoming a job",
    labelNames: ["reason"],
    registers: [registry],
  });
  // Discovery, with the reference worker's names.
  // Discovery's own names (DESIGN.md's discovery metrics), beside the sync metrics.
  const discoveryJobs = new Counter({
    name: "worker_discovery_jobs_executed_total",
    help: "Discovery syncs that ended, by provider and status (success, partial, failed, busy)",
    labelNames: ["provider", "status"],
    registers: [registry],
  });
  const discoveryDuration = new Histogram({
    name: "worker_discovery_poll_duration_seconds",
    help: "Duration of a discovery sync",
    labelNames: ["provider"],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
    registers: [registry],
  });
  // The reference worker's sync metrics, for every connector (discovery's providers and the directories).
  const syncs = new Counter({
    name: "worker_sync_total",
    help: "Syncs that ended, by connector and status (success, partial, failed, busy)",
    labelNames: ["connector", "status"],
    registers: [registry],
  });
  const syncErrors = new Counter({
    name: "worker_sync_errors_total",
    help: "Syncs that ended failed or partial, by connector",
    labelNames: ["connector"],
    registers: [registry],
  });
  const syncDuration = new Histogram({
    name: "worker_sync_duration_seconds",
    help: "Duration of a sync, by connector",
    labelNames: ["connector"],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
    registers: [registry],
  });
  // The reference worker's name has no `_total`, so it cannot be a counter in the exposition
  // format: a gauge that only grows (entities written since the process started).
  const entities = new Gauge({
    name: "worker_entities_synced",
    help: "Entities written by syncs since start, by connector and operation (created, updated, deleted)",
    labelNames: ["connector", "operation"],
    registers: [registry],
  });
  let readInFlight = () => 0;
  new Gauge({
    name: "troupe_jobs_in_flight",
    help: "Jobs running in this process",
    registers: [registry],
    collect() {
      this.set(readInFlight());
    },
  });
  return {
    enabled: true,
    jobFinished(kind, outcome, seconds) {
      jobs.inc({ kind, outcome });
      duration.observe({ kind }, seconds);
    },
    jobCancelled(kind) {
      jobs.inc({ kind, outcome: "cancelled" });
    },
    attemptStarted(kind) {
      attempts.inc({ kind });
    },
    redelivered(count) {
      redeliveries.inc(count);
    },
    rejected(reason) {
      rejectedTotal.inc({ reason });
    },
    syncFinished(connector, status, seconds) {
      syncs.inc({ connector, status });
      if (status === "failed" || status === "partial") syncErrors.inc({ connector });
      if (status !== "busy") syncDuration.observe({ connector }, seconds);
      if (DISCOVERY_CONNECTORS.has(connector)) {
        discoveryJobs.inc({ provider: connector, status });
        discoveryDuration.observe({ provider: connector }, seconds);
      }
    },
    entitiesSynced(connector, operation, count) {
      if (count > 0) entities.inc({ connector, operation }, count);
    },
    setInFlightSource(read) {
      readInFlight = read;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
