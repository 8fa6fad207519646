/**
 * The worker's options and their defaults, its counters, and the state its
 * parts share (actors/worker/: the pull loop, admission, attempts, outcome
 * commits, the lease keeper).
 *
 * @module
 */
import type { Bus } from "../../bus/bus.ts";
import type { Store } from "../../adapters/postgres/store.ts";
import type { KindRegistry } from "../plugins/kind-registry.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics, type WorkerMetrics } from "../observability/metrics.ts";
import type { OutboxPublisher } from "../outbox/outbox-publisher.ts";
import type { Slots } from "./slots.ts";
import type { Attempt } from "./attempt.ts";

/** Options of the Worker. */
export interface WorkerOptions {
  bus: Bus;
  store: Store;
  kinds: KindRegistry;
  outbox: OutboxPublisher;
  logger: Logger;
  /** Unique per process. */
  workerId: string;
  /** Most jobs in flight at once. Default 256. */
  concurrency?: number;
  /** Most messages pulled at once. Default 256. */
  batchSize?: number;
  /** Lease length. Default 30,000 ms. */
  leaseMs?: number;
  /** Heartbeat period. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Largest message body. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Default attempts when neither job nor kind says. Default 3. */
  maxAttempts?: number;
  /** Default per-attempt time limit. Default 1 hour. */
  timeoutMs?: number;
  /** Backoff of retries. */
  backoff?: { baseMs: number; maxMs: number };
  /** A message delivered more often than this fails its job. Default 50. */
  maxDeliveries?: number;
  /** Randomness for backoff jitter (injected for tests). */
  random?: () => number;
  /** Where counters go (default: nowhere). */
  metrics?: WorkerMetrics;
}

/** The options with their defaults. */
export type ResolvedWorkerOptions = Required<WorkerOptions>;

/** Fills in defaults. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const leaseMs = options.leaseMs ?? 30_000;
  return {
    concurrency: 256,
    batchSize: 256,
    leaseMs,
    maxPayloadBytes: 256 * 1024,
    maxAttempts: 3,
    timeoutMs: 3_600_000,
    backoff: { baseMs: 1000, maxMs: 300_000 },
    maxDeliveries: 50,
    random: Math.random,
    metrics: createMetrics({ enabled: false }),
    ...options,
    heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
  };
}

/** Counters, for /status, metrics and tests. */
export interface WorkerStats {
  received: number;
  started: number;
  succeeded: number;
  failed: number;
  retried: number;
  duplicates: number;
  rejected: number;
  fenced: number;
  deferred: number;
}

/** A zeroed {@link WorkerStats}. */
export function emptyStats(): WorkerStats {
  return {
    received: 0,
    started: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    duplicates: 0,
    rejected: 0,
    fenced: 0,
    deferred: 0,
  };
}

/** What the worker's parts share. */
export interface WorkerState {
  readonly id: string;
  readonly o: ResolvedWorkerOptions;
  readonly stats: WorkerStats;
  readonly slots: Slots;
  /** Attempts running here, by job id. */
  readonly running: Map<string, Attempt>;
  /** Set by stop(): after this time, outcomes that cannot be committed are left to lease expiry. */
  giveUpAt: number | undefined;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));
