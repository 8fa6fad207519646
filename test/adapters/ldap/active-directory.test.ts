/**
 * The Active Directory mapping and ranged retrieval, through the real
 * provider and sources, against a recorded directory: entries shaped as
 * ldapts returns them from AD (objectGUID as bytes with the explicit-buffer
 * option, `member;range=0-1499` in place of `member` for a group of 3,200,
 * further ranges answered to base searches for `member;range=<n>-*`,
 * userAccountControl, memberOf). slapd cannot serve ranged attributes, so
 * this is the session seam (`LdapProviderOptions.connect`) replaying what AD
 * answers, written from Microsoft's documentation of ranged retrieval and
 * of objectGUID's byte order, not captured from a live domain controller.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { guidString } from "../../../adapters/ldap/attributes.ts";
import { type LdapEntry, type LdapSession } from "../../../adapters/ldap/client.ts";
import { createLdapProvider } from "../../../adapters/ldap/mod.ts";
import { rangedValues } from "../../../adapters/ldap/ranged-values.ts";
import { DEFAULT_FILTERS } from "../../../adapters/ldap/schema.ts";
import type { DirectoryEntry, GroupEntry, IdentityEntry } from "../../../adapters/sync/directory.ts";
import { PermanentError } from "../../../machines/errors.ts";

const DOMAIN = "DC=corp,DC=example,DC=com";
const CORP = `OU=Corp,${DOMAIN}`;
const STAFF = `OU=Staff,${CORP}`;
const USERS_CONTAINER = `CN=Users,${DOMAIN}`;
const BIG = 3_200;
const MAX_VAL_RANGE = 1_500;

/** A 16-byte objectGUID made from `n`. */
const guid = (n: number) =>
  Buffer.from([
    n & 0xff,
    (n >> 8) & 0xff,
    0x11,
    0x00,
    0x55,
    0x44,
    0x77,
    0x66,
    0x88,
    0x99,
    0xaa,
    0xbb,
    0xcc,
    0xdd,
    0xee,
    0xff,
  ]);
const id = (n: number) => guidString(guid(n));

const ou = (n: number, dn: string, name: string): LdapEntry => ({
  dn,
  objectGUID: guid(n),
  ou: name,
  objectClass: ["top", "organizationalUnit"],
});
const user = (n: number, dn: string, extra: Record<string, string> = {}): LdapEntry => ({
  dn,
  objectGUID: guid(n),
  objectClass: ["top", "person", "organizationalPerson", "user"],
  objectCategory: `CN=Person,CN=Schema,CN=Configuration,${DOMAIN}`,
  cn: dn.slice(3, dn.indexOf(",")),
  sAMAccountName: `u${n}`,
  userAccountControl: "512",
  ...extra,
});
const staff = Array.from(
  { length: BIG },
  (_, i) => user(1_000 + i, `CN=Staff ${i},${STAFF}`, { mail: `staff${i}@corp.example.com` }),
);
const alice = user(10, `CN=Alice Adams,${USERS_CONTAINER}`, {
  userPrincipalName: "alice@corp.example.com",
  displayName: "Alice A.",
});
const bob = user(11, `CN=Bob Brown,${STAFF}`, { mail: "bob@corp.example.com", userAccountControl: "514" });
const group = (n: number, dn: string, extra: Record<string, string | string[]>): LdapEntry => ({
  dn,
  objectGUID: guid(n),
  objectClass: ["top", "group"],
  cn: dn.slice(3, dn.indexOf(",")),
  sAMAccountName: dn.slice(3, dn.indexOf(",")),
  groupType: "-2147483646",
  ...extra,
});
const bigMembers = staff.map((e) => e.dn);
const admins = group(20, `CN=Admins,${CORP}`, { member: [alice.dn.toUpperCase(), `CN=Helpdesk,${CORP}`] });
const helpdesk = group(21, `CN=Helpdesk,${CORP}`, { member: bob.dn, memberOf: admins.dn });
const big = group(22, `CN=Everyone Big,${CORP}`, {
  member: [],
  [`member;range=0-${MAX_VAL_RANGE - 1}`]: bigMembers.slice(0, MAX_VAL_RANGE),
});
const domain: LdapEntry = { dn: DOMAIN, objectGUID: guid(1), objectClass: ["top", "domain", "domainDNS"] };

const directory = {
  organizations: [ou(2, CORP, "Corp"), ou(3, STAFF, "Staff")],
  users: [alice, bob, ...staff],
  groups: [admins, helpdesk, big],
};

/** A session replaying the recorded directory; `reads` logs base searches. */
function recordedSession(reads: string[][]): LdapSession {
  const byFilter: Record<string, LdapEntry[]> = {
    [DEFAULT_FILTERS.ad.users]: directory.users,
    [DEFAULT_FILTERS.ad.groups]: directory.groups,
    [DEFAULT_FILTERS.ad.organizations]: directory.organizations,
  };
  return {
    pages(_base, search) {
      const entries = byFilter[search.filter] ?? [];
      let offset = 0;
      return {
        next() {
          if (offset >= entries.length && offset > 0) {
            return Promise.resolve({ done: true, value: undefined });
          }
          const page = entries.slice(offset, offset + search.pageSize);
          offset += search.pageSize;
          return Promise.resolve({ done: false, value: page });
        },
      };
    },
    read(dn, attributes, options = {}) {
      reads.push(attributes);
      const range = /^member;range=(\d+)-\*$/.exec(attributes[0] ?? "");
      if (range && dn === big.dn) {
        const start = Number(range[1]);
        const end = Math.min(start + MAX_VAL_RANGE, BIG) - 1;
        const last = end === BIG - 1;
        return Promise.resolve({
          dn,
          [`member;range=${start}-${last ? "*" : end}`]: bigMembers.slice(start, end + 1),
        });
      }
      if (dn === DOMAIN && options.filter === undefined) return Promise.resolve(domain);
      const found = directory.organizations.find((o) => o.dn.toLowerCase() === dn.toLowerCase());
      return Promise.resolve(options.filter === DEFAULT_FILTERS.ad.organizations && found ? found : null);
    },
    close: () => Promise.resolve(),
  };
}

async function syncRecorded(pageSize = 1_000) {
  const reads: string[][] = [];
  const provider = createLdapProvider({ connect: () => Promise.resolve(recordedSession(reads)) });
  const signal = new AbortController().signal;
  const queue = await provider.plan({
    scope: "corp",
    org: null,
    credentials: {
      url: "ldaps://dc1.corp.example.com",
      bindDN: "CN=svc-sync,CN=Users," + DOMAIN,
      password: "pw-1",
      baseDN: DOMAIN,
      schema: "ad",
      pageSize,
    },
  }, signal);
  const items: DirectoryEntry[] = [];
  while (queue.length > 0) {
    const source = queue.shift()!;
    let token: string | undefined;
    do {
      const page = await source.fetchPage(token, signal);
      items.push(...page.items);
      queue.push(...(page.more ?? []));
      token = page.next;
    } while (token !== undefined);
  }
  return { items, reads };
}

describe("LDAP provider, Active Directory mapping (recorded AD answers)", () => {
  it("guidString() reads objectGUID's first three fields little-endian", () => {
    const bytes = Uint8Array.from([
      0x33,
      0x22,
      0x11,
      0x00,
      0x55,
      0x44,
      0x77,
      0x66,
      0x88,
      0x99,
      0xaa,
      0xbb,
      0xcc,
      0xdd,
      0xee,
      0xff,
    ]);
    assert.equal(guidString(bytes), "00112233-4455-6677-8899-aabbccddeeff");
    assert.throws(() => guidString(new Uint8Array(15)), RangeError);
  });

  it("maps users: objectGUID, sAMAccountName, mail or userPrincipalName, ACCOUNTDISABLE as suspended, the OU", async () => {
    const { items } = await syncRecorded();
    const identities = new Map(
      items.filter((i): i is IdentityEntry => i.type === "identity").map((i) => [i.externalId, i]),
    );
    assert.equal(identities.size, BIG + 2);
    const a = identities.get(id(10))!;
    assert.deepEqual(
      [a.username, a.email, a.displayName, a.status, a.organizationExternalId],
      ["u10", "alice@corp.example.com", "Alice A.", "active", null],
      "a user of CN=Users (a container, not an OU) has no organization",
    );
    const b = identities.get(id(11))!;
    assert.deepEqual([b.username, b.email, b.displayName, b.status, b.organizationExternalId], [
      "u11",
      "bob@corp.example.com",
      "Bob Brown",
      "suspended",
      id(3),
    ]);
    assert.equal(b.attributes.userAccountControl, "514");
  });

  it("maps OUs with their parent OU; the domain above is no organization", async () => {
    const { items } = await syncRecorded();
    assert.deepEqual(
      items.filter((i) => i.type === "organization").map((o) => [o.name, o.externalId, o.parentExternalId]),
      [["Corp", id(2), null], ["Staff", id(3), id(2)]],
    );
  });

  it("reads a group of 3,200 members through member;range=0-1499, 1500-2999 and 3000-*", async () => {
    const { items, reads } = await syncRecorded();
    const groups = new Map(
      items.filter((i): i is GroupEntry => i.type === "group").map((g) => [g.externalId, g]),
    );
    const everyone = groups.get(id(22))!;
    assert.equal(everyone.members?.length, BIG);
    assert.deepEqual(
      new Set(everyone.members!.map((m) => m.externalId)),
      new Set(staff.map((_, i) => id(1_000 + i))),
    );
    assert.ok(everyone.members!.every((m) => m.memberType === "identity"));
    assert.deepEqual(reads.filter((r) => r[0]!.startsWith("member;")), [
      ["member;range=1500-*"],
      ["member;range=3000-*"],
    ]);
  });

  it("nests groups from member (any DN case) and memberOf", async () => {
    const { items } = await syncRecorded(2);
    const groups = new Map(
      items.filter((i): i is GroupEntry => i.type === "group").map((g) => [g.externalId, g]),
    );
    assert.deepEqual(groups.get(id(20))!.members, [
      { memberType: "identity", externalId: id(10) },
      { memberType: "group", externalId: id(21) },
    ]);
    assert.deepEqual(groups.get(id(21))!.members, [{ memberType: "identity", externalId: id(11) }]);
    assert.deepEqual(groups.get(id(21))!.parentExternalIds, [id(20)]);
    assert.equal(groups.get(id(20))!.attributes.sAMAccountName, "Admins");
  });

  it("rangedValues() refuses an answer that does not start where it asked", async () => {
    const entry: LdapEntry = { dn: "CN=G", "member;range=0-1": ["a", "b"] };
    await assert.rejects(
      rangedValues(
        entry,
        "member",
        () => Promise.resolve({ dn: "CN=G", "member;range=0-*": ["a", "b", "c"] }),
      ),
      (error: Error) =>
        error instanceof PermanentError && (error as PermanentError).code === "LDAP_RANGE_MISMATCH",
    );
    assert.deepEqual(
      await rangedValues({ dn: "CN=G", member: ["x", "y"] }, "member", () => assert.fail("no read")),
      ["x", "y"],
    );
  });
});
