/**
 * SqlClient over PGlite, the embedded PostgreSQL (WASM) of the embedded default.
 * One connection: PGlite queues statements and transactions itself.
 *
 * @module
 */
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { mkdirSync } from "node:fs";
import type { SqlClient } from "./store.ts";

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

/** Opens PGlite in `dataDir` (created if needed), or in memory when undefined. */
export async function createPgliteClient(options: { dataDir?: string } = {}): Promise<SqlClient> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = options.dataDir ? await PGlite.create(options.dataDir) : await PGlite.create();
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
