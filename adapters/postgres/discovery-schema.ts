/**
 * Migration 2: the inventory (`resources`, `resource_links`), discovery runs and
 * schedules, plus views named like the reference schema's tables (`entities`,
 * `networking_resources`, `data_stores`, `services`, `network_entity_mappings`)
 * so reports written for it keep working.
 *
 * @module
 */
export const DISCOVERY_SCHEMA_SQL = `
  CREATE TABLE resources (
    id bigserial PRIMARY KEY,
    provider text NOT NULL CHECK (provider IN ('aws','gcp','azure','kubernetes')),
    scope text NOT NULL,
    type text NOT NULL,
    external_id text NOT NULL,
    category text NOT NULL CHECK (category IN ('compute','network','data','service','identity','other')),
    name text,
    region text,
    org text,
    attributes jsonb NOT NULL DEFAULT '{}',
    -- The discovery run that saw it last: a fully successful run marks what it did not see deleted.
    run_tag text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (provider, scope, type, external_id)
  );
  CREATE INDEX resources_live_idx ON resources (provider, scope, type, region) WHERE deleted_at IS NULL;
  CREATE INDEX resources_type_idx ON resources (type, id);

  -- Edges between resources of one provider and scope, by natural key, so a link
  -- may name a resource listed later in the same run (or by another source).
  CREATE TABLE resource_links (
    provider text NOT NULL,
    scope text NOT NULL,
    from_type text NOT NULL,
    from_id text NOT NULL,
    relation text NOT NULL,
    to_type text NOT NULL,
    to_id text NOT NULL,
    PRIMARY KEY (provider, scope, from_type, from_id, relation, to_type, to_id)
  );
  CREATE INDEX resource_links_to_idx ON resource_links (provider, scope, to_type, to_id);

  CREATE TABLE discovery_runs (
    id text PRIMARY KEY,
    job_id text NOT NULL,
    attempt int NOT NULL,
    provider text NOT NULL,
    scope text NOT NULL,
    org text,
    status text NOT NULL CHECK (status IN ('running','success','partial','failed','abandoned')),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    sources int NOT NULL DEFAULT 0,
    pages int NOT NULL DEFAULT 0,
    created int NOT NULL DEFAULT 0,
    updated int NOT NULL DEFAULT 0,
    deleted int NOT NULL DEFAULT 0,
    failed_pages jsonb,
    error text
  );
  -- At most one running sync per scope: the no-overlap guarantee.
  CREATE UNIQUE INDEX discovery_runs_one_running ON discovery_runs (provider, scope) WHERE status = 'running';
  CREATE INDEX discovery_runs_scope_idx ON discovery_runs (provider, scope, started_at DESC);

  CREATE TABLE schedules (
    id text PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    org text,
    provider text GENERATED ALWAYS AS (CASE WHEN kind LIKE 'discovery.%' THEN substr(kind, 11) END) STORED,
    scope text GENERATED ALWAYS AS (payload->>'scope') STORED,
    credentials_ref text GENERATED ALWAYS AS (payload->>'credentials') STORED,
    interval_seconds int NOT NULL CHECK (interval_seconds > 0),
    enabled boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL DEFAULT now(),
    last_run_at timestamptz,
    last_job_id text,
    status text NOT NULL DEFAULT 'idle',
    last_error jsonb,
    skipped int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE enabled;

  CREATE VIEW entities AS
    SELECT id, name, category AS entity_type, type AS resource_type, external_id AS resource_id, provider, scope,
           region, org AS organization_id, attributes, deleted_at IS NULL AS is_active,
           first_seen AS created_at, last_seen AS updated_at
    FROM resources WHERE category = 'compute';

  CREATE VIEW networking_resources AS
    SELECT r.id, r.name, r.type AS network_type, r.provider, r.scope, r.region, r.org AS organization_id,
           (SELECT p.id FROM resource_links l JOIN resources p
              ON p.provider = l.provider AND p.scope = l.scope AND p.type = l.to_type AND p.external_id = l.to_id
            WHERE l.provider = r.provider AND l.scope = r.scope AND l.from_type = r.type AND l.from_id = r.external_id
              AND l.relation = 'in' AND p.category = 'network' LIMIT 1) AS parent_id,
           r.attributes, r.deleted_at IS NULL AS is_active, r.first_seen AS created_at, r.last_seen AS updated_at
    FROM resources r WHERE r.category = 'network';

  CREATE VIEW data_stores AS
    SELECT id, name, type AS storage_type, provider AS storage_provider, scope, region AS location_region,
           org AS organization_id, attributes AS metadata, deleted_at IS NULL AS is_active,
           first_seen AS created_at, last_seen AS updated_at
    FROM resources WHERE category = 'data';

  CREATE VIEW services AS
    SELECT id, name, type AS deployment_type, provider, scope, region, org AS organization_id,
           attributes, deleted_at IS NULL AS is_active, first_seen AS created_at, last_seen AS updated_at
    FROM resources WHERE category = 'service';

  CREATE VIEW network_entity_mappings AS
    SELECT n.id AS network_id, e.id AS entity_id, l.relation AS relationship_type, NULL::jsonb AS metadata
    FROM resource_links l
    JOIN resources e ON e.provider = l.provider AND e.scope = l.scope AND e.type = l.from_type AND e.external_id = l.from_id
    JOIN resources n ON n.provider = l.provider AND n.scope = l.scope AND n.type = l.to_type AND n.external_id = l.to_id
    WHERE e.category = 'compute' AND n.category = 'network';
`;
