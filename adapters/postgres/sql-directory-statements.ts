/**
 * The statements a complete directory sync ends with (SqlDirectory.markStale):
 * resolving references by external id, and replacing the scope's direct edges
 * with the edges the run saw. Parameters: `$1` provider, `$2` scope, `$3` run tag.
 *
 * @module
 */

/** Sets `organizations.parent_id` and `identities.organization_id` of a scope from the external ids the source named. */
export const SQL_RESOLVE_REFERENCES = [
  `UPDATE organizations o SET parent_id = p.id
   FROM organizations o2 LEFT JOIN organizations p
     ON p.provider = o2.provider AND p.scope = o2.scope AND p.external_id = o2.parent_external_id
   WHERE o2.id = o.id AND o.provider = $1 AND o.scope = $2 AND o.parent_id IS DISTINCT FROM p.id`,
  `UPDATE identities i SET organization_id = o.id
   FROM identities i2 LEFT JOIN organizations o
     ON o.provider = i2.provider AND o.scope = i2.scope AND o.external_id = i2.organization_external_id
   WHERE i2.id = i.id AND i.provider = $1 AND i.scope = $2 AND i.organization_id IS DISTINCT FROM o.id`,
];

/**
 * One statement: the edges the run staged, resolved to row ids (`seen`), replace
 * the direct edges of the scope's groups (`current`). An edge a write-back
 * change confirmed since the run started is left as the change made it (the run
 * may have listed the group before the provider applied the change). Returns
 * `added`, `removed`, `unexpected` (those no pending change explains) and
 * `unresolved` (staged edges naming an entry the scope does not have).
 */
export const SQL_EDGE_REPLACE = `
  WITH seen AS (
    SELECT DISTINCT g.id AS group_id, s.member_type, COALESCE(mi.id, mg.id) AS member_id
    FROM identity_edges_seen s
    JOIN identity_groups g ON g.provider = s.provider AND g.scope = s.scope AND g.external_id = s.group_external_id
    LEFT JOIN identities mi ON s.member_type = 'identity' AND mi.provider = s.provider AND mi.scope = s.scope
      AND mi.external_id = s.member_external_id
    LEFT JOIN identity_groups mg ON s.member_type = 'group' AND mg.provider = s.provider AND mg.scope = s.scope
      AND mg.external_id = s.member_external_id
    WHERE s.run_tag = $3 AND COALESCE(mi.id, mg.id) IS NOT NULL
  ), current AS (
    SELECT m.group_id, m.member_type, m.member_id
    FROM identity_group_members m JOIN identity_groups g ON g.id = m.group_id
    WHERE g.provider = $1 AND g.scope = $2
  ), recent AS (
    SELECT c.group_id, c.identity_id, c.operation FROM identity_membership_changes c
    WHERE c.applied_at >= (SELECT started_at FROM discovery_runs WHERE id = $3)
  ), pending AS (
    SELECT c.group_id, c.identity_id, c.operation
    FROM identity_membership_changes c LEFT JOIN jobs j ON j.id = c.job_id
    WHERE c.applied_at IS NULL AND (j.status IS NULL OR j.status NOT IN ('failed','cancelled'))
  ), removed AS (
    DELETE FROM identity_group_members m USING current c
    WHERE m.group_id = c.group_id AND m.member_type = c.member_type AND m.member_id = c.member_id
      AND NOT EXISTS (SELECT 1 FROM seen s
        WHERE s.group_id = c.group_id AND s.member_type = c.member_type AND s.member_id = c.member_id)
      AND NOT EXISTS (SELECT 1 FROM recent r
        WHERE c.member_type = 'identity' AND r.group_id = c.group_id AND r.identity_id = c.member_id
          AND r.operation = 'add')
    RETURNING m.group_id, m.member_type, m.member_id
  ), added AS (
    INSERT INTO identity_group_members (group_id, member_type, member_id, run_tag)
    SELECT s.group_id, s.member_type, s.member_id, $3 FROM seen s
    WHERE NOT EXISTS (SELECT 1 FROM current c
        WHERE c.group_id = s.group_id AND c.member_type = s.member_type AND c.member_id = s.member_id)
      AND NOT EXISTS (SELECT 1 FROM recent r
        WHERE s.member_type = 'identity' AND r.group_id = s.group_id AND r.identity_id = s.member_id
          AND r.operation = 'remove')
    ON CONFLICT DO NOTHING
    RETURNING group_id, member_type, member_id
  )
  SELECT
    (SELECT count(*) FROM added) AS added,
    (SELECT count(*) FROM removed) AS removed,
    (SELECT count(*) FROM added a WHERE NOT EXISTS (SELECT 1 FROM pending p
       WHERE a.member_type = 'identity' AND p.group_id = a.group_id AND p.identity_id = a.member_id
         AND p.operation = 'add'))
    + (SELECT count(*) FROM removed d WHERE NOT EXISTS (SELECT 1 FROM pending p
       WHERE d.member_type = 'identity' AND p.group_id = d.group_id AND p.identity_id = d.member_id
         AND p.operation = 'remove')) AS unexpected,
    (SELECT count(*) FROM identity_edges_seen WHERE run_tag = $3) - (SELECT count(*) FROM seen) AS unresolved
`;
