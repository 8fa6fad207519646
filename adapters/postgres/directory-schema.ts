/**
 * Migration 3: the directory model (issue 13) — who exists and who belongs to
 * which group, across LDAP, Google Workspace, Okta, Authentik and Kubernetes
 * service accounts. Same statements on PostgreSQL 15 and PGlite.
 *
 * - `identities`, `identity_groups`, `organizations`: one row per entry of a
 *   directory (`provider`, `scope`), keyed by the source's external id; marked
 *   deleted (`deleted_at`), never removed, like `resources`.
 * - `identity_group_members`: direct edges (a group holds an identity or a
 *   group); `identity_memberships` closes them over any depth of nesting. The
 *   recursive view walks (root group, reached group) pairs with `UNION`, which
 *   drops pairs already reached, so a cycle ends the walk instead of looping.
 * - `identity_edges_seen`: the edges a running sync saw, by external id, so an
 *   edge may name an entry of a later page; resolved and cleared when the run
 *   completes (adapters/postgres/sql-directory.ts).
 * - `identity_membership_changes`: the write-back ledger (a requested add or
 *   remove, its job, when the provider confirmed it).
 * - `discovery_runs.drift`: what a complete directory sync changed in the edges.
 *
 * Reads filter by provider and scope and page by id (keyset), so each table has
 * `(provider, scope, id)`; edges are read both ways (members of a group, groups
 * of a member), so they are indexed both ways.
 *
 * @module
 */
export const DIRECTORY_SCHEMA_SQL = `
  CREATE TABLE organizations (
    id bigserial PRIMARY KEY,
    provider text NOT NULL CHECK (provider IN ('ldap','google_workspace','okta','authentik','kubernetes')),
    scope text NOT NULL,
    external_id text NOT NULL,
    name text NOT NULL,
    parent_id bigint REFERENCES organizations(id) ON DELETE SET NULL,
    -- The parent as the source named it; parent_id is resolved from it when a run completes.
    parent_external_id text,
    org text,
    run_tag text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (provider, scope, external_id)
  );
  CREATE INDEX organizations_scope_idx ON organizations (provider, scope, id);
  CREATE INDEX organizations_parent_idx ON organizations (parent_id);

  CREATE TABLE identities (
    id bigserial PRIMARY KEY,
    provider text NOT NULL CHECK (provider IN ('ldap','google_workspace','okta','authentik','kubernetes')),
    scope text NOT NULL,
    external_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('user','service_account')),
    username text,
    email text,
    display_name text,
    status text NOT NULL CHECK (status IN ('active','suspended','deprovisioned')),
    attributes jsonb NOT NULL DEFAULT '{}',
    org text,
    organization_id bigint REFERENCES organizations(id) ON DELETE SET NULL,
    -- The organization as the source named it; organization_id is resolved from it.
    organization_external_id text,
    run_tag text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (provider, scope, external_id)
  );
  CREATE INDEX identities_scope_idx ON identities (provider, scope, id);
  CREATE INDEX identities_username_idx ON identities (lower(username));
  CREATE INDEX identities_email_idx ON identities (lower(email));
  CREATE INDEX identities_organization_idx ON identities (organization_id);

  CREATE TABLE identity_groups (
    id bigserial PRIMARY KEY,
    provider text NOT NULL CHECK (provider IN ('ldap','google_workspace','okta','authentik','kubernetes')),
    scope text NOT NULL,
    external_id text NOT NULL,
    name text NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}',
    org text,
    run_tag text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (provider, scope, external_id)
  );
  CREATE INDEX identity_groups_scope_idx ON identity_groups (provider, scope, id);

  -- Direct edges. member_id is an identities.id or an identity_groups.id, by member_type.
  CREATE TABLE identity_group_members (
    group_id bigint NOT NULL REFERENCES identity_groups(id) ON DELETE CASCADE,
    member_type text NOT NULL CHECK (member_type IN ('identity','group')),
    member_id bigint NOT NULL,
    -- The sync run (or 'writeback:<change id>') that wrote the edge.
    run_tag text NOT NULL,
    PRIMARY KEY (group_id, member_type, member_id)
  );
  CREATE INDEX identity_group_members_member_idx ON identity_group_members (member_type, member_id, group_id);

  -- Every identity of every group through any depth of nesting; direct: it is a direct member of the group.
  CREATE VIEW identity_memberships AS
    WITH RECURSIVE reach(root_id, group_id) AS (
      SELECT id, id FROM identity_groups
      UNION
      SELECT r.root_id, m.member_id
      FROM reach r JOIN identity_group_members m ON m.group_id = r.group_id AND m.member_type = 'group'
    )
    SELECT r.root_id AS group_id, m.member_id AS identity_id, bool_or(r.root_id = r.group_id) AS direct
    FROM reach r JOIN identity_group_members m ON m.group_id = r.group_id AND m.member_type = 'identity'
    GROUP BY r.root_id, m.member_id;

  -- Edges a running sync saw, by external id; resolved into identity_group_members when the run completes.
  CREATE TABLE identity_edges_seen (
    run_tag text NOT NULL,
    provider text NOT NULL,
    scope text NOT NULL,
    group_external_id text NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('identity','group')),
    member_external_id text NOT NULL,
    PRIMARY KEY (run_tag, group_external_id, member_type, member_external_id)
  );
  CREATE INDEX identity_edges_seen_scope_idx ON identity_edges_seen (provider, scope);

  -- The write-back ledger. Status is derived: applied_at set: applied; its job failed or
  -- cancelled: failed; otherwise pending.
  CREATE TABLE identity_membership_changes (
    id bigserial PRIMARY KEY,
    group_id bigint NOT NULL REFERENCES identity_groups(id) ON DELETE CASCADE,
    identity_id bigint NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    operation text NOT NULL CHECK (operation IN ('add','remove')),
    job_id text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz,
    provider_request_id text
  );
  CREATE INDEX identity_membership_changes_group_idx ON identity_membership_changes (group_id, identity_id, id);
  CREATE INDEX identity_membership_changes_open_idx ON identity_membership_changes (group_id, identity_id)
    WHERE applied_at IS NULL;

  -- {"added", "removed", "drift", "unresolved"}: the edges a complete directory sync changed.
  ALTER TABLE discovery_runs ADD COLUMN drift jsonb;

  -- A schedule of a directory sync names its provider too (sync.ldap -> ldap), as discovery's do.
  ALTER TABLE schedules DROP COLUMN provider;
  ALTER TABLE schedules ADD COLUMN provider text GENERATED ALWAYS AS (
    CASE WHEN kind LIKE 'discovery.%' THEN substr(kind, 11) WHEN kind LIKE 'sync.%' THEN substr(kind, 6) END
  ) STORED;
`;
