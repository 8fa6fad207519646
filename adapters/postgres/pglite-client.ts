/**
 * SqlClient over PGlite, the embedded PostgreSQL (WASM) of the embedded default.
 * One connection: PGlite queues statements and transactions itself.
 *
 * PGlite's WASM memory only grows, and everything PostgreSQL touches in it stays
 * resident: its shared buffers are allocated (and zeroed) at start, so they are
 * paid in full from the first second. {@link PGLITE_SETTINGS} chooses a small
 * footprint; bench/pglite-footprint.ts measures it (bench/README.md).
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
 * V8 flags set once, before the first PGlite is compiled: PostgreSQL's WASM
 * runs on V8's baseline compiler (Liftoff) only. With V8's default tier-up,
 * the first queries after start make TurboFan optimise some of PostgreSQL's
 * large functions, and on Node that compilation alone took 450-650 MB of
 * native memory for about a second (an idle `troupe start` peaked at 730-860
 * MB RSS to settle at 230): a container sized for the idle figure would be
 * killed at start. Without it the peak is the idle figure, and a no-op job
 * costs about the same CPU (bench/README.md). They must be set at run time
 * together: `--liftoff-only` given after start misses the flags it implies.
 *
 * Mutable for benchmarks only, like {@link PGLITE_SETTINGS}.
 */
export const PGLITE_V8_FLAGS: string[] = ["--no-wasm-tier-up", "--no-wasm-dynamic-tiering"];

let flagsSet = false;

/** Options of {@link createPgliteClient}. */
export interface PgliteClientOptions {
  /** The data folder (created if needed); in memory when undefined. */
  dataDir?: string;
  /** PostgreSQL settings; default {@link PGLITE_SETTINGS} (`{}`: PGlite's own). */
  settings?: Readonly<Record<string, string>>;
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
    for (const flag of PGLITE_V8_FLAGS) setFlagsFromString(flag);
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
