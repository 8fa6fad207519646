/**
 * `troupe identities` and `troupe groups ...` against the real directory
 * routes: the commands call a gateway with the routes mounted through
 * `app.request()` (the CLI's in-process path), on the embedded core with a stub
 * `writeback.okta` kind. Checks the lines printed, the sentences where there is
 * nothing, name resolution, and the 202 of add-member/remove-member.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { z } from "zod";
import { addDirectoryCommands } from "../../../actors/cli/directory-commands.ts";
import { httpCall } from "../../../actors/cli/jobs-client.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { addDirectoryRoutes } from "../../../actors/gateway/directory-routes.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";
import type { Core } from "../../../actors/process/system.ts";
import { SqlDirectory } from "../../../adapters/postgres/sql-directory.ts";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { TEST_ADMIN_TOKEN, TEST_TOKENS } from "../../support/gateway.ts";

describe("troupe identities / groups", () => {
  let core: Core;
  let directory: SqlDirectory;
  let cleanup = () => {};
  let lines: string[] = [];
  let program: Command;

  async function troupe(...args: string[]): Promise<string[]> {
    lines = [];
    await program.parseAsync(["node", "troupe", ...args]);
    return lines;
  }

  before(async () => {
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    core = await openTestCore(made.env, {
      kinds: [
        defineKind({
          kind: "writeback.okta",
          description: "stub",
          schema: z.strictObject({ changeId: z.number().int() }),
          run: () => Promise.resolve({ result: {} }),
        }) as unknown as JobKind,
      ],
    });
    directory = new SqlDirectory(core.db);
    const app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: silentLogger(),
      maxBodyBytes: 65_536,
      tokens: TEST_TOKENS,
    });
    addDirectoryRoutes(app, { directory, jobs: core.jobs });
    const call = httpCall("http://localhost", TEST_ADMIN_TOKEN, (url, init) => app.request(url, init));
    program = new Command().exitOverride();
    addDirectoryCommands(program, {
      withApi: (fn) => fn(call),
      print: (value) => lines.push(typeof value === "string" ? value : JSON.stringify(value)),
    });
  });

  after(async () => {
    await core?.close();
    cleanup();
  });

  it("say so when there is nothing", async () => {
    assert.deepEqual(await troupe("identities"), ["No identities"]);
    assert.deepEqual(await troupe("identities", "--provider", "okta"), ["No identities match"]);
    assert.deepEqual(await troupe("groups"), ["No groups"]);
  });

  it("list identities and groups, show an identity's groups and a group's members, by id or name", async () => {
    const run = { runId: "okta-1", provider: "okta", scope: "corp", org: null };
    await directory.beginRun({ ...run, jobId: "sync-okta-1", attempt: 1 });
    await directory.upsert(run, [
      ...["ann", "bob"].map((name) => ({
        type: "identity" as const,
        externalId: `00u${name}`,
        kind: "user" as const,
        username: name,
        email: `${name}@example.com`,
        displayName: name,
        status: "active" as const,
        attributes: {},
      })),
      {
        type: "group",
        externalId: "00geng",
        name: "Engineering",
        attributes: {},
        members: [
          { memberType: "identity", externalId: "00uann" },
        ],
      },
      {
        type: "group",
        externalId: "00gall",
        name: "Everyone",
        attributes: {},
        members: [
          { memberType: "group", externalId: "00geng" },
        ],
      },
      { type: "group", externalId: "00gempty", name: "Empty", attributes: {} },
    ]);
    await directory.markStale(run, [{ types: ["identity", "group"] }]);
    const listed = await troupe("identities", "--provider", "okta");
    assert.equal(listed.length, 2);
    assert.match(listed[0]!, /okta\s+corp\s+user\s+active\s+ann <ann@example.com>$/);
    const annId = listed[0]!.trim().split(/\s+/)[0]!;
    const shown = await troupe("identities", "show", annId);
    assert.deepEqual(shown.slice(1).map((l) => l.replace(/, group \d+/, "")), [
      "  in Engineering (direct)",
      "  in Everyone (through a nested group)",
    ]);
    const bobId = (await troupe("identities", "--username", "bob"))[0]!.trim().split(/\s+/)[0]!;
    assert.deepEqual(await troupe("identities", "show", bobId).then((l) => l.slice(1)), [
      "bob is in no group",
    ]);
    assert.deepEqual((await troupe("groups", "--q", "e")).map((l) => l.replace(/^\s*\d+\s+/, "")), [
      "okta             corp               Engineering  1 direct member(s)",
      "okta             corp               Everyone  1 direct member(s)",
      "okta             corp               Empty  0 direct member(s)",
    ]);
    const members = await troupe("groups", "members", "Everyone");
    assert.equal(members.length, 2);
    assert.match(members[0]!, /ann <ann@example.com> {2}through a nested group$/);
    assert.match(members[1]!, /^group {2}Engineering \(group \d+\)$/);
    assert.deepEqual(await troupe("groups", "members", "Empty"), ["Empty has no members"]);
    await assert.rejects(troupe("groups", "members", "Nope"), /No group is named "Nope"/);
    await assert.rejects(troupe("identities", "show", "ann"), /must be an identity id/);
  });

  it("add-member and remove-member request a write-back and show it pending", async () => {
    const added = await troupe("groups", "add-member", "Engineering", "bob@example.com");
    assert.match(
      added[0]!,
      /^Requested: add bob@example.com to Engineering \(change \d+, job [0-9a-f-]{36}\); it applies when okta confirms: troupe watch [0-9a-f-]{36}$/,
    );
    const members = await troupe("groups", "members", "Engineering");
    assert.match(members.at(-1)!, /^pending add bob \(change \d+, job [0-9a-f-]{36}\)$/);
    const removed = await troupe("groups", "remove-member", "Engineering", "ann");
    assert.match(removed[0]!, /^Requested: remove ann from Engineering/);
    await assert.rejects(
      troupe("groups", "add-member", "Engineering", "zed"),
      /No identity with username "zed"/,
    );
  });
});
