/**
 * Reads of the directory (`/identities`, `/groups`, `/groups/:id/members`,
 * `/organizations`): filters, and pages in id order with an opaque keyset
 * cursor, like `/resources`. Memberships through nested groups are walked from
 * the one identity or group asked about (a recursive query over the edge
 * indexes, cycle safe by `UNION`), not by scanning the whole
 * `identity_memberships` view; both give the same answer.
 *
 * @module
 */
import type { SqlClient } from "./store.ts";
import { ValidationError } from "../../machines/errors.ts";
import {
  type ChangeRow,
  type GroupRow,
  type IdentityRow,
  type OrganizationRow,
  toChangeRow,
  toGroupRow,
  toIdentityRow,
  toOrganizationRow,
} from "./directory-rows.ts";

type Row = Record<string, unknown>;

/** Live (default), deleted or all rows. */
export type DirectoryState = "live" | "deleted" | "all";

/** Paging of every list: at most `limit` (default 100, max 1000) after `cursor`. */
export interface PageQuery {
  state?: DirectoryState;
  limit?: number;
  cursor?: string;
}

/** Filters of {@link SqlDirectoryReads.listIdentities}. */
export interface IdentityQuery extends PageQuery {
  provider?: string;
  scope?: string;
  kind?: "user" | "service_account";
  status?: "active" | "suspended" | "deprovisioned";
  /** Case-insensitive substring of the username, email or display name. */
  q?: string;
  /** Exact, case-insensitive. */
  username?: string;
  /** Exact, case-insensitive. */
  email?: string;
  org?: string;
  organizationId?: number;
}

/** Filters of {@link SqlDirectoryReads.listGroups}. */
export interface GroupQuery extends PageQuery {
  provider?: string;
  scope?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
  org?: string;
}

/** Filters of {@link SqlDirectoryReads.listOrganizations}. */
export interface OrganizationQuery extends PageQuery {
  provider?: string;
  scope?: string;
  q?: string;
  org?: string;
  parentId?: number;
}

/** Filters of {@link SqlDirectoryReads.listMembers}. */
export interface MemberQuery extends PageQuery {
  /** Only direct members. */
  direct?: boolean;
}

const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** WHERE clauses and their parameters, numbered as they are added. */
class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[];
  constructor(params: unknown[] = []) {
    this.params = [...params];
  }
  /** `sql` with each `?` replaced by the next parameter: all take `value`. */
  add(sql: string, value: unknown): void {
    this.params.push(value);
    this.clauses.push(sql.replaceAll("?", `$${this.params.length}`));
  }
  state(state: DirectoryState | undefined, column = "deleted_at"): void {
    if ((state ?? "live") === "live") this.clauses.push(`${column} IS NULL`);
    else if (state === "deleted") this.clauses.push(`${column} IS NOT NULL`);
  }
  page(prefix: string, query: PageQuery, column = "id"): string {
    if (query.cursor !== undefined) this.add(`${column} > ?`, decodeCursor(prefix, query.cursor));
    this.params.push(pageLimit(query) + 1);
    return `${
      this.clauses.length ? `WHERE ${this.clauses.join(" AND ")}` : ""
    } ORDER BY ${column} LIMIT $${this.params.length}`;
  }
}

const pageLimit = (query: PageQuery) => Math.min(Math.max(query.limit ?? 100, 1), 1000);

function paged<T extends { id: number }>(
  prefix: string,
  query: PageQuery,
  rows: T[],
): { items: T[]; nextCursor?: string } {
  const limit = pageLimit(query);
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return rows.length > limit && last ? { items, nextCursor: encodeCursor(prefix, last.id) } : { items };
}

function encodeCursor(prefix: string, id: number): string {
  return btoa(`${prefix}:${id}`);
}

function decodeCursor(prefix: string, cursor: string): number {
  let text = "";
  try {
    text = atob(cursor);
  } catch { /* reported below */ }
  const id = Number(text.slice(prefix.length + 1));
  if (
    !text.startsWith(`${prefix}:`) || !/^\d+$/.test(text.slice(prefix.length + 1)) ||
    !Number.isSafeInteger(id)
  ) {
    throw new ValidationError(
      `Invalid cursor "${cursor.slice(0, 40)}": use the nextCursor of the previous page`,
      {
        field: "cursor",
      },
    );
  }
  return id;
}

/** Directory reads on a SQL client. */
export class SqlDirectoryReads {
  #db: SqlClient;

  constructor(client: SqlClient) {
    this.#db = client;
  }

  /** Identities matching `query`, in id order. */
  async listIdentities(
    query: IdentityQuery = {},
  ): Promise<{ identities: IdentityRow[]; nextCursor?: string }> {
    const where = new Where();
    for (
      const [column, value] of [
        ["provider", query.provider],
        ["scope", query.scope],
        ["kind", query.kind],
        [
          "status",
          query.status,
        ],
        ["org", query.org],
        ["organization_id", query.organizationId],
      ] as const
    ) {
      if (value !== undefined) where.add(`${column} = ?`, value);
    }
    if (query.username !== undefined) where.add("lower(username) = lower(?)", query.username);
    if (query.email !== undefined) where.add("lower(email) = lower(?)", query.email);
    if (query.q !== undefined) {
      where.add("(username ILIKE ? OR email ILIKE ? OR display_name ILIKE ?)", like(query.q));
    }
    where.state(query.state);
    const rows = await this.#db.query<Row>(
      `SELECT * FROM identities ${where.page("i", query)}`,
      where.params,
    );
    const { items, nextCursor } = paged("i", query, rows.map(toIdentityRow));
    return nextCursor ? { identities: items, nextCursor } : { identities: items };
  }

  /** One identity (deleted ones too) with its groups, direct and through nesting (live groups). */
  async getIdentity(
    id: number,
  ): Promise<(IdentityRow & { groups: (GroupRow & { direct: boolean })[] }) | undefined> {
    const [row] = await this.#db.query<Row>("SELECT * FROM identities WHERE id = $1", [id]);
    if (!row) return undefined;
    const groups = await this.#db.query<Row>(
      `WITH RECURSIVE up(group_id, direct) AS (
         SELECT group_id, true FROM identity_group_members WHERE member_type = 'identity' AND member_id = $1
         UNION
         SELECT m.group_id, false FROM up JOIN identity_group_members m ON m.member_type = 'group' AND m.member_id = up.group_id
       )
       SELECT g.*, bool_or(up.direct) AS direct FROM up JOIN identity_groups g ON g.id = up.group_id
       WHERE g.deleted_at IS NULL GROUP BY g.id ORDER BY g.name, g.id LIMIT 1000`,
      [id],
    );
    return {
      ...toIdentityRow(row),
      groups: groups.map((g) => ({ ...toGroupRow(g), direct: g.direct === true })),
    };
  }

  /** Groups matching `query`, in id order, with their count of direct members. */
  async listGroups(query: GroupQuery = {}): Promise<{ groups: GroupRow[]; nextCursor?: string }> {
    const where = new Where();
    for (
      const [column, value] of [["provider", query.provider], ["scope", query.scope], [
        "org",
        query.org,
      ]] as const
    ) {
      if (value !== undefined) where.add(`${column} = ?`, value);
    }
    if (query.q !== undefined) where.add("name ILIKE ?", like(query.q));
    where.state(query.state);
    const rows = await this.#db.query<Row>(
      `SELECT g.*, (SELECT count(*) FROM identity_group_members m WHERE m.group_id = g.id) AS direct_members
       FROM identity_groups g ${where.page("g", query)}`,
      where.params,
    );
    const { items, nextCursor } = paged("g", query, rows.map(toGroupRow));
    return nextCursor ? { groups: items, nextCursor } : { groups: items };
  }

  /** One group (deleted ones too). */
  async getGroup(id: number): Promise<GroupRow | undefined> {
    const [row] = await this.#db.query<Row>("SELECT * FROM identity_groups WHERE id = $1", [id]);
    return row ? toGroupRow(row) : undefined;
  }

  /** One identity without its groups. */
  async getIdentityRow(id: number): Promise<IdentityRow | undefined> {
    const [row] = await this.#db.query<Row>("SELECT * FROM identities WHERE id = $1", [id]);
    return row ? toIdentityRow(row) : undefined;
  }

  /**
   * The identities of a group, direct and through nested groups (`direct`
   * tells), in id order; its direct subgroups; and its write-back changes not
   * applied yet (pending, or failed and not superseded by a later change).
   */
  async listMembers(groupId: number, query: MemberQuery = {}): Promise<{
    members: (IdentityRow & { direct: boolean })[];
    groups: GroupRow[];
    changes: ChangeRow[];
    nextCursor?: string;
  }> {
    const where = new Where([groupId]);
    where.state(query.state, "i.deleted_at");
    const page = where.page("m", query, "i.id");
    const rows = await this.#db.query<Row>(
      `WITH RECURSIVE down(group_id) AS (
         SELECT $1::bigint
         UNION
         SELECT m.member_id FROM down JOIN identity_group_members m ON m.group_id = down.group_id AND m.member_type = 'group'
       ), reached AS (
         SELECT m.member_id AS identity_id, bool_or(d.group_id = $1) AS direct
         FROM down d JOIN identity_group_members m ON m.group_id = d.group_id AND m.member_type = 'identity'
         ${query.direct ? "WHERE d.group_id = $1" : ""}
         GROUP BY m.member_id
       )
       SELECT i.*, r.direct FROM reached r JOIN identities i ON i.id = r.identity_id
       ${page}`,
      where.params,
    );
    const { items, nextCursor } = paged(
      "m",
      query,
      rows.map((r) => ({ ...toIdentityRow(r), direct: r.direct === true })),
    );
    const groups = await this.#db.query<Row>(
      `SELECT g.* FROM identity_group_members m JOIN identity_groups g ON g.id = m.member_id
       WHERE m.group_id = $1 AND m.member_type = 'group' AND g.deleted_at IS NULL ORDER BY g.name, g.id LIMIT 1000`,
      [groupId],
    );
    const changes = await this.#db.query<Row>(
      `SELECT c.*, j.status AS job_status, i.external_id AS identity_external_id, i.username AS identity_username
       FROM identity_membership_changes c
       JOIN identities i ON i.id = c.identity_id
       LEFT JOIN jobs j ON j.id = c.job_id
       WHERE c.group_id = $1 AND c.applied_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM identity_membership_changes later
           WHERE later.group_id = c.group_id AND later.identity_id = c.identity_id AND later.id > c.id)
       ORDER BY c.id DESC LIMIT 100`,
      [groupId],
    );
    return {
      members: items,
      groups: groups.map(toGroupRow),
      changes: changes.map(toChangeRow),
      ...(nextCursor ? { nextCursor } : {}),
    };
  }

  /** Organizations matching `query`, in id order. */
  async listOrganizations(
    query: OrganizationQuery = {},
  ): Promise<{ organizations: OrganizationRow[]; nextCursor?: string }> {
    const where = new Where();
    for (
      const [column, value] of [["provider", query.provider], ["scope", query.scope], ["org", query.org], [
        "parent_id",
        query.parentId,
      ]] as const
    ) {
      if (value !== undefined) where.add(`${column} = ?`, value);
    }
    if (query.q !== undefined) where.add("name ILIKE ?", like(query.q));
    where.state(query.state);
    const rows = await this.#db.query<Row>(
      `SELECT * FROM organizations ${where.page("o", query)}`,
      where.params,
    );
    const { items, nextCursor } = paged("o", query, rows.map(toOrganizationRow));
    return nextCursor ? { organizations: items, nextCursor } : { organizations: items };
  }
}
