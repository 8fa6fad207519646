/**
 * The PostgreSQL store: one implementation of the Store port over postgres.js
 * (PostgreSQL servers) and PGlite (embedded).
 *
 * @module
 */
import { SqlStore } from "./sql-store.ts";
import { createPostgresClient } from "./postgres-client.ts";
import { createPgliteClient } from "./pglite-client.ts";
import type { Store } from "./store.ts";

export type * from "./store.ts";
export { SqlStore } from "./sql-store.ts";
export { createPostgresClient } from "./postgres-client.ts";
export { createPgliteClient } from "./pglite-client.ts";
export { migrate, MIGRATIONS } from "./migrations.ts";

/** A store on a PostgreSQL server. */
export function createPostgresStore(options: { url: string; max?: number }): Promise<Store> {
  return Promise.resolve(new SqlStore(createPostgresClient(options)));
}

/** A store on embedded PGlite (in `dataDir`, or in memory). */
export async function createPgliteStore(options: { dataDir?: string } = {}): Promise<Store> {
  return new SqlStore(await createPgliteClient(options));
}
