/**
 * Versioned migrations, applied in order inside one transaction that holds an
 * advisory lock (so concurrent starts don't race), recorded in `troupe_migrations`.
 *
 * @module
 */
import type { SqlClient } from "./store.ts";
import { DISCOVERY_SCHEMA_SQL } from "./discovery-schema.ts";
import { DIRECTORY_SCHEMA_SQL } from "./directory-schema.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "jobs, job_events, job_refs, rejected_messages",
    sql: `
      CREATE TABLE jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending','locked','running','success','retry','failed','cancelled')),
        attempts int NOT NULL DEFAULT 0,
        max_attempts int NOT NULL,
        payload jsonb,
        result jsonb,
        last_error jsonb,
        org text,
        timeout_ms int,
        run_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        worker_id text,
        lease_version int NOT NULL DEFAULT 0,
        lease_expires_at timestamptz,
        snapshot jsonb,
        republished_at timestamptz
      );
      CREATE INDEX jobs_open_idx ON jobs (status, run_at) WHERE status IN ('pending','retry','locked','running');
      CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);

      -- No foreign key to jobs: events are only written by the statements that
      -- write their job row, and the key check locked the job row once per event.
      CREATE TABLE job_events (
        id bigserial PRIMARY KEY,
        job_id text NOT NULL,
        status text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        data jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX job_events_job_idx ON job_events (job_id, id);

      -- The outbox: one row per committed statement, listing the events it wrote
      -- that are not yet published on the bus. Publishing deletes the row, so the
      -- outbox costs two row writes per batch, not per event.
      CREATE TABLE job_outbox (
        id bigserial PRIMARY KEY,
        event_ids bigint[] NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE job_refs (
        job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        system text NOT NULL,
        ref text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (job_id, system, ref)
      );

      CREATE TABLE rejected_messages (
        id bigserial PRIMARY KEY,
        subject text NOT NULL,
        reason text NOT NULL,
        seq bigint,
        headers jsonb,
        at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    name: "resources, resource_links, discovery_runs, schedules, reference views",
    sql: DISCOVERY_SCHEMA_SQL,
  },
  {
    version: 3,
    name:
      "identities, identity_groups, identity_group_members, organizations, identity_memberships, write-back ledger",
    sql: DIRECTORY_SCHEMA_SQL,
  },
];

/** Applies pending migrations; returns the versions applied now. */
export async function migrate(client: SqlClient, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  return await client.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(7412934)");
    await tx.query(`CREATE TABLE IF NOT EXISTS troupe_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM troupe_migrations");
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO troupe_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  });
}
