/**
 * SqlClient over PGlite, the embedded PostgreSQL (WASM) of the embedded default.
 * One connection: PGlite queues statements and transactions itself.
 *
 * PGlite's WASM memory only grows, and everything PostgreSQL touches in it stays
 * resident: its shared buffers are allocated (and zeroed) at start, so they are
 * paid in full from the first second. {@link PGLITE_SETTINGS} chooses a small
 * footprint, {@link PGLITE_BASELINE_FLAGS} a smaller peak; bench/pglite-footprint.ts
 * measures them (bench/README.md).
 *
 * @module
 */
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { mkdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import type { SqlClient } from "./store.ts";

/**
 * PostgreSQL settings the embedded database starts with (given as `-c` start
 * parameters, so they win over the data folder's postgresql.conf):
 *
 * - `shared_buffers` 16MB instead of initdb's 128MB: PGlite zeroes the whole
 *   pool at start, which made it the largest single part of an idle process
 *   (about 125 MB of RSS). Pages beyond it are read back from the operating
 *   system's file cache through the data folder.
 * - `maintenance_work_mem` 16MB instead of 64MB and `work_mem` 2MB instead of
 *   4MB: WASM memory never shrinks, so the largest sort or index build sets the
 *   RSS for the rest of the process's life.
 *
 * Left as PostgreSQL sets them: `wal_buffers` (1/32 of shared buffers),
 * `temp_buffers` (only used by temporary tables), `effective_cache_size` (a
 * planner estimate, no memory), `max_connections` (sizes the lock table).
 *
 * Mutable for benchmarks only (bench/ compares these with PGlite's own in one
 * run); a process opens PGlite once, in actors/process/system.ts.
 */
export const PGLITE_SETTINGS: Record<string, string> = {
  shared_buffers: "16MB",
  maintenance_work_mem: "16MB",
  work_mem: "2MB",
};

/**
 * V8 flags that keep PostgreSQL's WASM on V8's baseline compiler (Liftoff):
 * with V8's default tier-up, TurboFan optimises some of PostgreSQL's large
 * functions once they are hot (a second after start, or later under load),
 * and on Node that compilation alone takes 450-650 MB of native memory for
 * about a second: an idle `troupe start` peaked at 730-860 MB to settle at
 * 230. Without tier-up the peak is the idle figure (190 MB), but a no-op job
 * costs about 20 % more CPU in the embedded default (bench/README.md), so it
 * is an option ({@link PgliteClientOptions.baselineOnly}), not the default.
 * `--liftoff-only` given at run time misses the flags it implies.
 */
export const PGLITE_BASELINE_FLAGS: readonly string[] = ["--no-wasm-tier-up", "--no-wasm-dynamic-tiering"];

/**
 * V8 flags set once in the process, before the first PGlite is compiled; empty
 * by default. Mutable for benchmarks only, like {@link PGLITE_SETTINGS}.
 */
export const PGLITE_V8_FLAGS: string[] = [];

let flagsSet = false;

/** Options of {@link createPgliteClient}. */
export interface PgliteClientOptions {
  /** The data folder (created if needed); in memory when undefined. */
  dataDir?: string;
  /** PostgreSQL settings; default {@link PGLITE_SETTINGS} (`{}`: PGlite's own). */
  settings?: Readonly<Record<string, string>>;
  /**
   * Run PostgreSQL's WASM on V8's baseline compiler only ({@link PGLITE_BASELINE_FLAGS}):
   * no compilation peak, at about 20 % of the no-op throughput. Process-wide,
   * effective when given to the first open of the process. Default false.
   */
  baselineOnly?: boolean;
}

function wrapTx(tx: Transaction): SqlClient {
  return {
    async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
      return (await tx.query<T>(text, params)).rows;
    },
    async exec(text: string): Promise<void> {
      await tx.exec(text);
    },
    transaction<T>(fn: (inner: SqlClient) => Promise<T>): Promise<T> {
      return fn(wrapTx(tx));
    },
    close: () => Promise.resolve(),
  };
}

/** PGlite's start parameters plus `-c name=value` for each setting. */
export function pgliteStartParams(settings: Readonly<Record<string, string>>): string[] {
  return [
    ...PGlite.defaultStartParams,
    ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ];
}

/** Opens PGlite in `dataDir` (created if needed), or in memory when undefined. */
export async function createPgliteClient(options: PgliteClientOptions = {}): Promise<SqlClient> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  if (!flagsSet) {
    flagsSet = true;
    for (const flag of [...PGLITE_V8_FLAGS, ...(options.baselineOnly ? PGLITE_BASELINE_FLAGS : [])]) {
      setFlagsFromString(flag);
    }
  }
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    startParams: pgliteStartParams(options.settings ?? PGLITE_SETTINGS),
  });
  let closed = false;
  return {
    async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
      return (await db.query<T>(text, params)).rows;
    },
    async exec(text: string): Promise<void> {
      await db.exec(text);
    },
    transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrapTx(tx)));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}
