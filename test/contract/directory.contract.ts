/**
 * The directory's contract (the sync sink of identity connectors, the
 * write-back ledger, the reads, and Kubernetes service accounts projected from
 * the inventory), run once per SQL implementation: PGlite and PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { SqlClient } from "../../adapters/postgres/store.ts";
import { migrate } from "../../adapters/postgres/migrations.ts";
import { SqlDirectory } from "../../adapters/postgres/sql-directory.ts";
import { SqlInventory } from "../../adapters/postgres/sql-inventory.ts";
import type {
  DirectoryCovers,
  DirectoryEntry,
  GroupEntry,
  IdentityEntry,
  MemberRef,
} from "../../adapters/sync/directory.ts";
import type { RunRef } from "../../adapters/sync/port.ts";
import type { DiscoveredResource } from "../../adapters/discovery/provider.ts";

const user = (id: string, extra: Partial<IdentityEntry> = {}): IdentityEntry => ({
  type: "identity",
  externalId: id,
  kind: "user",
  username: id,
  email: `${id}@example.com`,
  displayName: `User ${id}`,
  status: "active",
  attributes: { dn: `uid=${id},ou=people` },
  ...extra,
});
const group = (id: string, members?: MemberRef[], extra: Partial<GroupEntry> = {}): GroupEntry => ({
  type: "group",
  externalId: id,
  name: id,
  attributes: {},
  ...(members ? { members } : {}),
  ...extra,
});
const u = (externalId: string): MemberRef => ({ memberType: "identity", externalId });
const g = (externalId: string): MemberRef => ({ memberType: "group", externalId });
const ALL: DirectoryCovers[] = [{ types: ["identity", "group", "membership", "organization"] }];

export function runDirectoryContract(options: { name: string; open: () => Promise<SqlClient> }): void {
  describe(`Directory contract: ${options.name}`, () => {
    let db: SqlClient;
    let directory: SqlDirectory;
    let n = 0;
    const scope = () => `dir${Date.now()}${n++}`;
    const ref = (s: string, runId: string, provider = "ldap"): RunRef => ({
      runId,
      provider,
      scope: s,
      org: "acme",
    });

    /** One run through the sink: begin, pages, markStale when complete, finish. */
    async function sync(
      run: RunRef,
      pages: DirectoryEntry[][],
      { complete = true, covers = ALL }: { complete?: boolean; covers?: DirectoryCovers[] } = {},
    ) {
      const jobId = `job-${run.runId}`;
      await db.query(
        `INSERT INTO jobs (id, kind, status, max_attempts, payload, lease_expires_at)
         VALUES ($1, $2, 'running', 3, $3::text::jsonb, now() + interval '1 minute')`,
        [
          jobId,
          `sync.${run.provider}`,
          JSON.stringify({ scope: run.scope, credentials: `${run.provider}-creds` }),
        ],
      );
      assert.deepEqual(await directory.beginRun({ ...run, jobId, attempt: 1 }), { started: true });
      const counts = [];
      for (const page of pages) counts.push(await directory.upsert(run, page));
      const deleted = complete ? await directory.markStale(run, covers) : 0;
      const status = complete ? "success" : "partial";
      await directory.finishRun(run.runId, {
        status,
        sources: 1,
        pages: pages.length,
        created: 0,
        updated: 0,
        deleted,
      });
      await db.query("UPDATE jobs SET status = $2 WHERE id = $1", [jobId, complete ? "success" : "failed"]);
      return { counts, deleted };
    }

    const idOf = async (table: string, s: string, externalId: string) => {
      const [row] = await db.query<{ id: unknown }>(
        `SELECT id FROM ${table} WHERE scope = $1 AND external_id = $2`,
        [s, externalId],
      );
      assert.ok(row, `${table} ${externalId} exists`);
      return Number(row.id);
    };
    const edges = async (s: string) =>
      (await db.query<{ edge: string }>(
        `SELECT g.external_id || '>' || COALESCE(i.external_id, c.external_id) AS edge
         FROM identity_group_members m JOIN identity_groups g ON g.id = m.group_id
         LEFT JOIN identities i ON m.member_type = 'identity' AND i.id = m.member_id
         LEFT JOIN identity_groups c ON m.member_type = 'group' AND c.id = m.member_id
         WHERE g.scope = $1 ORDER BY 1`,
        [s],
      )).map((r) => r.edge);

    before(async () => {
      db = await options.open();
      await migrate(db);
      directory = new SqlDirectory(db);
    });
    after(async () => await db.close());

    it("upsert() stores edges naming later pages by external id and resolves them when the run completes", async () => {
      const s = scope();
      const run = ref(s, `${s}-r1`);
      await directory.beginRun({ ...run, jobId: `${s}-j`, attempt: 1 });
      // Page 1 names users, a group and an OU that come later.
      const first = await directory.upsert(run, [
        group("admins", [u("alice"), u("bob"), g("ops")]),
        { type: "membership", groupExternalId: "devs", memberType: "identity", externalId: "carol" },
      ]);
      assert.deepEqual(first, { created: 1, updated: 0 });
      assert.deepEqual(await edges(s), [], "no edge before the run completes");
      const second = await directory.upsert(run, [
        user("alice", { organizationExternalId: "ou-eng" }),
        user("bob"),
        user("carol"),
        group("ops", [], { parentExternalIds: ["devs"] }),
        group("devs"),
        // Seen twice in one page: the later one wins, counted once.
        user("alice", { organizationExternalId: "ou-eng", displayName: "Alice" }),
      ]);
      assert.deepEqual(second, { created: 5, updated: 0 });
      const third = await directory.upsert(run, [
        { type: "organization", externalId: "ou-eng", name: "Engineering", parentExternalId: "ou-root" },
        { type: "organization", externalId: "ou-root", name: "Root" },
        user("bob", { status: "suspended" }),
      ]);
      assert.deepEqual(third, { created: 2, updated: 1 });
      assert.equal(await directory.markStale(run, ALL), 0);
      assert.deepEqual(await edges(s), [
        "admins>alice",
        "admins>bob",
        "admins>ops",
        "devs>carol",
        "devs>ops",
      ]);
      const alice = await directory.getIdentity(await idOf("identities", s, "alice"));
      assert.equal(alice?.displayName, "Alice");
      assert.equal(alice?.organizationId, await idOf("organizations", s, "ou-eng"));
      const orgs = (await directory.listOrganizations({ scope: s })).organizations;
      assert.equal(
        orgs.find((o) => o.externalId === "ou-eng")?.parentId,
        orgs.find((o) => o.externalId === "ou-root")?.id,
      );
      const staged = await db.query("SELECT 1 FROM identity_edges_seen WHERE scope = $1", [s]);
      assert.equal(staged.length, 0, "the staged edges are cleared");
    });

    it("identity_memberships closes nesting three deep with a cycle, finitely; reads agree with it", async () => {
      const s = scope();
      // top ⊃ mid ⊃ leaf ⊃ top (a cycle); one user at each level, and one outside.
      await sync(ref(s, `${s}-r`), [[
        group("top", [u("t1"), g("mid")]),
        group("mid", [u("m1"), g("leaf")]),
        group("leaf", [u("l1"), g("top")]),
        group("other", [u("o1"), g("leaf")]),
        user("t1"),
        user("m1"),
        user("l1"),
        user("o1"),
      ]]);
      const view = await db.query<{ grp: string; who: string; direct: boolean }>(
        `SELECT g.external_id AS grp, i.external_id AS who, m.direct FROM identity_memberships m
         JOIN identity_groups g ON g.id = m.group_id JOIN identities i ON i.id = m.identity_id
         WHERE g.scope = $1 ORDER BY 1, 2`,
        [s],
      );
      const cycle = ["l1", "m1", "t1"];
      const expected = [
        ...["leaf", "mid", "top"].flatMap((grp) =>
          cycle.map((who) => ({ grp, who, direct: `${who[0]}` === grp[0] }))
        ),
        ...[...cycle, "o1"].sort().map((who) => ({ grp: "other", who, direct: who === "o1" })),
      ].sort((a, b) => a.grp.localeCompare(b.grp) || a.who.localeCompare(b.who));
      assert.deepEqual(view.map((r) => ({ ...r })), expected);
      // The identity's groups, walked from it, match the view.
      const m1 = await directory.getIdentity(await idOf("identities", s, "m1"));
      assert.deepEqual(
        m1?.groups.map((grp) => [grp.externalId, grp.direct]).sort(),
        [["leaf", false], ["mid", true], ["other", false], ["top", false]],
      );
      const members = await directory.listMembers(await idOf("identity_groups", s, "mid"));
      assert.deepEqual(members.members.map((m) => [m.externalId, m.direct]), [["t1", false], ["m1", true], [
        "l1",
        false,
      ]]);
      assert.deepEqual(members.groups.map((grp) => grp.externalId), ["leaf"]);
      const direct = await directory.listMembers(await idOf("identity_groups", s, "mid"), { direct: true });
      assert.deepEqual(direct.members.map((m) => m.externalId), ["m1"]);
    });

    it("marks unseen entries deleted only after a complete run; a partial run deletes nothing; seen again is live", async () => {
      const s = scope();
      await sync(ref(s, `${s}-a`), [[
        user("keep"),
        user("gone"),
        group("g1", [u("keep"), u("gone")]),
        group("g2"),
      ]]);
      // Partial: sees only "keep"; nothing is deleted, no edge changes.
      const partial = await sync(ref(s, `${s}-b`), [[user("keep"), group("g1", [u("keep")])]], {
        complete: false,
      });
      assert.equal(partial.deleted, 0);
      assert.equal((await directory.listIdentities({ scope: s })).identities.length, 2);
      assert.deepEqual(await edges(s), ["g1>gone", "g1>keep"]);
      // Complete, covering only identities: "gone" deleted, groups untouched.
      const complete = await sync(ref(s, `${s}-c`), [[user("keep")]], { covers: [{ types: ["identity"] }] });
      assert.equal(complete.deleted, 1);
      assert.deepEqual((await directory.listIdentities({ scope: s })).identities.map((i) => i.externalId), [
        "keep",
      ]);
      const deleted = (await directory.listIdentities({ scope: s, state: "deleted" })).identities;
      assert.deepEqual(deleted.map((i) => i.externalId), ["gone"]);
      assert.ok(deleted[0]?.deletedAt instanceof Date);
      assert.equal((await directory.listGroups({ scope: s })).groups.length, 2, "groups were not covered");
      // Seen again: live again, same row.
      const goneId = await idOf("identities", s, "gone");
      await sync(ref(s, `${s}-d`), [[user("keep"), user("gone"), group("g1", [u("keep")])]]);
      assert.equal((await directory.getIdentity(goneId))?.deletedAt, null);
      assert.deepEqual(
        (await directory.listGroups({ scope: s, state: "deleted" })).groups.map((x) => x.externalId),
        [
          "g2",
        ],
      );
      assert.deepEqual(await edges(s), ["g1>keep"], "the complete run replaced the edges");
    });

    it("counts drift: edges a later complete run added or removed that no pending write-back explains", async () => {
      const s = scope();
      const run1 = ref(s, `${s}-1`, "okta");
      await sync(run1, [[user("a"), user("b"), user("c"), group("g", [u("a"), u("b")])]]);
      assert.deepEqual(await directory.drift(run1), { added: 2, removed: 0, drift: 0, unresolved: 0 });
      // A write-back of "c" is pending (its job has not confirmed) and the provider already shows it;
      // "b" was removed in the provider directly; "a" is still there; "zed" is unknown.
      const change = await directory.requestChange({
        groupId: await idOf("identity_groups", s, "g"),
        identityId: await idOf("identities", s, "c"),
        operation: "add",
        jobId: `${s}-wb`,
      });
      assert.ok(change.id > 0);
      const run2 = ref(s, `${s}-2`, "okta");
      await sync(run2, [[user("a"), user("b"), user("c"), group("g")], [
        { type: "membership", groupExternalId: "g", memberType: "identity", externalId: "a" },
        { type: "membership", groupExternalId: "g", memberType: "identity", externalId: "c" },
        { type: "membership", groupExternalId: "g", memberType: "identity", externalId: "zed" },
      ]]);
      assert.deepEqual(await directory.drift(run2), { added: 1, removed: 1, drift: 1, unresolved: 1 });
      assert.deepEqual(await edges(s), ["g>a", "g>c"]);
      assert.equal(await directory.drift(ref(s, "never")), null);
    });

    it("the ledger: get() names external ids and credentials; applied() writes or removes the edge once", async () => {
      const s = scope();
      await sync(ref(s, `${s}-1`, "authentik"), [[user("u1"), user("u2"), group("team", [u("u1")])]]);
      const groupId = await idOf("identity_groups", s, "team");
      const u2 = await idOf("identities", s, "u2");
      const add = await directory.requestChange({ groupId, identityId: u2, operation: "add" });
      await directory.attachJob(add.id, `${s}-job-add`);
      assert.deepEqual(await directory.get(add.id), {
        id: add.id,
        provider: "authentik",
        scope: s,
        operation: "add",
        groupExternalId: "team",
        identityExternalId: "u2",
        credentialsRef: "authentik-creds",
      });
      assert.equal(await directory.get(987654321), null);
      let listed = await directory.listMembers(groupId);
      assert.deepEqual(listed.members.map((m) => m.externalId), ["u1"], "not a member until applied");
      assert.deepEqual(listed.changes.map((c) => [c.id, c.operation, c.status, c.identityExternalId]), [[
        add.id,
        "add",
        "pending",
        "u2",
      ]]);
      await directory.applied(add.id, { requestId: "req-1" });
      await directory.applied(add.id, { requestId: "req-2" });
      listed = await directory.listMembers(groupId);
      assert.deepEqual(listed.members.map((m) => m.externalId), ["u1", "u2"]);
      assert.deepEqual(listed.changes, []);
      const [row] = await db.query<Record<string, unknown>>(
        "SELECT provider_request_id, applied_at FROM identity_membership_changes WHERE id = $1",
        [add.id],
      );
      assert.equal(row?.provider_request_id, "req-1", "the second applied() is a no-op");
      assert.ok(row?.applied_at);
      // Remove, with a failed job first: shown as failed until a later change supersedes it.
      const failed = await directory.requestChange({
        groupId,
        identityId: u2,
        operation: "remove",
        jobId: `${s}-f`,
      });
      await db.query(
        "INSERT INTO jobs (id, kind, status, max_attempts) VALUES ($1, 'writeback.authentik', 'failed', 1)",
        [
          `${s}-f`,
        ],
      );
      assert.deepEqual((await directory.listMembers(groupId)).changes.map((c) => [c.id, c.status]), [[
        failed.id,
        "failed",
      ]]);
      const remove = await directory.requestChange({ groupId, identityId: u2, operation: "remove" });
      assert.deepEqual((await directory.listMembers(groupId)).changes.map((c) => [c.id, c.status]), [[
        remove.id,
        "pending",
      ]]);
      await directory.applied(remove.id, {});
      assert.deepEqual((await directory.listMembers(groupId)).members.map((m) => m.externalId), ["u1"]);
      await assert.rejects(directory.applied(987654321, {}), { code: "NOT_FOUND" });
      // Discarding leaves an applied change alone.
      await directory.discardChange(remove.id);
      assert.ok(await directory.get(remove.id));
    });

    it("the ledger's credentials: the latest successful sync's, else the scope's sync.<provider> schedule's, else null", async () => {
      const s = scope();
      // A partial sync only: its job's credentials are not vouched for by a successful run.
      await sync(ref(s, `${s}-1`, "okta"), [[user("u1"), group("g1")]], { complete: false });
      const change = await directory.requestChange({
        groupId: await idOf("identity_groups", s, "g1"),
        identityId: await idOf("identities", s, "u1"),
        operation: "add",
      });
      assert.equal((await directory.get(change.id))?.credentialsRef, null);
      const schedule = (id: string, credentials: string, scopeOf = s) =>
        db.query(
          `INSERT INTO schedules (id, kind, payload, interval_seconds) VALUES ($1, 'sync.okta', $2::text::jsonb, 3600)`,
          [id, JSON.stringify({ scope: scopeOf, credentials })],
        );
      await schedule(`${s}-other-scope`, "elsewhere", `${s}-x`);
      await schedule(`${s}-a`, "okta-a");
      assert.equal((await directory.get(change.id))?.credentialsRef, "okta-a");
      await db.query("DELETE FROM schedules WHERE id = 'okta-default'");
      await schedule("okta-default", "okta-default-creds");
      assert.equal(
        (await directory.get(change.id))?.credentialsRef,
        "okta-default-creds",
        "the default first",
      );
      await sync(ref(s, `${s}-2`, "okta"), [[user("u1"), group("g1")]]);
      assert.equal(
        (await directory.get(change.id))?.credentialsRef,
        "okta-creds",
        "a successful sync's first",
      );
      await db.query("DELETE FROM schedules WHERE id = 'okta-default'");
    });

    it("a change the provider confirmed while a run was reading survives that run", async () => {
      const s = scope();
      await sync(ref(s, `${s}-1`, "okta"), [[user("a"), user("b"), group("g", [u("a")])]]);
      const run = ref(s, `${s}-2`, "okta");
      await directory.beginRun({ ...run, jobId: `${s}-j2`, attempt: 1 });
      // The run lists g before the write-back of b is confirmed.
      await directory.upsert(run, [user("a"), user("b"), group("g", [u("a")])]);
      const change = await directory.requestChange({
        groupId: await idOf("identity_groups", s, "g"),
        identityId: await idOf("identities", s, "b"),
        operation: "add",
      });
      await directory.applied(change.id, {});
      await directory.markStale(run, ALL);
      assert.deepEqual(await edges(s), ["g>a", "g>b"]);
      // The next run that does not list b removes it: the provider is the record.
      await sync(ref(s, `${s}-3`, "okta"), [[user("a"), user("b"), group("g", [u("a")])]]);
      assert.deepEqual(await edges(s), ["g>a"]);
    });

    it("reads filter and page by cursor; a bad cursor is a validation error", async () => {
      const s = scope();
      const users = Array.from({ length: 23 }, (_, i) =>
        user(`user${String(i).padStart(2, "0")}`, {
          kind: i % 5 === 0 ? "service_account" : "user",
          status: i % 2 ? "suspended" : "active",
          ...(i === 7 ? { email: "Seven_Special@Example.com" } : {}),
        }));
      await sync(ref(s, `${s}-1`, "google_workspace"), [users, [
        group("alpha"),
        group("beta"),
        group("gamma"),
      ]]);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.listIdentities({ scope: s, limit: 10, ...(cursor ? { cursor } : {}) });
        seen.push(...page.identities.map((i) => i.externalId));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 23);
      assert.equal(new Set(seen).size, 23);
      assert.equal(
        (await directory.listIdentities({ scope: s, kind: "service_account" })).identities.length,
        5,
      );
      assert.equal((await directory.listIdentities({ scope: s, status: "suspended" })).identities.length, 11);
      assert.equal(
        (await directory.listIdentities({ provider: "google_workspace", scope: s, org: "acme" }))
          .identities.length,
        23,
      );
      assert.deepEqual(
        (await directory.listIdentities({ scope: s, email: "seven_special@example.COM" })).identities.map((
          i,
        ) => i.externalId),
        ["user07"],
      );
      assert.deepEqual(
        (await directory.listIdentities({ scope: s, q: "N_S" })).identities.map((i) => i.externalId),
        ["user07"],
        "q matches a substring, _ literally",
      );
      assert.equal((await directory.listIdentities({ scope: s, q: "%" })).identities.length, 0);
      assert.equal((await directory.listIdentities({ scope: s, username: "USER01" })).identities.length, 1);
      const groups = await directory.listGroups({ scope: s, limit: 2 });
      assert.deepEqual(groups.groups.map((x) => x.name), ["alpha", "beta"]);
      assert.ok(groups.nextCursor);
      assert.deepEqual(
        (await directory.listGroups({ scope: s, cursor: groups.nextCursor })).groups.map((x) => x.name),
        ["gamma"],
      );
      assert.equal((await directory.listGroups({ scope: s, q: "AMM" })).groups[0]?.directMembers, 0);
      await assert.rejects(directory.listIdentities({ cursor: "garbage" }), { name: "ValidationError" });
      await assert.rejects(directory.listGroups({ cursor: groups.nextCursor?.replace(/.$/, "!") ?? "" }), {
        name: "ValidationError",
      });
      // A cursor of another list is refused, not silently applied.
      await assert.rejects(directory.listIdentities({ cursor: groups.nextCursor ?? "" }), {
        name: "ValidationError",
      });
      const members = await directory.listMembers(await idOf("identity_groups", s, "alpha"), {
        cursor: "bad",
      })
        .catch((e: Error) => e);
      assert.equal((members as Error).name, "ValidationError");
    });

    it("Kubernetes service accounts found by discovery appear as identities, with their bindings as grants", async () => {
      const s = scope();
      const inventory = new SqlInventory(db);
      const sa = (ns: string, name: string): DiscoveredResource => ({
        type: "service-account",
        category: "identity",
        externalId: `${ns}/${name}`,
        name,
        region: null,
        attributes: { uid: `uid-${name}`, namespace: ns },
        links: [{ relation: "in", type: "namespace", externalId: ns }],
      });
      const binding = (
        type: "role-binding" | "cluster-role-binding",
        id: string,
        roleKind: string,
        role: string,
        subjects: string[],
      ): DiscoveredResource => ({
        type,
        category: "identity",
        externalId: id,
        name: id.split("/").at(-1) ?? id,
        region: null,
        attributes: { roleRef: { kind: roleKind, name: role } },
        links: subjects.map((to) => ({ relation: "binds", type: "service-account", externalId: to })),
      });
      const discover = async (runId: string, resources: DiscoveredResource[], complete: boolean) => {
        const run = { runId, provider: "kubernetes", scope: s, org: "acme" };
        await inventory.beginRun({ ...run, jobId: `${runId}-job`, attempt: 1 });
        await inventory.upsert(run, resources);
        const deleted = complete
          ? await inventory.markStale(run, [{
            types: ["service-account", "role-binding", "cluster-role-binding"],
            region: null,
          }])
          : 0;
        await inventory.finishRun(runId, {
          status: complete ? "success" : "partial",
          sources: 3,
          pages: 1,
          created: 0,
          updated: 0,
          deleted,
        });
      };
      await discover(`${s}-1`, [
        sa("kube-system", "deployer"),
        sa("team-a", "builder"),
        binding("cluster-role-binding", "deployer-admin", "ClusterRole", "cluster-admin", [
          "kube-system/deployer",
        ]),
        binding("role-binding", "team-a/build", "Role", "builder", ["team-a/builder", "team-a/missing"]),
        binding("role-binding", "team-a/view", "ClusterRole", "view", [
          "team-a/builder",
          "kube-system/deployer",
        ]),
      ], true);
      const sas = (await directory.listIdentities({ provider: "kubernetes", scope: s })).identities;
      assert.deepEqual(sas.map((i) => [i.externalId, i.kind, i.username, i.status]), [
        ["kube-system/deployer", "service_account", "system:serviceaccount:kube-system:deployer", "active"],
        ["team-a/builder", "service_account", "system:serviceaccount:team-a:builder", "active"],
      ]);
      // Who can act in this cluster: one query over the directory.
      const who = await db.query<{ who: string; grant: string }>(
        `SELECT i.username AS who, g.external_id AS grant FROM identity_memberships m
         JOIN identities i ON i.id = m.identity_id JOIN identity_groups g ON g.id = m.group_id
         WHERE g.provider = 'kubernetes' AND g.scope = $1 AND i.deleted_at IS NULL ORDER BY 2, 1`,
        [s],
      );
      assert.deepEqual(who.map((r) => [r.grant, r.who]), [
        ["ClusterRole/cluster-admin", "system:serviceaccount:kube-system:deployer"],
        ["team-a/ClusterRole/view", "system:serviceaccount:kube-system:deployer"],
        ["team-a/ClusterRole/view", "system:serviceaccount:team-a:builder"],
        ["team-a/Role/builder", "system:serviceaccount:team-a:builder"],
      ]);
      const view = (await directory.listGroups({ provider: "kubernetes", scope: s, q: "view" })).groups[0];
      assert.deepEqual(view?.attributes, {
        roleKind: "ClusterRole",
        role: "view",
        namespace: "team-a",
        bindings: ["role-binding:team-a/view"],
      });
      // A partial run that misses things deletes nothing.
      await discover(`${s}-2`, [sa("team-a", "builder")], false);
      assert.equal(
        (await directory.listIdentities({ provider: "kubernetes", scope: s })).identities.length,
        2,
      );
      assert.equal((await directory.listGroups({ provider: "kubernetes", scope: s })).groups.length, 3);
      // A complete run without the deployer and the view binding: both go, and with them their grants.
      await discover(`${s}-3`, [
        sa("team-a", "builder"),
        binding("cluster-role-binding", "deployer-admin", "ClusterRole", "cluster-admin", [
          "kube-system/deployer",
        ]),
        binding("role-binding", "team-a/build", "Role", "builder", ["team-a/builder"]),
      ], true);
      assert.deepEqual(
        (await directory.listIdentities({ provider: "kubernetes", scope: s, state: "deleted" })).identities
          .map((i) => i.externalId),
        ["kube-system/deployer"],
      );
      assert.deepEqual(
        (await directory.listGroups({ provider: "kubernetes", scope: s })).groups.map((x) => x.externalId)
          .sort(),
        ["ClusterRole/cluster-admin", "team-a/Role/builder"],
      );
      assert.deepEqual(await edges(s), ["team-a/Role/builder>team-a/builder"]);
    });
  });
}
