/**
 * Kubernetes service accounts in the directory (issue 13, item 5), derived
 * from what discovery already stored, so one query answers "who can act in
 * this cluster" next to the LDAP, Okta... identities:
 *
 * - each `service-account` resource of a cluster (scope) is an identity,
 *   provider `kubernetes`, kind `service_account`, external id `namespace/name`,
 *   username `system:serviceaccount:<namespace>:<name>` (what the API server
 *   calls it), deleted when the resource is;
 * - each role a live binding grants is a group-like grant, external id
 *   `ClusterRole/<name>` for a ClusterRoleBinding (cluster-wide) and
 *   `<namespace>/<Role|ClusterRole>/<name>` for a RoleBinding (only in its
 *   namespace); deleted when no live binding grants it any more;
 * - each binding's `binds` links to service accounts are the grant's direct
 *   members (replaced as a whole).
 *
 * It is a projection, not a second sync: it reads only `resources` and
 * `resource_links`, is idempotent, and runs when a Kubernetes discovery run
 * ends (SqlInventory.finishRun), complete or not: it follows the inventory, so
 * it deletes only what a complete discovery run marked deleted there.
 *
 * @module
 */
import type { SqlClient } from "./store.ts";

/** Live bindings, one row each, with the grant (role and where it applies) they make. */
const GRANTS = `
  SELECT CASE WHEN b.type = 'role-binding' THEN split_part(b.external_id, '/', 1) || '/' ELSE '' END
           || (b.attributes->'roleRef'->>'kind') || '/' || (b.attributes->'roleRef'->>'name') AS grant_id,
         CASE WHEN b.type = 'role-binding' THEN split_part(b.external_id, '/', 1) END AS namespace,
         b.type AS binding_type, b.external_id AS binding_id,
         b.attributes->'roleRef'->>'kind' AS role_kind, b.attributes->'roleRef'->>'name' AS role_name,
         b.org, b.run_tag, b.last_seen
  FROM resources b
  WHERE b.provider = 'kubernetes' AND b.scope = $1 AND b.type IN ('role-binding','cluster-role-binding')
    AND b.deleted_at IS NULL AND b.attributes->'roleRef'->>'name' IS NOT NULL`;

const STATEMENTS = [
  // Service accounts → identities (live or deleted as the inventory says).
  `INSERT INTO identities (provider, scope, external_id, kind, username, display_name, status, attributes, org,
     run_tag, first_seen, last_seen, deleted_at)
   SELECT 'kubernetes', r.scope, r.external_id, 'service_account',
     'system:serviceaccount:' || split_part(r.external_id, '/', 1) || ':' || split_part(r.external_id, '/', 2),
     r.name, 'active',
     jsonb_strip_nulls(jsonb_build_object('namespace', split_part(r.external_id, '/', 1), 'uid', r.attributes->'uid',
       'resourceId', r.id, 'automountToken', r.attributes->'automountToken')),
     r.org, r.run_tag, r.first_seen, r.last_seen, r.deleted_at
   FROM resources r WHERE r.provider = 'kubernetes' AND r.scope = $1 AND r.type = 'service-account'
   ON CONFLICT (provider, scope, external_id) DO UPDATE SET
     username = EXCLUDED.username, display_name = EXCLUDED.display_name, attributes = EXCLUDED.attributes,
     org = EXCLUDED.org, run_tag = EXCLUDED.run_tag, last_seen = EXCLUDED.last_seen, deleted_at = EXCLUDED.deleted_at
   WHERE identities.run_tag IS DISTINCT FROM EXCLUDED.run_tag OR identities.deleted_at IS DISTINCT FROM EXCLUDED.deleted_at
     OR identities.attributes IS DISTINCT FROM EXCLUDED.attributes OR identities.org IS DISTINCT FROM EXCLUDED.org`,
  // Granted roles → groups.
  `INSERT INTO identity_groups (provider, scope, external_id, name, attributes, org, run_tag, last_seen)
   SELECT 'kubernetes', $1, grant_id, grant_id,
     jsonb_strip_nulls(jsonb_build_object('roleKind', min(role_kind), 'role', min(role_name),
       'namespace', min(namespace),
       'bindings', jsonb_agg(binding_type || ':' || binding_id ORDER BY binding_type, binding_id))),
     min(org), max(run_tag), max(last_seen)
   FROM (${GRANTS}) g GROUP BY grant_id
   ON CONFLICT (provider, scope, external_id) DO UPDATE SET
     attributes = EXCLUDED.attributes, org = EXCLUDED.org, run_tag = EXCLUDED.run_tag, last_seen = EXCLUDED.last_seen,
     deleted_at = NULL
   WHERE identity_groups.attributes IS DISTINCT FROM EXCLUDED.attributes OR identity_groups.deleted_at IS NOT NULL
     OR identity_groups.run_tag IS DISTINCT FROM EXCLUDED.run_tag`,
  `UPDATE identity_groups g SET deleted_at = now()
   WHERE g.provider = 'kubernetes' AND g.scope = $1 AND g.deleted_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM (${GRANTS}) gr WHERE gr.grant_id = g.external_id)`,
  // Bindings' service-account subjects → direct edges, replaced as a whole.
  `WITH wanted AS (
     SELECT g.id AS group_id, i.id AS identity_id, max(gr.run_tag) AS run_tag
     FROM (${GRANTS}) gr
     JOIN resource_links l ON l.provider = 'kubernetes' AND l.scope = $1 AND l.from_type = gr.binding_type
       AND l.from_id = gr.binding_id AND l.relation = 'binds' AND l.to_type = 'service-account'
     JOIN identity_groups g ON g.provider = 'kubernetes' AND g.scope = $1 AND g.external_id = gr.grant_id
     JOIN identities i ON i.provider = 'kubernetes' AND i.scope = $1 AND i.external_id = l.to_id AND i.deleted_at IS NULL
     GROUP BY g.id, i.id
   ), removed AS (
     DELETE FROM identity_group_members m USING identity_groups g
     WHERE g.id = m.group_id AND g.provider = 'kubernetes' AND g.scope = $1
       AND NOT (m.member_type = 'identity' AND EXISTS (SELECT 1 FROM wanted w
         WHERE w.group_id = m.group_id AND w.identity_id = m.member_id))
     RETURNING 1
   )
   INSERT INTO identity_group_members (group_id, member_type, member_id, run_tag)
   SELECT group_id, 'identity', identity_id, run_tag FROM wanted
   ON CONFLICT DO NOTHING`,
];

/**
 * Derives the directory rows of one cluster's service accounts and RBAC grants
 * from its inventory, in one transaction. Safe to run at any time.
 */
export async function projectKubernetesDirectory(db: SqlClient, scope: string): Promise<void> {
  await db.transaction(async (tx) => {
    // Fresh statistics first: a discovery run just wrote the rows, PGlite has no autovacuum, and
    // without them the joins below run as nested loops (minutes for 3,000 service accounts).
    await tx.query("ANALYZE resources, resource_links, identities, identity_groups, identity_group_members");
    for (const statement of STATEMENTS) await tx.query(statement, [scope]);
  });
}
