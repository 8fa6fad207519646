/**
 * The directory routes through `app.request()`: a gateway (auth, error
 * mapping) with addDirectoryRoutes() mounted, on the embedded core (PGlite and
 * the in-memory bus), with stub write-back kinds (the real ones are tested
 * with their providers' stand-ins). Reads with filters and cursors, 422s
 * naming the parameter, write-back's 202, 404s, 409s and the admin-only rule.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { z } from "zod";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { addDirectoryRoutes } from "../../../actors/gateway/directory-routes.ts";
import { directoryPaths } from "../../../actors/gateway/openapi-directory.ts";
import { parseApiTokens } from "../../../actors/gateway/auth.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";
import type { Core } from "../../../actors/process/system.ts";
import { SqlDirectory } from "../../../adapters/postgres/sql-directory.ts";
import type { DirectoryEntry } from "../../../adapters/sync/directory.ts";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { noopKind } from "../../../adapters/noop/mod.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { adminHeaders } from "../../support/gateway.ts";

const ADMIN = "directory-admin-token-0123456789";
const VIEWER = "directory-viewer-token-0123456789";

/** Write-back kinds that only accept the payload: no worker runs here. */
const stub = (kind: string) =>
  defineKind({
    kind,
    description: "stub",
    schema: z.strictObject({ changeId: z.number().int().positive() }),
    run: () => Promise.resolve({ result: {} }),
  }) as unknown as JobKind;

describe("Directory routes", () => {
  let core: Core;
  let app: Hono;
  let directory: SqlDirectory;
  let cleanup = () => {};
  const ids: Record<string, number> = {};

  const call = async (path: string, init: RequestInit = {}, token = ADMIN) => {
    const res = await app.request(path, { ...init, headers: adminHeaders(init, token) });
    return {
      status: res.status,
      body: await res.json() as Record<string, unknown> & { error?: { message: string } },
    };
  };
  async function expect422(path: string, message: RegExp, init?: RequestInit) {
    const { status, body } = await call(path, init);
    assert.equal(status, 422, `${path}: ${JSON.stringify(body)}`);
    assert.match(body.error?.message ?? "", message, path);
  }
  async function seed(provider: string, scope: string, entries: DirectoryEntry[]) {
    const run = { runId: `${provider}-${scope}-1`, provider, scope, org: "acme" };
    await directory.beginRun({ ...run, jobId: `sync-${run.runId}`, attempt: 1 });
    await directory.upsert(run, entries);
    await directory.markStale(run, [{ types: ["identity", "group", "membership", "organization"] }]);
    await directory.finishRun(run.runId, {
      status: "success",
      sources: 1,
      pages: 1,
      created: 0,
      updated: 0,
      deleted: 0,
    });
  }
  const user = (id: string): DirectoryEntry => ({
    type: "identity",
    externalId: id,
    kind: "user",
    username: id,
    email: `${id}@example.com`,
    displayName: id.toUpperCase(),
    status: "active",
    organizationExternalId: "ou-1",
    attributes: {},
  });

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env, {
      kinds: [noopKind as unknown as JobKind, stub("writeback.okta")],
    });
    directory = new SqlDirectory(core.db);
    app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: silentLogger(),
      maxBodyBytes: 65_536,
      tokens: parseApiTokens(`admin:${ADMIN},viewer:${VIEWER}`),
    });
    addDirectoryRoutes(app, { directory, jobs: core.jobs });
    await seed("okta", "corp", [
      ...["ann", "ben", "cat", "dan", "eve"].map(user),
      { type: "group", externalId: "eng", name: "Engineering", attributes: {} },
      {
        type: "group",
        externalId: "all",
        name: "Everyone",
        attributes: {},
        members: [
          { memberType: "group", externalId: "eng" },
          { memberType: "identity", externalId: "eve" },
        ],
      },
      { type: "membership", groupExternalId: "eng", memberType: "identity", externalId: "ann" },
      { type: "membership", groupExternalId: "eng", memberType: "identity", externalId: "ben" },
    ]);
    await seed("ldap", "dir", [
      { type: "organization", externalId: "ou-1", name: "People" },
      user("lee"),
      {
        type: "group",
        externalId: "cn=staff",
        name: "staff",
        attributes: {},
        members: [
          { memberType: "identity", externalId: "lee" },
        ],
      },
    ]);
    await seed("authentik", "auth", [user("ada"), {
      type: "group",
      externalId: "g-1",
      name: "admins",
      attributes: {},
    }]);
    const rows = await core.db.query<{ key: string; id: unknown }>(
      `SELECT provider || ':' || external_id AS key, id FROM identities
       UNION ALL SELECT 'group:' || provider || ':' || external_id, id FROM identity_groups
       UNION ALL SELECT 'org:' || external_id, id FROM organizations`,
    );
    for (const row of rows) ids[row.key] = Number(row.id);
  });

  after(async () => {
    await core?.close();
    cleanup();
  });

  it("GET /identities filters and pages with a cursor", async () => {
    const first = await call("/identities?provider=okta&limit=2");
    assert.equal(first.status, 200);
    const page = first.body as { identities: { username: string }[]; nextCursor: string };
    assert.deepEqual(page.identities.map((i) => i.username), ["ann", "ben"]);
    const next = await call(
      `/identities?provider=okta&limit=10&cursor=${encodeURIComponent(page.nextCursor)}`,
    );
    assert.deepEqual((next.body.identities as { username: string }[]).map((i) => i.username), [
      "cat",
      "dan",
      "eve",
    ]);
    assert.equal(next.body.nextCursor, null);
    const byEmail = await call("/identities?email=LEE%40example.com");
    assert.deepEqual(
      (byEmail.body.identities as { externalId: string; organizationId: number }[]).map((i) => [
        i.externalId,
        i.organizationId,
      ]),
      [["lee", ids["org:ou-1"]]],
    );
    const byOrg = await call(`/identities?organization=${ids["org:ou-1"]}`);
    assert.equal((byOrg.body.identities as unknown[]).length, 1);
    assert.equal(((await call("/identities?q=EV")).body.identities as unknown[]).length, 1);
  });

  it("refuses bad query and path values with a 422 naming the parameter and the rule", async () => {
    await expect422("/identities?provider=aws", /^Invalid query: provider: /);
    await expect422("/identities?kind=robot", /^Invalid query: kind: /);
    await expect422("/identities?status=gone", /^Invalid query: status: /);
    await expect422("/identities?state=maybe", /^Invalid query: state: /);
    for (const limit of ["0", "1.5", "abc", "1e2", "100000"]) {
      await expect422(`/identities?limit=${limit}`, /^Invalid query: limit: must be/);
    }
    await expect422("/identities?organization=abc", /^Invalid query: organization: must be a whole number/);
    await expect422("/identities?nosuch=1", /^Invalid query: nosuch: /);
    await expect422("/identities?cursor=garbage", /^Invalid cursor "garbage"/);
    await expect422("/identities?q=", /^Invalid query: q: must not be empty/);
    await expect422("/groups?provider=gcp", /^Invalid query: provider: /);
    await expect422("/groups?cursor=Zzpx", /^Invalid cursor/);
    await expect422("/organizations?parent=-1", /^Invalid query: parent: /);
    await expect422("/identities/abc", /^Invalid identity id "abc": must be a whole number/);
    await expect422("/identities/99999999999999999", /^Invalid identity id "99999999999999999"/);
    await expect422("/groups/1.5/members", /^Invalid group id "1.5"/);
    await expect422("/groups/1/members?direct=yes", /^Invalid query: direct: /);
    await expect422("/groups/x/members/1", /^Invalid group id "x"/, { method: "PUT" });
    await expect422(`/groups/${ids["group:okta:eng"]}/members/0`, /^Invalid identity id "0"/, {
      method: "DELETE",
    });
  });

  it("GET /identities/:id shows its groups, direct and inherited; unknown ids are 404", async () => {
    const { status, body } = await call(`/identities/${ids["okta:ann"]}`);
    assert.equal(status, 200);
    assert.equal(body.username, "ann");
    assert.equal(body.runTag, undefined, "the run tag stays inside");
    assert.deepEqual((body.groups as { name: string; direct: boolean }[]).map((g) => [g.name, g.direct]), [
      ["Engineering", true],
      ["Everyone", false],
    ]);
    assert.equal((await call("/identities/987654")).status, 404);
    assert.equal((await call("/groups/987654/members")).status, 404);
  });

  it("GET /groups and /groups/:id/members: members direct and through nesting, subgroups", async () => {
    const groups = await call("/groups?provider=okta");
    assert.deepEqual(
      (groups.body.groups as { name: string; directMembers: number }[]).map((g) => [g.name, g.directMembers]),
      [["Engineering", 2], ["Everyone", 2]],
    );
    const all = await call(`/groups/${ids["group:okta:all"]}/members`);
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body.members as { username: string; direct: boolean }[]).map((m) => [m.username, m.direct]),
      [["ann", false], ["ben", false], ["eve", true]],
    );
    assert.deepEqual((all.body.groups as { name: string }[]).map((g) => g.name), ["Engineering"]);
    const direct = await call(`/groups/${ids["group:okta:all"]}/members?direct=true&limit=1`);
    assert.deepEqual((direct.body.members as { username: string }[]).map((m) => m.username), ["eve"]);
    const orgs = await call("/organizations?provider=ldap");
    assert.deepEqual((orgs.body.organizations as { name: string }[]).map((o) => o.name), ["People"]);
  });

  it("PUT and DELETE /groups/:id/members/:identityId record a change, submit a writeback job and answer 202", async () => {
    const group = ids["group:okta:eng"];
    const put = await call(`/groups/${group}/members/${ids["okta:cat"]}`, { method: "PUT" });
    assert.equal(put.status, 202, JSON.stringify(put.body));
    const { job, change } = put.body as { job: string; change: number };
    const submitted = await core.store.getJob(job);
    assert.equal(submitted?.kind, "writeback.okta");
    assert.deepEqual(submitted?.payload, { changeId: change });
    assert.equal(submitted?.org, "acme");
    let members = await call(`/groups/${group}/members`);
    assert.deepEqual((members.body.members as { username: string }[]).map((m) => m.username), ["ann", "ben"]);
    assert.deepEqual(
      (members.body.pending as { id: number; operation: string; status: string; jobId: string }[]).map((
        c,
      ) => [
        c.id,
        c.operation,
        c.status,
        c.jobId,
      ]),
      [[change, "add", "pending", job]],
    );
    // The job confirms: the member is in, nothing pending.
    await directory.applied(change, { requestId: "okta-req-1" });
    members = await call(`/groups/${group}/members`);
    assert.deepEqual((members.body.members as { username: string }[]).map((m) => m.username), [
      "ann",
      "ben",
      "cat",
    ]);
    assert.deepEqual(members.body.pending, []);
    const del = await call(`/groups/${group}/members/${ids["okta:ann"]}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.equal((await core.store.getJob((del.body as { job: string }).job))?.kind, "writeback.okta");
  });

  it("write-back: 404 for an unknown group or identity, 409 for other providers and directories, 403 for a viewer", async () => {
    const eng = ids["group:okta:eng"];
    assert.equal((await call(`/groups/987654/members/${ids["okta:ann"]}`, { method: "PUT" })).status, 404);
    assert.equal((await call(`/groups/${eng}/members/987654`, { method: "PUT" })).status, 404);
    const ldap = await call(`/groups/${ids["group:ldap:cn=staff"]}/members/${ids["ldap:lee"]}`, {
      method: "PUT",
    });
    assert.equal(ldap.status, 409);
    assert.match(
      ldap.body.error?.message ?? "",
      /ldap group: Troupe writes memberships back to okta and authentik only/,
    );
    const foreign = await call(`/groups/${eng}/members/${ids["ldap:lee"]}`, { method: "PUT" });
    assert.equal(foreign.status, 409);
    assert.match(foreign.body.error?.message ?? "", /a member must come from the group's directory/);
    const viewer = await call(`/groups/${eng}/members/${ids["okta:dan"]}`, { method: "PUT" }, VIEWER);
    assert.equal(viewer.status, 403);
    assert.equal((await call("/identities", {}, VIEWER)).status, 200, "a viewer reads");
    // A job that cannot be submitted (writeback.authentik is not a kind here) leaves no pending change.
    const authentik = ids["group:authentik:g-1"];
    const refused = await call(`/groups/${authentik}/members/${ids["authentik:ada"]}`, { method: "PUT" });
    assert.equal(refused.status, 404);
    assert.deepEqual((await call(`/groups/${authentik}/members`)).body.pending, []);
  });

  it("directoryPaths() documents every route with the parameters the routes validate", () => {
    const { paths, schemas } = directoryPaths({
      reply: (description, schema) => ({ description, schema }),
      errors: {},
    });
    assert.deepEqual(Object.keys(paths).sort(), [
      "/groups",
      "/groups/{id}/members",
      "/groups/{id}/members/{identityId}",
      "/identities",
      "/identities/{id}",
      "/organizations",
    ]);
    const params = (paths["/identities"] as { get: { parameters: { name: string }[] } }).get.parameters;
    assert.deepEqual(params.map((p) => p.name).sort(), [
      "cursor",
      "email",
      "kind",
      "limit",
      "org",
      "organization",
      "provider",
      "q",
      "scope",
      "state",
      "status",
      "username",
    ]);
    assert.ok(schemas.Identity && schemas.MembershipChange && schemas.WriteBack);
  });
});
