/**
 * The inventory over SQL (PostgreSQL and PGlite, same statements): a page of
 * resources is one upsert statement plus one link rewrite, in one transaction;
 * marking stale resources deleted is one UPDATE; reads filter and page by id.
 * Runs are shared with the directory (sql-sync-runs.ts); the end of a
 * Kubernetes run projects its service accounts and RBAC grants into the
 * directory (kubernetes-directory.ts).
 *
 * @module
 */
import type { FailedPage, Inventory, RunEnd, RunRef, RunStart } from "../discovery/inventory.ts";
import type { DiscoveredResource, DiscoverySource } from "../discovery/provider.ts";
import type { SqlClient } from "./store.ts";
import { toDate, toDateOrNull } from "./sql-store.ts";
import { ValidationError } from "../../machines/errors.ts";
import { beginSyncRun, finishSyncRun } from "./sql-sync-runs.ts";
import { projectKubernetesDirectory } from "./kubernetes-directory.ts";

type Row = Record<string, unknown>;

/** A resource as stored. */
export interface ResourceRow {
  id: number;
  provider: string;
  scope: string;
  type: string;
  externalId: string;
  category: string;
  name: string | null;
  region: string | null;
  org: string | null;
  attributes: Record<string, unknown>;
  runTag: string;
  firstSeen: Date;
  lastSeen: Date;
  deletedAt: Date | null;
}

/** A link as read. */
export interface LinkRow {
  relation: string;
  type: string;
  externalId: string;
  /** The other resource's row id, when it is in the inventory. */
  id: number | null;
}

/** A discovery run as stored. */
export interface RunRow {
  id: string;
  jobId: string;
  attempt: number;
  provider: string;
  scope: string;
  org: string | null;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  sources: number;
  pages: number;
  created: number;
  updated: number;
  deleted: number;
  failedPages: FailedPage[] | null;
  error: string | null;
  /** Directory syncs: the edges a complete run added and removed, and those no pending write-back explains. */
  drift: { added: number; removed: number; drift: number; unresolved: number } | null;
}

/** Filters of {@link SqlInventory.listResources}. */
export interface ResourceQuery {
  provider?: string;
  scope?: string;
  type?: string;
  category?: string;
  region?: string;
  org?: string;
  /** Case-insensitive substring of the name. */
  name?: string;
  /** `live` (default), `deleted` or `all`. */
  state?: "live" | "deleted" | "all";
  /** At most; default 100, max 1000. */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

function toResourceRow(row: Row): ResourceRow {
  return {
    id: Number(row.id),
    provider: String(row.provider),
    scope: String(row.scope),
    type: String(row.type),
    externalId: String(row.external_id),
    category: String(row.category),
    name: (row.name as string | null) ?? null,
    region: (row.region as string | null) ?? null,
    org: (row.org as string | null) ?? null,
    attributes: (row.attributes as Record<string, unknown>) ?? {},
    runTag: String(row.run_tag),
    firstSeen: toDate(row.first_seen),
    lastSeen: toDate(row.last_seen),
    deletedAt: toDateOrNull(row.deleted_at),
  };
}

function toRunRow(row: Row): RunRow {
  return {
    id: String(row.id),
    jobId: String(row.job_id),
    attempt: Number(row.attempt),
    provider: String(row.provider),
    scope: String(row.scope),
    org: (row.org as string | null) ?? null,
    status: String(row.status),
    startedAt: toDate(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    sources: Number(row.sources),
    pages: Number(row.pages),
    created: Number(row.created),
    updated: Number(row.updated),
    deleted: Number(row.deleted),
    failedPages: (row.failed_pages as FailedPage[] | null) ?? null,
    error: (row.error as string | null) ?? null,
    drift: (row.drift as RunRow["drift"]) ?? null,
  };
}

/** Later duplicates of a (type, external id) win: one statement may not touch a row twice. */
function dedupe(resources: DiscoveredResource[]): DiscoveredResource[] {
  const byKey = new Map<string, DiscoveredResource>();
  for (const resource of resources) byKey.set(`${resource.type}\u0000${resource.externalId}`, resource);
  return [...byKey.values()];
}

/** The inventory on a SQL client. */
export class SqlInventory implements Inventory {
  #db: SqlClient;

  constructor(client: SqlClient) {
    this.#db = client;
  }

  async beginRun(run: RunStart): Promise<{ started: true } | { started: false; busyJobId: string }> {
    return await beginSyncRun(this.#db, run);
  }

  async upsert(run: RunRef, resources: DiscoveredResource[]): Promise<{ created: number; updated: number }> {
    const unique = dedupe(resources);
    const rows = unique.map((r) => ({
      type: r.type,
      category: r.category,
      external_id: r.externalId,
      name: r.name,
      region: r.region,
      attributes: r.attributes ?? {},
    }));
    const links = unique.flatMap((r) =>
      (r.links ?? []).map((l) => ({
        from_type: r.type,
        from_id: r.externalId,
        relation: l.relation,
        to_type: l.type,
        to_id: l.externalId,
      }))
    );
    return await this.#db.transaction(async (tx) => {
      const [counts] = await tx.query<{ created: number | string; updated: number | string }>(
        `WITH input AS (
           SELECT * FROM jsonb_to_recordset($1::text::jsonb)
             AS x(type text, category text, external_id text, name text, region text, attributes jsonb)
         ), up AS (
           INSERT INTO resources (provider, scope, type, external_id, category, name, region, org, attributes, run_tag)
           SELECT $2, $3, type, external_id, category, name, region, $4, attributes, $5 FROM input
           ON CONFLICT (provider, scope, type, external_id) DO UPDATE SET
             category = EXCLUDED.category, name = EXCLUDED.name, region = EXCLUDED.region, org = EXCLUDED.org,
             attributes = EXCLUDED.attributes, run_tag = EXCLUDED.run_tag, last_seen = now(), deleted_at = NULL
           RETURNING (xmax = 0) AS inserted
         )
         SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated FROM up`,
        [JSON.stringify(rows), run.provider, run.scope, run.org, run.runId],
      );
      await tx.query(
        `DELETE FROM resource_links l USING jsonb_to_recordset($3::text::jsonb) AS x(type text, external_id text)
         WHERE l.provider = $1 AND l.scope = $2 AND l.from_type = x.type AND l.from_id = x.external_id`,
        [
          run.provider,
          run.scope,
          JSON.stringify(rows.map(({ type, external_id }) => ({ type, external_id }))),
        ],
      );
      if (links.length > 0) {
        await tx.query(
          `INSERT INTO resource_links (provider, scope, from_type, from_id, relation, to_type, to_id)
           SELECT $1, $2, from_type, from_id, relation, to_type, to_id
           FROM jsonb_to_recordset($3::text::jsonb) AS x(from_type text, from_id text, relation text, to_type text, to_id text)
           ON CONFLICT DO NOTHING`,
          [run.provider, run.scope, JSON.stringify(links)],
        );
      }
      return { created: Number(counts?.created ?? 0), updated: Number(counts?.updated ?? 0) };
    });
  }

  async markStale(run: RunRef, covers: DiscoverySource["covers"][]): Promise<number> {
    const pairs = covers.flatMap((c) => c.types.map((type) => ({ type, region: c.region })));
    if (pairs.length === 0) return 0;
    const rows = await this.#db.query<{ id: number }>(
      `UPDATE resources r SET deleted_at = now()
       WHERE r.provider = $1 AND r.scope = $2 AND r.deleted_at IS NULL AND r.run_tag <> $3
         AND EXISTS (SELECT 1 FROM jsonb_to_recordset($4::text::jsonb) AS c(type text, region text)
                     WHERE c.type = r.type AND (c.region IS NULL OR c.region = r.region))
       RETURNING r.id`,
      [run.provider, run.scope, run.runId, JSON.stringify(pairs)],
    );
    return rows.length;
  }

  /** Closes a run; a Kubernetes run then refreshes the cluster's service accounts in the directory. */
  async finishRun(runId: string, end: RunEnd): Promise<void> {
    const run = await finishSyncRun(this.#db, runId, end);
    if (run?.provider === "kubernetes") await projectKubernetesDirectory(this.#db, run.scope);
  }

  /** Resources matching `query`, newest id last, with a cursor for the next page. */
  async listResources(query: ResourceQuery = {}): Promise<{ resources: ResourceRow[]; nextCursor?: string }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    for (const column of ["provider", "scope", "type", "category", "region", "org"] as const) {
      if (query[column] !== undefined) add(`${column} = ?`, query[column]);
    }
    if (query.name !== undefined) add("name ILIKE ?", `%${query.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const state = query.state ?? "live";
    if (state === "live") where.push("deleted_at IS NULL");
    else if (state === "deleted") where.push("deleted_at IS NOT NULL");
    if (query.cursor !== undefined) add("id > ?", decodeCursor(query.cursor));
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    params.push(limit + 1);
    const rows = await this.#db.query<Row>(
      `SELECT * FROM resources ${
        where.length ? `WHERE ${where.join(" AND ")}` : ""
      } ORDER BY id LIMIT $${params.length}`,
      params,
    );
    const resources = rows.slice(0, limit).map(toResourceRow);
    const last = resources.at(-1);
    return rows.length > limit && last ? { resources, nextCursor: encodeCursor(last.id) } : { resources };
  }

  /** One resource with its links both ways. */
  async getResource(
    id: number,
  ): Promise<(ResourceRow & { links: LinkRow[]; linkedFrom: LinkRow[] }) | undefined> {
    const [row] = await this.#db.query<Row>("SELECT * FROM resources WHERE id = $1", [id]);
    if (!row) return undefined;
    const resource = toResourceRow(row);
    const key = [resource.provider, resource.scope, resource.type, resource.externalId];
    const out = await this.#db.query<Row>(
      `SELECT l.relation, l.to_type AS type, l.to_id AS external_id, r.id FROM resource_links l
       LEFT JOIN resources r ON r.provider = l.provider AND r.scope = l.scope AND r.type = l.to_type AND r.external_id = l.to_id
       WHERE l.provider = $1 AND l.scope = $2 AND l.from_type = $3 AND l.from_id = $4 ORDER BY l.relation, l.to_type, l.to_id`,
      key,
    );
    const into = await this.#db.query<Row>(
      `SELECT l.relation, l.from_type AS type, l.from_id AS external_id, r.id FROM resource_links l
       LEFT JOIN resources r ON r.provider = l.provider AND r.scope = l.scope AND r.type = l.from_type AND r.external_id = l.from_id
       WHERE l.provider = $1 AND l.scope = $2 AND l.to_type = $3 AND l.to_id = $4 ORDER BY l.relation, l.from_type, l.from_id LIMIT 1000`,
      key,
    );
    const toLink = (r: Row): LinkRow => ({
      relation: String(r.relation),
      type: String(r.type),
      externalId: String(r.external_id),
      id: r.id === null || r.id === undefined ? null : Number(r.id),
    });
    return { ...resource, links: out.map(toLink), linkedFrom: into.map(toLink) };
  }

  /** Recent runs, newest first. */
  async listRuns(
    filter: { provider?: string; scope?: string; jobId?: string; limit?: number } = {},
  ): Promise<RunRow[]> {
    const rows = await this.#db.query<Row>(
      `SELECT * FROM discovery_runs WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR scope = $2)
         AND ($3::text IS NULL OR job_id = $3) ORDER BY started_at DESC, id DESC LIMIT $4`,
      [
        filter.provider ?? null,
        filter.scope ?? null,
        filter.jobId ?? null,
        Math.min(filter.limit ?? 20, 200),
      ],
    );
    return rows.map(toRunRow);
  }
}

function encodeCursor(id: number): string {
  return btoa(`r:${id}`);
}

function decodeCursor(cursor: string): number {
  let text = "";
  try {
    text = atob(cursor);
  } catch { /* reported below */ }
  const id = Number(text.slice(2));
  if (!text.startsWith("r:") || !Number.isSafeInteger(id)) {
    throw new ValidationError(`Invalid cursor "${cursor.slice(0, 40)}"`, { field: "cursor" });
  }
  return id;
}

/** Resource row → JSON for the API. */
export function resourceToJson(row: ResourceRow): Record<string, unknown> {
  return {
    id: row.id,
    provider: row.provider,
    scope: row.scope,
    type: row.type,
    externalId: row.externalId,
    category: row.category,
    name: row.name,
    region: row.region,
    org: row.org,
    attributes: row.attributes,
    firstSeen: row.firstSeen.toISOString(),
    lastSeen: row.lastSeen.toISOString(),
    deletedAt: row.deletedAt?.toISOString() ?? null,
  };
}
