/**
 * How entries of each directory become directory entries (adapters/sync/directory.ts):
 * which attributes are read, which one is the stable external id, how status
 * and membership are spelled. One table per schema (README.md has them as
 * tables); the sources (sources.ts) do the reading and the DN resolution.
 *
 * - OpenLDAP: entryUUID; inetOrgPerson users (uid, mail, displayName or cn),
 *   suspended while ppolicy's pwdAccountLockedTime is set; groupOfNames
 *   (member), groupOfUniqueNames (uniqueMember) and posixGroup (memberUid,
 *   by uid).
 * - Active Directory: objectGUID as a GUID string; sAMAccountName,
 *   mail or userPrincipalName, userAccountControl's ACCOUNTDISABLE bit (0x2);
 *   groups' member (ranged) and memberOf (the parents of a nested group).
 *
 * Never read: userPassword, unicodePwd and other secrets (attributes are
 * always listed, never `*`).
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";
import type { GroupEntry, IdentityEntry, MemberRef, OrganizationEntry } from "../sync/directory.ts";
import { bytes, first, guidString, pick, values } from "./attributes.ts";
import type { LdapEntry } from "./client.ts";
import { rdnValue } from "./dn.ts";
import { DEFAULT_FILTERS, type LdapSchema } from "./schema.ts";

/** One schema's reading rules. */
export interface DirectoryMapping {
  schema: LdapSchema;
  /** The attribute holding the stable id. */
  idAttribute: string;
  /** Attributes to ask for as bytes. */
  binaryAttributes: string[];
  filters: { users: string; groups: string; organizations: string };
  userAttributes: string[];
  groupAttributes: string[];
  organizationAttributes: string[];
  /** DN-valued member attributes of groups. */
  memberAttributes: string[];
  /** The attribute listing members by username (posixGroup's memberUid), if any. */
  memberUidAttribute: string | null;
  /** The attribute listing the groups a group belongs to (AD's memberOf), if any. */
  parentAttribute: string | null;
  /** The external id of an entry; a `PermanentError` when the entry has none (hidden by an ACL). */
  externalId(entry: LdapEntry): string;
  /** The username of a user entry (the key of memberUid). */
  username(entry: LdapEntry): string | null;
  identity(entry: LdapEntry, organizationExternalId: string | null): IdentityEntry;
  organization(entry: LdapEntry, parentExternalId: string | null): OrganizationEntry;
  group(entry: LdapEntry, members: MemberRef[], parents: string[] | null, unresolved: number): GroupEntry;
}

function missingId(entry: LdapEntry, attribute: string): PermanentError {
  return new PermanentError(
    `LDAP entry "${entry.dn}" has no ${attribute}: the bind DN must be allowed to read it`,
    { code: "LDAP_NO_ENTRY_ID" },
  );
}

const OPENLDAP_USER_EXTRA = [
  "givenName",
  "sn",
  "title",
  "ou",
  "departmentNumber",
  "employeeNumber",
  "employeeType",
  "uidNumber",
  "gidNumber",
];

/** OpenLDAP (and other RFC 4519/2798/2307 directories). */
export const OPENLDAP_MAPPING: DirectoryMapping = {
  schema: "openldap",
  idAttribute: "entryUUID",
  binaryAttributes: [],
  filters: DEFAULT_FILTERS.openldap,
  userAttributes: [
    "entryUUID",
    "objectClass",
    "uid",
    "mail",
    "cn",
    "displayName",
    "pwdAccountLockedTime",
    ...OPENLDAP_USER_EXTRA,
  ],
  groupAttributes: [
    "entryUUID",
    "objectClass",
    "cn",
    "description",
    "gidNumber",
    "member",
    "uniqueMember",
    "memberUid",
  ],
  organizationAttributes: ["entryUUID", "ou", "description"],
  memberAttributes: ["member", "uniqueMember"],
  memberUidAttribute: "memberUid",
  parentAttribute: null,
  externalId(entry) {
    const id = first(entry, "entryUUID");
    if (!id) throw missingId(entry, "entryUUID");
    return id.toLowerCase();
  },
  username: (entry) => first(entry, "uid"),
  identity(entry, organizationExternalId) {
    return {
      type: "identity",
      externalId: this.externalId(entry),
      kind: "user",
      username: first(entry, "uid"),
      email: first(entry, "mail"),
      displayName: first(entry, "displayName") ?? first(entry, "cn"),
      // ppolicy sets pwdAccountLockedTime while an account is locked; OpenLDAP has no other disabled flag.
      status: first(entry, "pwdAccountLockedTime") ? "suspended" : "active",
      organizationExternalId,
      attributes: {
        dn: entry.dn,
        objectClass: values(entry, "objectClass"),
        ...pick(entry, OPENLDAP_USER_EXTRA),
      },
    };
  },
  organization(entry, parentExternalId) {
    return {
      type: "organization",
      externalId: this.externalId(entry),
      name: first(entry, "ou") ?? rdnValue(entry.dn),
      parentExternalId,
    };
  },
  group(entry, members, _parents, unresolved) {
    return {
      type: "group",
      externalId: this.externalId(entry),
      name: first(entry, "cn") ?? rdnValue(entry.dn),
      attributes: {
        dn: entry.dn,
        objectClass: values(entry, "objectClass"),
        ...pick(entry, ["description", "gidNumber"]),
        ...(unresolved > 0 ? { unresolvedMembers: unresolved } : {}),
      },
      members,
    };
  },
};

/** userAccountControl's ACCOUNTDISABLE flag. */
export const UF_ACCOUNTDISABLE = 0x2;

const AD_USER_EXTRA = [
  "userPrincipalName",
  "givenName",
  "sn",
  "title",
  "department",
  "company",
  "employeeID",
  "userAccountControl",
  "whenCreated",
  "lastLogonTimestamp",
];

/** Active Directory (and AD LDS). */
export const AD_MAPPING: DirectoryMapping = {
  schema: "ad",
  idAttribute: "objectGUID",
  binaryAttributes: ["objectGUID"],
  filters: DEFAULT_FILTERS.ad,
  userAttributes: [
    "objectGUID",
    "objectClass",
    "sAMAccountName",
    "mail",
    "cn",
    "displayName",
    ...AD_USER_EXTRA,
  ],
  groupAttributes: [
    "objectGUID",
    "objectClass",
    "cn",
    "sAMAccountName",
    "description",
    "groupType",
    "member",
    "memberOf",
  ],
  organizationAttributes: ["objectGUID", "ou", "description"],
  memberAttributes: ["member"],
  memberUidAttribute: null,
  parentAttribute: "memberOf",
  externalId(entry) {
    const guid = bytes(entry, "objectGUID");
    if (!guid) throw missingId(entry, "objectGUID");
    if (guid.length !== 16) {
      throw new PermanentError(`LDAP entry "${entry.dn}" has an objectGUID of ${guid.length} bytes, not 16`, {
        code: "LDAP_NO_ENTRY_ID",
      });
    }
    return guidString(guid);
  },
  username: (entry) => first(entry, "sAMAccountName"),
  identity(entry, organizationExternalId) {
    const control = Number(first(entry, "userAccountControl") ?? "0");
    return {
      type: "identity",
      externalId: this.externalId(entry),
      kind: "user",
      username: first(entry, "sAMAccountName"),
      email: first(entry, "mail") ?? first(entry, "userPrincipalName"),
      displayName: first(entry, "displayName") ?? first(entry, "cn"),
      status: Number.isInteger(control) && (control & UF_ACCOUNTDISABLE) !== 0 ? "suspended" : "active",
      organizationExternalId,
      attributes: { dn: entry.dn, objectClass: values(entry, "objectClass"), ...pick(entry, AD_USER_EXTRA) },
    };
  },
  organization(entry, parentExternalId) {
    return {
      type: "organization",
      externalId: this.externalId(entry),
      name: first(entry, "ou") ?? rdnValue(entry.dn),
      parentExternalId,
    };
  },
  group(entry, members, parents, unresolved) {
    return {
      type: "group",
      externalId: this.externalId(entry),
      name: first(entry, "cn") ?? first(entry, "sAMAccountName") ?? rdnValue(entry.dn),
      attributes: {
        dn: entry.dn,
        objectClass: values(entry, "objectClass"),
        ...pick(entry, ["sAMAccountName", "description", "groupType"]),
        ...(unresolved > 0 ? { unresolvedMembers: unresolved } : {}),
      },
      members,
      ...(parents ? { parentExternalIds: parents } : {}),
    };
  },
};

/** The mapping of a schema. */
export function mappingFor(schema: LdapSchema): DirectoryMapping {
  return schema === "ad" ? AD_MAPPING : OPENLDAP_MAPPING;
}
