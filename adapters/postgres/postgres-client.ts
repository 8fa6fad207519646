/**
 * SqlClient over postgres.js. Reconnects by itself after a dropped connection
 * (the failed call throws; the next one opens a new connection).
 *
 * @module
 */
import postgres from "postgres";
import type { SqlClient } from "./store.ts";

type Sql = postgres.Sql | postgres.TransactionSql;

function wrap(sql: Sql, root: postgres.Sql): SqlClient {
  return {
    async query<T>(text: string, params: unknown[] = []): Promise<T[]> {
      return (await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
    async exec(text: string): Promise<void> {
      await sql.unsafe(text).simple();
    },
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      return (await root.begin((tx) => fn(wrap(tx, root)))) as T;
    },
    async close(): Promise<void> {
      await root.end({ timeout: 5 });
    },
  };
}

/** Options of {@link createPostgresClient}. */
export interface PostgresClientOptions {
  url: string;
  /** Pool size. Default 10. */
  max?: number;
}

/** Opens a pool (lazily: the first query connects). */
export function createPostgresClient(options: PostgresClientOptions): SqlClient {
  const sql = postgres(options.url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: "troupe" },
    connect_timeout: 10,
    idle_timeout: 60,
  });
  return wrap(sql, sql);
}
