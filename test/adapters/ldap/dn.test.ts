/** DN normal forms: what makes a member DN match the entry it names. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isWithin, normalizeDn, parentDn, rdnValue } from "../../../adapters/ldap/dn.ts";
import { DirectoryIndex } from "../../../adapters/ldap/directory-index.ts";

describe("normalizeDn()", () => {
  it("ignores case and spaces around separators", () => {
    assert.equal(
      normalizeDn("CN=Alice Smith, OU=People ,DC=Example,DC=org"),
      "cn=alice smith,ou=people,dc=example,dc=org",
    );
  });
  it("keeps escaped commas inside a value and reads hex escapes as the character", () => {
    assert.equal(normalizeDn("cn=Sales\\, EMEA,ou=x"), normalizeDn("CN=Sales\\2C EMEA,OU=X"));
    assert.notEqual(normalizeDn("cn=Sales\\, EMEA,ou=x"), normalizeDn("cn=Sales,cn=EMEA,ou=x"));
  });
  it("sorts the parts of a multi-valued RDN", () => {
    assert.equal(normalizeDn("uid=a+cn=B,dc=x"), normalizeDn("CN=b+UID=A,dc=x"));
  });
});

describe("parentDn(), isWithin(), rdnValue()", () => {
  it("walk the tree in normal form", () => {
    assert.equal(parentDn("uid=a,OU=People,dc=x"), "ou=people,dc=x");
    assert.equal(parentDn("dc=x"), null);
    assert.ok(isWithin("uid=a,ou=people,DC=X", "dc=x"));
    assert.ok(!isWithin("uid=a,dc=xy", "dc=x"));
    assert.equal(rdnValue("cn=Sales\\, EMEA,ou=x"), "Sales, EMEA");
  });
});

describe("DirectoryIndex", () => {
  it("finds the nearest OU above a DN, within the base only", () => {
    const index = new DirectoryIndex("dc=example,dc=org");
    index.add("ou=People,dc=example,dc=org", "organization", "people");
    index.add("ou=Eng,ou=People,dc=example,dc=org", "organization", "eng");
    index.add("cn=G,ou=Eng,ou=People,dc=example,dc=org", "group", "g");
    assert.equal(index.organizationOf("uid=a,ou=eng,ou=people,dc=example,dc=org"), "eng");
    assert.equal(index.organizationOf("uid=a,cn=Team,ou=People,DC=Example,DC=org"), "people");
    assert.equal(index.organizationOf("uid=a,dc=example,dc=org"), null);
    assert.deepEqual(
      index.ancestors("uid=a,cn=G,ou=Eng,ou=People,dc=example,dc=org").map((a) => a.organization),
      [
        false,
        "eng",
        "people",
        undefined,
      ],
    );
    assert.deepEqual(index.get("CN=g, OU=eng,ou=people,dc=example,dc=org"), { kind: "group", id: "g" });
  });
});
