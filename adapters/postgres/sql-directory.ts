/**
 * The directory over SQL (PostgreSQL and PGlite, same statements): the sync
 * sink of identity connectors, the write-back ledger, and (inherited from
 * sql-directory-reads.ts) the reads behind `/identities`, `/groups` and
 * `/organizations`.
 *
 * How a run writes:
 * - `upsert()`, one transaction per page: organizations, identities and groups
 *   are upserted by (provider, scope, external id), tagged with the run, seen
 *   again: live again. References that may name a later page are stored by
 *   external id: an identity's organization and an organization's parent as
 *   columns (resolved at once when the other end exists), edges (a group's
 *   complete member list, single membership entries, a child's parents) in
 *   `identity_edges_seen` under the run tag.
 * - `markStale()`, once after a complete run, one transaction: marks unseen
 *   entries of the covered types deleted, resolves the references, and replaces
 *   the scope's direct edges with the edges the run saw (when it covered groups
 *   or memberships). So local edges only ever change as a whole, to what the
 *   provider listed: a partial run adds and removes no edge, and its staged
 *   edges are dropped by the next run of the scope.
 *
 * Drift (the provider is the record): the edges a complete run added or removed
 * are counted in `discovery_runs.drift` as `{added, removed, drift, unresolved}`;
 * `drift` leaves out what a pending write-back change explains (the provider
 * did it, its job has not confirmed yet) and is 0 on a scope's first complete
 * sync (nothing was expected yet). A change the provider confirmed while the
 * run was reading is kept as applied: the run may have listed the group before.
 *
 * @module
 */
import type {
  DirectoryCovers,
  DirectoryEntry,
  GroupEntry,
  IdentityEntry,
  OrganizationEntry,
} from "../sync/directory.ts";
import type { MembershipChangeView, MembershipLedger } from "../sync/directory-ledger.ts";
import type { RunEnd, RunRef, RunStart, SyncSink } from "../sync/port.ts";
import { ErrorCode, PermanentError } from "../../machines/errors.ts";
import type { SqlClient } from "./store.ts";
import { beginSyncRun, finishSyncRun } from "./sql-sync-runs.ts";
import { SqlDirectoryReads } from "./sql-directory-reads.ts";
import { SQL_EDGE_REPLACE, SQL_RESOLVE_REFERENCES } from "./sql-directory-statements.ts";

/** What a complete directory sync changed in the direct edges of its scope. */
export interface EdgeDrift {
  /** Edges the provider listed that were not stored. */
  added: number;
  /** Stored edges the provider no longer lists. */
  removed: number;
  /** Of those, the ones no pending write-back explains; 0 on a scope's first complete sync. */
  drift: number;
  /** Edges naming an entry the run did not find (skipped). */
  unresolved: number;
}

/** Later duplicates of an external id win: one statement may not touch a row twice. */
function latest<T extends { externalId: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.externalId, item])).values()];
}

function only<K extends DirectoryEntry["type"]>(entries: DirectoryEntry[], type: K) {
  return latest(entries.filter((e): e is Extract<DirectoryEntry, { type: K }> => e.type === type));
}

/** The edges a page names, by external id. */
function edgesOf(entries: DirectoryEntry[]): { g: string; t: string; m: string }[] {
  const edges = new Map<string, { g: string; t: string; m: string }>();
  const add = (g: string, t: string, m: string) => edges.set(JSON.stringify([g, t, m]), { g, t, m });
  for (const entry of entries) {
    if (entry.type === "membership") add(entry.groupExternalId, entry.memberType, entry.externalId);
    if (entry.type !== "group") continue;
    for (const member of entry.members ?? []) add(entry.externalId, member.memberType, member.externalId);
    for (const parent of entry.parentExternalIds ?? []) add(parent, "group", entry.externalId);
  }
  return [...edges.values()];
}

const counted = (rows: { created: unknown; updated: unknown }[]) => ({
  created: Number(rows[0]?.created ?? 0),
  updated: Number(rows[0]?.updated ?? 0),
});

const COUNT_UPSERTED =
  "SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated FROM up";

/** The directory on a SQL client: sink, ledger and reads. */
export class SqlDirectory extends SqlDirectoryReads
  implements SyncSink<DirectoryEntry, DirectoryCovers>, MembershipLedger {
  #db: SqlClient;

  constructor(client: SqlClient) {
    super(client);
    this.#db = client;
  }

  async beginRun(run: RunStart): Promise<{ started: true } | { started: false; busyJobId: string }> {
    const begun = await beginSyncRun(this.#db, run);
    // Edges staged by earlier runs of the scope that never completed.
    if (begun.started) {
      await this.#db.query(
        "DELETE FROM identity_edges_seen WHERE provider = $1 AND scope = $2 AND run_tag <> $3",
        [run.provider, run.scope, run.runId],
      );
    }
    return begun;
  }

  async upsert(run: RunRef, entries: DirectoryEntry[]): Promise<{ created: number; updated: number }> {
    const organizations = only(entries, "organization").map((o: OrganizationEntry) => ({
      external_id: o.externalId,
      name: o.name,
      parent: o.parentExternalId ?? null,
    }));
    const identities = only(entries, "identity").map((i: IdentityEntry) => ({
      external_id: i.externalId,
      kind: i.kind,
      username: i.username,
      email: i.email,
      display_name: i.displayName,
      status: i.status,
      attributes: i.attributes ?? {},
      organization: i.organizationExternalId ?? null,
    }));
    const groups = only(entries, "group").map((g: GroupEntry) => ({
      external_id: g.externalId,
      name: g.name,
      attributes: g.attributes ?? {},
    }));
    const edges = edgesOf(entries);
    const key = [run.provider, run.scope, run.org, run.runId];
    return await this.#db.transaction(async (tx) => {
      const total = { created: 0, updated: 0 };
      const sum = (c: { created: number; updated: number }) => {
        total.created += c.created;
        total.updated += c.updated;
      };
      if (organizations.length > 0) {
        sum(counted(
          await tx.query(
            `WITH input AS (
               SELECT * FROM jsonb_to_recordset($5::text::jsonb) AS x(external_id text, name text, parent text)
             ), up AS (
               INSERT INTO organizations (provider, scope, external_id, name, parent_external_id, parent_id, org, run_tag)
               SELECT $1, $2, x.external_id, x.name, x.parent,
                 (SELECT p.id FROM organizations p WHERE p.provider = $1 AND p.scope = $2 AND p.external_id = x.parent), $3, $4
               FROM input x
               ON CONFLICT (provider, scope, external_id) DO UPDATE SET
                 name = EXCLUDED.name, parent_external_id = EXCLUDED.parent_external_id,
                 parent_id = COALESCE(EXCLUDED.parent_id, CASE WHEN organizations.parent_external_id
                   IS NOT DISTINCT FROM EXCLUDED.parent_external_id THEN organizations.parent_id END),
                 org = EXCLUDED.org, run_tag = EXCLUDED.run_tag, last_seen = now(), deleted_at = NULL
               RETURNING (xmax = 0) AS inserted
             ) ${COUNT_UPSERTED}`,
            [...key, JSON.stringify(organizations)],
          ),
        ));
      }
      if (identities.length > 0) {
        sum(counted(
          await tx.query(
            `WITH input AS (
               SELECT * FROM jsonb_to_recordset($5::text::jsonb) AS x(external_id text, kind text, username text,
                 email text, display_name text, status text, attributes jsonb, organization text)
             ), up AS (
               INSERT INTO identities (provider, scope, external_id, kind, username, email, display_name, status,
                 attributes, organization_external_id, organization_id, org, run_tag)
               SELECT $1, $2, x.external_id, x.kind, x.username, x.email, x.display_name, x.status, x.attributes,
                 x.organization,
                 (SELECT o.id FROM organizations o WHERE o.provider = $1 AND o.scope = $2 AND o.external_id = x.organization),
                 $3, $4
               FROM input x
               ON CONFLICT (provider, scope, external_id) DO UPDATE SET
                 kind = EXCLUDED.kind, username = EXCLUDED.username, email = EXCLUDED.email,
                 display_name = EXCLUDED.display_name, status = EXCLUDED.status, attributes = EXCLUDED.attributes,
                 organization_external_id = EXCLUDED.organization_external_id,
                 organization_id = COALESCE(EXCLUDED.organization_id, CASE WHEN identities.organization_external_id
                   IS NOT DISTINCT FROM EXCLUDED.organization_external_id THEN identities.organization_id END),
                 org = EXCLUDED.org, run_tag = EXCLUDED.run_tag, last_seen = now(), deleted_at = NULL
               RETURNING (xmax = 0) AS inserted
             ) ${COUNT_UPSERTED}`,
            [...key, JSON.stringify(identities)],
          ),
        ));
      }
      if (groups.length > 0) {
        sum(counted(
          await tx.query(
            `WITH input AS (
               SELECT * FROM jsonb_to_recordset($5::text::jsonb) AS x(external_id text, name text, attributes jsonb)
             ), up AS (
               INSERT INTO identity_groups (provider, scope, external_id, name, attributes, org, run_tag)
               SELECT $1, $2, external_id, name, attributes, $3, $4 FROM input
               ON CONFLICT (provider, scope, external_id) DO UPDATE SET
                 name = EXCLUDED.name, attributes = EXCLUDED.attributes, org = EXCLUDED.org,
                 run_tag = EXCLUDED.run_tag, last_seen = now(), deleted_at = NULL
               RETURNING (xmax = 0) AS inserted
             ) ${COUNT_UPSERTED}`,
            [...key, JSON.stringify(groups)],
          ),
        ));
      }
      if (edges.length > 0) {
        await tx.query(
          `INSERT INTO identity_edges_seen (run_tag, provider, scope, group_external_id, member_type, member_external_id)
           SELECT $3, $1, $2, g, t, m FROM jsonb_to_recordset($4::text::jsonb) AS x(g text, t text, m text)
           ON CONFLICT DO NOTHING`,
          [run.provider, run.scope, run.runId, JSON.stringify(edges)],
        );
      }
      return total;
    });
  }

  async markStale(run: RunRef, covers: DirectoryCovers[]): Promise<number> {
    const types = new Set(covers.flatMap((c) => c.types));
    const params = [run.provider, run.scope, run.runId];
    return await this.#db.transaction(async (tx) => {
      // A first sync just wrote every row: without fresh statistics the planner resolves 30,000
      // staged edges by scanning the scope once per edge (88 s instead of under 1 s on PGlite).
      await tx.query(
        "ANALYZE organizations, identities, identity_groups, identity_group_members, identity_edges_seen",
      );
      let deleted = 0;
      for (
        const [type, table] of [["identity", "identities"], ["group", "identity_groups"], [
          "organization",
          "organizations",
        ]] as const
      ) {
        if (!types.has(type)) continue;
        const rows = await tx.query(
          `UPDATE ${table} SET deleted_at = now()
           WHERE provider = $1 AND scope = $2 AND deleted_at IS NULL AND run_tag <> $3 RETURNING id`,
          params,
        );
        deleted += rows.length;
      }
      for (const statement of SQL_RESOLVE_REFERENCES) await tx.query(statement, params.slice(0, 2));
      if (types.has("group") || types.has("membership")) {
        const [counts] = await tx.query<Record<string, unknown>>(SQL_EDGE_REPLACE, params);
        const [earlier] = await tx.query(
          `SELECT 1 FROM discovery_runs WHERE provider = $1 AND scope = $2 AND status = 'success' AND id <> $3 LIMIT 1`,
          params,
        );
        const drift: EdgeDrift = {
          added: Number(counts?.added ?? 0),
          removed: Number(counts?.removed ?? 0),
          drift: earlier ? Number(counts?.unexpected ?? 0) : 0,
          unresolved: Number(counts?.unresolved ?? 0),
        };
        await tx.query("UPDATE discovery_runs SET drift = $2::text::jsonb WHERE id = $1", [
          run.runId,
          JSON.stringify(drift),
        ]);
      }
      await tx.query(
        "DELETE FROM identity_edges_seen WHERE provider = $1 AND scope = $2",
        params.slice(0, 2),
      );
      return deleted;
    });
  }

  async finishRun(runId: string, end: RunEnd): Promise<void> {
    await finishSyncRun(this.#db, runId, end);
  }

  /** What the run's `markStale()` changed in the edges; null when it has not run or covered no edges. */
  async drift(run: Pick<RunRef, "runId">): Promise<EdgeDrift | null> {
    const [row] = await this.#db.query<{ drift: EdgeDrift | null }>(
      "SELECT drift FROM discovery_runs WHERE id = $1",
      [run.runId],
    );
    return row?.drift ?? null;
  }

  /**
   * Records a requested change (`PUT`/`DELETE /groups/:id/members/:identityId`)
   * before its job is submitted; `jobId` may be given now or attached later.
   */
  async requestChange(
    change: { groupId: number; identityId: number; operation: "add" | "remove"; jobId?: string },
  ): Promise<{ id: number }> {
    const [row] = await this.#db.query<{ id: unknown }>(
      `INSERT INTO identity_membership_changes (group_id, identity_id, operation, job_id)
       VALUES ($1, $2, $3, $4) RETURNING id`,
      [change.groupId, change.identityId, change.operation, change.jobId ?? null],
    );
    return { id: Number(row?.id) };
  }

  /** Names the job that applies a change. */
  async attachJob(changeId: number, jobId: string): Promise<void> {
    await this.#db.query("UPDATE identity_membership_changes SET job_id = $2 WHERE id = $1", [
      changeId,
      jobId,
    ]);
  }

  /** Removes a change whose job could not be submitted (it would otherwise stay pending). */
  async discardChange(changeId: number): Promise<void> {
    await this.#db.query("DELETE FROM identity_membership_changes WHERE id = $1 AND applied_at IS NULL", [
      changeId,
    ]);
  }

  async get(changeId: number): Promise<MembershipChangeView | null> {
    const [row] = await this.#db.query<Record<string, unknown>>(
      `SELECT c.id, g.provider, g.scope, c.operation, g.external_id AS group_external_id,
         i.external_id AS identity_external_id,
         COALESCE(
           (SELECT j.payload->>'credentials' FROM discovery_runs r JOIN jobs j ON j.id = r.job_id
            WHERE r.provider = g.provider AND r.scope = g.scope AND r.status = 'success'
              AND j.payload->>'credentials' IS NOT NULL
            ORDER BY r.started_at DESC LIMIT 1),
           (SELECT s.payload->>'credentials' FROM schedules s
            WHERE s.kind = 'sync.' || g.provider AND s.scope = g.scope AND s.payload->>'credentials' IS NOT NULL
            ORDER BY s.id = g.provider || '-default' DESC, s.id LIMIT 1)
         ) AS credentials_ref
       FROM identity_membership_changes c
       JOIN identity_groups g ON g.id = c.group_id
       JOIN identities i ON i.id = c.identity_id
       WHERE c.id = $1`,
      [changeId],
    );
    if (!row) return null;
    return {
      id: Number(row.id),
      provider: String(row.provider),
      scope: String(row.scope),
      operation: row.operation === "remove" ? "remove" : "add",
      groupExternalId: String(row.group_external_id),
      identityExternalId: String(row.identity_external_id),
      credentialsRef: (row.credentials_ref as string | null) ?? null,
    };
  }

  async applied(changeId: number, info: { requestId?: string }): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const [change] = await tx.query<
        { group_id: unknown; identity_id: unknown; operation: string; applied_at: unknown }
      >(
        "SELECT group_id, identity_id, operation, applied_at FROM identity_membership_changes WHERE id = $1 FOR UPDATE",
        [changeId],
      );
      if (!change) {
        throw new PermanentError(`Membership change ${changeId} not found`, { code: ErrorCode.notFound });
      }
      if (change.applied_at !== null && change.applied_at !== undefined) return;
      const edge = [change.group_id, change.identity_id];
      if (change.operation === "add") {
        await tx.query(
          `INSERT INTO identity_group_members (group_id, member_type, member_id, run_tag)
           VALUES ($1, 'identity', $2, $3) ON CONFLICT DO NOTHING`,
          [...edge, `writeback:${changeId}`],
        );
      } else {
        await tx.query(
          "DELETE FROM identity_group_members WHERE group_id = $1 AND member_type = 'identity' AND member_id = $2",
          edge,
        );
      }
      await tx.query(
        "UPDATE identity_membership_changes SET applied_at = now(), provider_request_id = $2 WHERE id = $1",
        [changeId, info.requestId ?? null],
      );
    });
  }
}
