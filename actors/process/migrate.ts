/**
 * `troupe migrate`: applies the database migrations of the configured store
 * (PostgreSQL at DATABASE_URL, else the embedded PGlite in the data folder) and
 * closes it.
 *
 * @module
 */
import { join } from "node:path";
import type { Config } from "./config.ts";

/** Applies pending migrations; returns the versions applied (empty when up to date). */
export async function migrateDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<number[]> {
  const { createPgliteStore, createPostgresStore } = await import("../../adapters/postgres/mod.ts");
  const store = config.databaseUrl
    ? await createPostgresStore({ url: config.databaseUrl })
    : await createPgliteStore({ dataDir: join(config.dataDir, "pgdata") });
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
