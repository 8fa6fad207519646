/**
 * An LDAP sync end to end: slapd → the LDAP provider → the sync engine →
 * the directory (SqlDirectory on PGlite). What the issue asks of deletion:
 * users deleted from slapd are marked deleted only after a complete sync,
 * and slapd stopped mid-sync (a TransientError, then nothing to reconnect
 * to) makes the run partial and deletes nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "ldapts";
import { createLdapProvider } from "../../../adapters/ldap/mod.ts";
import { createPgliteClient } from "../../../adapters/postgres/mod.ts";
import { migrate } from "../../../adapters/postgres/migrations.ts";
import { SqlDirectory } from "../../../adapters/postgres/sql-directory.ts";
import type { SqlClient } from "../../../adapters/postgres/store.ts";
import type { DirectoryCovers, DirectoryEntry } from "../../../adapters/sync/directory.ts";
import { runSync } from "../../../adapters/sync/engine.ts";
import type { SyncProvider, SyncSource, SyncTarget } from "../../../adapters/sync/port.ts";
import { TransientError } from "../../../machines/errors.ts";
import { type SlapdServer, startSlapd } from "../../harness/slapd.ts";
import { type DirectoryModel, generateDirectory } from "../../support/ldif.ts";

type Provider = SyncProvider<DirectoryEntry, DirectoryCovers>;
type Source = SyncSource<DirectoryEntry, DirectoryCovers>;

/** The provider, with `before` run ahead of page `page` of source `name` (the sources pages reveal included). */
function interceptPage(
  provider: Provider,
  name: string,
  page: number,
  before: () => Promise<void>,
): Provider {
  let seen = 0;
  const wrap = (source: Source): Source => ({
    name: source.name,
    covers: source.covers,
    async fetchPage(token, signal) {
      if (source.name === name && ++seen === page) await before();
      const result = await source.fetchPage(token, signal);
      return result.more ? { ...result, more: result.more.map(wrap) } : result;
    },
  });
  return { provider: provider.provider, plan: async (t, s) => (await provider.plan(t, s)).map(wrap) };
}

describe("LDAP sync into the directory (slapd, 1,500 users, 50 groups, size limit 500)", () => {
  let server: SlapdServer;
  let model: DirectoryModel;
  let db: SqlClient;
  let directory: SqlDirectory;
  const provider = createLdapProvider({ timeoutMs: 10_000, connectTimeoutMs: 2_000 });
  let runs = 0;

  const target = (): SyncTarget => ({
    scope: "corp",
    org: "acme",
    credentials: {
      url: server.url,
      startTLS: true,
      ca: server.ca,
      bindDN: server.readerDN,
      password: server.readerPassword,
      baseDN: server.suffix,
    },
  });

  /** One sync run as the sync kind does it: a job row, beginRun, runSync, finishRun. */
  async function sync(using: Provider = provider) {
    const runId = `ldap-run-${++runs}`;
    const jobId = `job-${runId}`;
    await db.query(
      `INSERT INTO jobs (id, kind, status, max_attempts, payload, lease_expires_at)
       VALUES ($1, 'sync.ldap', 'running', 3, $2::text::jsonb, now() + interval '1 minute')`,
      [jobId, JSON.stringify({ scope: "corp", credentials: "corp-ldap" })],
    );
    const started = await directory.beginRun({
      runId,
      jobId,
      attempt: 1,
      provider: "ldap",
      scope: "corp",
      org: "acme",
    });
    assert.deepEqual(started, { started: true });
    const summary = await runSync({
      provider: using,
      target: target(),
      sink: directory,
      runId,
      signal: new AbortController().signal,
      sleep: async () => {},
    });
    await directory.finishRun(runId, {
      status: summary.complete ? "success" : "partial",
      sources: summary.sources,
      pages: summary.pages,
      created: summary.created,
      updated: summary.updated,
      deleted: summary.deleted,
      failedPages: summary.failedPages,
    });
    await db.query("UPDATE jobs SET status = $2 WHERE id = $1", [
      jobId,
      summary.complete ? "success" : "failed",
    ]);
    return summary;
  }

  const live = async (table: string) =>
    Number(
      (await db.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM ${table} WHERE scope = 'corp' AND deleted_at IS NULL`,
      ))[0]!
        .n,
    );
  const deletedIds = async () =>
    (await db.query<{ external_id: string }>(
      "SELECT external_id FROM identities WHERE scope = 'corp' AND deleted_at IS NOT NULL ORDER BY 1",
    )).map((r) => r.external_id);

  /** Deletes users from slapd as its root DN. */
  async function deleteUsers(indexes: number[]): Promise<string[]> {
    const client = new Client({ url: server.url });
    try {
      await client.bind(server.rootDN, server.rootPassword);
      for (const i of indexes) await client.del(model.users[i]!.dn);
    } finally {
      await client.unbind();
    }
    return indexes.map((i) => model.users[i]!.uuid).sort();
  }

  before(async () => {
    model = generateDirectory({ users: 1_500, groups: 50 });
    server = await startSlapd({ ldif: model.ldif, sizeLimit: 500 });
    db = await createPgliteClient();
    await migrate(db);
    directory = new SqlDirectory(db);
  });
  after(async () => {
    await provider.close?.();
    await server?.stop();
    await db?.close();
  });

  it("a complete sync stores every user, group, OU and edge; nesting and the cycle close in identity_memberships", async () => {
    const summary = await sync();
    assert.equal(summary.complete, true, JSON.stringify(summary.failedPages));
    assert.equal(await live("identities"), 1_500);
    assert.equal(await live("identity_groups"), 50);
    assert.equal(await live("organizations"), model.organizations.length);
    // Group 0 ⊃ 1 ⊃ 2 ⊃ 3 ⊃ 0: a user of group 2 is in groups 0-3, not in group 4.
    const member = model.users[25]!.uuid;
    const groups = await db.query<{ grp: string }>(
      `SELECT g.external_id AS grp FROM identity_memberships m
       JOIN identity_groups g ON g.id = m.group_id JOIN identities i ON i.id = m.identity_id
       WHERE i.scope = 'corp' AND i.external_id = $1 AND g.external_id <> $2 ORDER BY 1`,
      [member, model.groups[49]!.uuid],
    );
    assert.deepEqual(groups.map((r) => r.grp), model.groups.slice(0, 4).map((g) => g.uuid).sort());
  });

  it("users deleted from slapd are marked deleted by the next complete sync", async () => {
    const gone = await deleteUsers([10, 11, 1_400]);
    const summary = await sync();
    assert.equal(summary.complete, true);
    assert.equal(summary.deleted, 3);
    assert.deepEqual(await deletedIds(), gone);
    assert.equal(await live("identities"), 1_497);
  });

  it("slapd stopped mid-sync: the page fails with a TransientError, the run is partial and deletes nothing", async () => {
    const before = await deletedIds();
    const gone = await deleteUsers([12, 13]);
    // Reading pages once the server is gone: a TransientError the engine retries. The page after the
    // first may already be in hand (each page is requested as the one before arrives); the next is not.
    const [organizations] = await provider.plan(target(), new AbortController().signal);
    const users = (await organizations!.fetchPage(undefined, new AbortController().signal)).more![0]!;
    let token = (await users.fetchPage(undefined, new AbortController().signal)).next;
    await server.kill();
    let failure: unknown;
    for (let page = 2; page <= 3 && failure === undefined; page++) {
      try {
        token = (await users.fetchPage(token, new AbortController().signal)).next;
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof TransientError, `${failure}`);
    await server.restart();

    const summary = await sync(interceptPage(provider, "users", 2, () => server.kill()));
    assert.equal(summary.complete, false);
    assert.ok(summary.failedPages.length > 0);
    assert.ok(summary.failedPages.every((f) => f.retryable), JSON.stringify(summary.failedPages));
    assert.equal(summary.deleted, 0);
    assert.deepEqual(await deletedIds(), before, "nothing more is marked deleted");
    assert.equal(await live("identities"), 1_497);

    await server.restart();
    const again = await sync();
    assert.equal(again.complete, true);
    assert.deepEqual(await deletedIds(), [...before, ...gone].sort());
  });
});
