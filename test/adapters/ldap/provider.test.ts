/**
 * The LDAP provider against a real OpenLDAP (Debian's slapd, started on free
 * loopback ports) seeded with 10,000 users, 1,000 nested groups (a cycle
 * included) and OUs three deep, with a size limit of 500 so that only paged
 * searches read it whole. The provider binds as a read-only account, like a
 * real sync account (the root DN is exempt from limits).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Client } from "ldapts";
import { createLdapProvider } from "../../../adapters/ldap/mod.ts";
import type {
  DirectoryCovers,
  DirectoryEntry,
  GroupEntry,
  IdentityEntry,
} from "../../../adapters/sync/directory.ts";
import { PAGE_TOKEN_EXPIRED, type SyncProvider, type SyncTarget } from "../../../adapters/sync/port.ts";
import { PermanentError, TransientError, ValidationError } from "../../../machines/errors.ts";
import { type SlapdServer, startSlapd } from "../../harness/slapd.ts";
import { createTestPki } from "../../support/certificates.ts";
import { type DirectoryModel, generateDirectory } from "../../support/ldif.ts";

type Provider = SyncProvider<DirectoryEntry, DirectoryCovers>;

/** Reads every page of every source, as the engine would (one source at a time). */
async function readAll(provider: Provider, target: SyncTarget, signal = new AbortController().signal) {
  const queue = await provider.plan(target, signal);
  const items: DirectoryEntry[] = [];
  const pages: Record<string, number> = {};
  while (queue.length > 0) {
    const source = queue.shift()!;
    let token: string | undefined;
    do {
      const page = await source.fetchPage(token, signal);
      pages[source.name] = (pages[source.name] ?? 0) + 1;
      items.push(...page.items);
      queue.push(...(page.more ?? []));
      token = page.next;
    } while (token !== undefined);
  }
  return { items, pages };
}

describe("LDAP provider against slapd (10,000 users, 1,000 groups, size limit 500)", () => {
  let server: SlapdServer;
  let model: DirectoryModel;
  let provider: Provider;
  let read: Awaited<ReturnType<typeof readAll>>;
  const target = (extra: Record<string, unknown> = {}): SyncTarget => ({
    scope: "corp",
    org: null,
    credentials: {
      url: server.ldapsUrl,
      bindDN: server.readerDN,
      password: server.readerPassword,
      baseDN: server.suffix,
      ca: server.ca,
      ...extra,
    },
  });

  before(async () => {
    model = generateDirectory();
    server = await startSlapd({ ldif: model.ldif, sizeLimit: 500 });
    provider = createLdapProvider({ timeoutMs: 30_000 });
    read = await readAll(provider, target());
  });
  after(async () => {
    await provider?.close?.();
    await server?.stop();
  });

  it("the server refuses a search without paging past its size limit (so paging is what reads it whole)", async () => {
    const client = new Client({ url: server.url });
    try {
      await client.bind(server.readerDN, server.readerPassword);
      await assert.rejects(
        client.search(server.suffix, { filter: "(objectClass=inetOrgPerson)", attributes: ["uid"] }),
        (error: { code?: number }) => error.code === 4,
      );
    } finally {
      await client.unbind();
    }
  });

  it("plan() and fetchPage() read every OU, user and group over LDAPS, one paged-results page at a time", () => {
    const count = (type: string) => read.items.filter((i) => i.type === type).length;
    assert.equal(count("identity"), 10_000);
    assert.equal(count("group"), 1_000);
    assert.equal(count("organization"), model.organizations.length);
    assert.equal(
      new Set(read.items.map((i) => "externalId" in i ? i.externalId : "")).size,
      read.items.length,
    );
    // 10,000 users in pages of 500: 20 pages and the server's closing empty one.
    assert.equal(read.pages.users, 21);
    assert.ok((read.pages["group index"] ?? 0) >= 2, "every group's DN, in two pages at least");
    assert.ok((read.pages.groups ?? 0) >= 2, "the groups with their members, in two pages at least");
    assert.deepEqual(Object.keys(read.pages), ["organizations", "users", "group index", "groups"]);
  });

  it("maps users: entryUUID, uid, mail, displayName or cn, the nearest OU, ppolicy lock as suspended", () => {
    const identities = new Map(
      read.items.filter((i): i is IdentityEntry => i.type === "identity").map((i) => [i.externalId, i]),
    );
    for (const index of [0, 1, 42, 97, 2026, 9_999]) {
      const user = model.users[index]!;
      const got = identities.get(user.uuid);
      assert.ok(got, `user ${index} read`);
      assert.equal(got.kind, "user");
      assert.equal(got.username, user.uid);
      assert.equal(got.email, user.mail);
      assert.equal(got.displayName, user.displayName ?? user.cn);
      assert.equal(got.status, user.locked ? "suspended" : "active");
      assert.equal(got.organizationExternalId, user.organizationUuid);
      assert.equal(got.attributes.dn, user.dn);
      assert.equal(got.attributes.employeeNumber, String(index));
      assert.equal(JSON.stringify(got).includes("userPassword"), false);
    }
    const suspended = [...identities.values()].filter((i) => i.status === "suspended").length;
    assert.equal(suspended, model.users.filter((u) => u.locked).length);
  });

  it("maps OUs to organizations nested by their parent OU", () => {
    const orgs = read.items.filter((i) => i.type === "organization");
    assert.deepEqual(
      orgs.map((o) => [o.externalId, o.name, o.parentExternalId]).sort(),
      model.organizations.map((o) => [o.uuid, o.name, o.parentUuid]).sort(),
    );
  });

  it("gives every group's direct members by entryUUID: member, uniqueMember, memberUid, nested groups and the cycle", () => {
    const groups = new Map(
      read.items.filter((i): i is GroupEntry => i.type === "group").map((g) => [g.externalId, g]),
    );
    const sorted = (list: { memberType: string; externalId: string }[]) =>
      list.map((m) => `${m.memberType}:${m.externalId}`).sort();
    // 0-3 a chain three deep closed by a cycle; 5 names a missing DN; 8 uniqueMember; 9 posixGroup; the last all-staff.
    for (const index of [0, 1, 2, 3, 5, 8, 9, 10, 123, 998, 999]) {
      const expected = model.groups[index]!;
      const got = groups.get(expected.uuid);
      assert.ok(got, `group ${index} read`);
      assert.equal(got.name, expected.cn);
      assert.deepEqual(sorted(got.members ?? []), sorted(expected.members), `members of group ${index}`);
      assert.equal(got.attributes.unresolvedMembers, expected.unresolved || undefined);
    }
    const g = (i: number) => model.groups[i]!.uuid;
    const nested = (i: number) =>
      groups.get(g(i))!.members!.filter((m) => m.memberType === "group").map((m) => m.externalId);
    assert.deepEqual(nested(0), [g(1)]);
    assert.deepEqual(nested(1), [g(2)]);
    assert.deepEqual(nested(2), [g(3)]);
    assert.deepEqual(nested(3), [g(0)], "the cycle closes");
    assert.equal(groups.get(g(999))!.members!.length, 10_000, "all-staff holds every user");
  });

  it("StartTLS on ldap:// is verified against the CA before the bind", async () => {
    const plan = await provider.plan(
      target({ url: server.url, startTLS: true }),
      new AbortController().signal,
    );
    assert.deepEqual(plan.map((s) => s.name), ["organizations"]);
    const page = await plan[0]!.fetchPage(undefined, new AbortController().signal);
    assert.equal(page.items.length, model.organizations.length);
  });

  it("a certificate of another CA is refused, over LDAPS and over StartTLS, permanently", async () => {
    const other = createTestPki();
    try {
      for (const extra of [{ ca: other.ca.cert }, { url: server.url, startTLS: true, ca: other.ca.cert }]) {
        await assert.rejects(provider.plan(target(extra), new AbortController().signal), (error: Error) => {
          assert.ok(error instanceof PermanentError, `${error}`);
          assert.equal(error.code, "LDAP_TLS_UNTRUSTED");
          return true;
        });
      }
    } finally {
      other.cleanup();
    }
  });

  it("a wrong password is a PermanentError LDAP_BIND_FAILED naming the bind DN and URL, never the password", async () => {
    const password = "Wr0ng-but-s3cret-P4ssword";
    const error = await provider.plan(target({ password }), new AbortController().signal).then(
      () => assert.fail("bound with a wrong password"),
      (e: unknown) => e as PermanentError,
    );
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "LDAP_BIND_FAILED");
    assert.match(error.message, /cn=reader,dc=example,dc=org/);
    assert.ok(error.message.includes(server.ldapsUrl));
    for (
      const text of [error.message, error.stack ?? "", JSON.stringify(error), inspect(error, { depth: 5 })]
    ) {
      assert.equal(text.includes(password), false, text);
    }
  });

  it("credentials that break the schema are a ValidationError naming the field, never its value", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: "http://127.0.0.1:1" }, "credentials.url"],
      [{ password: "" }, "credentials.password"],
      [{ url: server.url, startTLS: false }, "credentials.ca"],
      [{ bindDn: "cn=typo" }, "credentials.bindDn"],
      [{ userFilter: "(uid=*" }, "credentials.userFilter"],
      [{ pageSize: 0 }, "credentials.pageSize"],
    ];
    for (const [extra, field] of cases) {
      await assert.rejects(provider.plan(target(extra), new AbortController().signal), (error: Error) => {
        assert.ok(error instanceof ValidationError, `${error}`);
        assert.equal(error.field, field);
        assert.equal(error.message.includes(server.readerPassword), false);
        return true;
      });
    }
  });

  it("a base DN that does not exist is a PermanentError", async () => {
    await assert.rejects(
      provider.plan(target({ baseDN: "dc=nowhere,dc=org" }), new AbortController().signal),
      (error: Error) =>
        error instanceof PermanentError && (error as PermanentError).code === "LDAP_NO_SUCH_OBJECT",
    );
  });

  it("an abort fails the pending page at once and closes its connection (its token cannot be resumed)", async () => {
    const run = new AbortController();
    const [organizations] = await provider.plan(target(), run.signal);
    const first = await organizations!.fetchPage(undefined, run.signal);
    const users = first.more![0]!;
    const page1 = await users.fetchPage(undefined, run.signal);
    const pending = users.fetchPage(page1.next, run.signal);
    run.abort(new Error("stop now"));
    await assert.rejects(pending, /stop now/);
    await assert.rejects(users.fetchPage(page1.next, new AbortController().signal), (error: Error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, PAGE_TOKEN_EXPIRED);
      return true;
    });
    await assert.rejects(provider.plan(target(), run.signal), /stop now/);
  });
});
