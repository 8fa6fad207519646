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
  ), diff AS (
    -- Only the differences (one hash join, not a lookup per edge): add = listed, not stored.
    SELECT COALESCE(s.group_id, c.group_id) AS group_id, COALESCE(s.member_type, c.member_type) AS member_type,
      COALESCE(s.member_id, c.member_id) AS member_id, s.group_id IS NOT NULL AS add
    FROM seen s FULL JOIN current c
      ON s.group_id = c.group_id AND s.member_type = c.member_type AND s.member_id = c.member_id
    WHERE s.group_id IS NULL OR c.group_id IS NULL
  ), judged AS (
    SELECT d.*,
      -- The opposite change was confirmed since the run started: the run may have read the group before it.
      EXISTS (SELECT 1 FROM identity_membership_changes x
        WHERE d.member_type = 'identity' AND x.group_id = d.group_id AND x.identity_id = d.member_id
          AND x.operation = CASE WHEN d.add THEN 'remove' ELSE 'add' END
          AND x.applied_at >= (SELECT started_at FROM discovery_runs WHERE id = $3)) AS kept,
      -- A pending change asked for exactly this: not drift.
      EXISTS (SELECT 1 FROM identity_membership_changes x LEFT JOIN jobs j ON j.id = x.job_id
        WHERE d.member_type = 'identity' AND x.group_id = d.group_id AND x.identity_id = d.member_id
          AND x.operation = CASE WHEN d.add THEN 'add' ELSE 'remove' END AND x.applied_at IS NULL
          AND (j.status IS NULL OR j.status NOT IN ('failed','cancelled'))) AS expected
    FROM diff d
  ), removed AS (
    DELETE FROM identity_group_members m USING judged j
    WHERE NOT j.add AND NOT j.kept
      AND m.group_id = j.group_id AND m.member_type = j.member_type AND m.member_id = j.member_id
    RETURNING j.expected
  ), added AS (
    INSERT INTO identity_group_members (group_id, member_type, member_id, run_tag)
    SELECT group_id, member_type, member_id, $3 FROM judged WHERE add AND NOT kept
    ON CONFLICT DO NOTHING
    RETURNING group_id, member_type, member_id
  )
  SELECT
    (SELECT count(*) FROM added) AS added,
    (SELECT count(*) FROM removed) AS removed,
    -- Not a join of added and judged: two CTEs have no statistics, and PGlite plans that as a nested loop.
    (SELECT count(*) FROM judged WHERE add AND NOT kept AND NOT expected)
    + (SELECT count(*) FROM removed WHERE NOT expected) AS unexpected,
    (SELECT count(*) FROM identity_edges_seen WHERE run_tag = $3) - (SELECT count(*) FROM seen) AS unresolved
`;
