/**
 * `troupe migrate`: applies the database migrations of the configured store
 * (PostgreSQL at DATABASE_URL, else the embedded PGlite in the data folder) and
 * closes it.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "./config.ts";
import { probePostgres } from "./connect-errors.ts";

/** Applies pending migrations; returns the versions applied (empty when up to date). */
export async function migrateDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<number[]> {
  const { createPgliteStore, createPostgresStore } = await import("../../adapters/postgres/mod.ts");
  const store = config.databaseUrl
    ? await createPostgresStore({ url: config.databaseUrl })
    : await createPgliteStore({ dataDir: join(config.dataDir, "pgdata") });
  try {
    // Unreachable (exit 4) or refusing us (exit 5), said as such before any migration.
    const url = config.databaseUrl;
    if (url) await probePostgres({ query: () => store.ping() }, url);
    return await store.migrate();
  } finally {
    await store.close();
  }
}
