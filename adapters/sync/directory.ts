/**
 * What an identity connector (LDAP, Google Workspace, Okta, Authentik) reads:
 * directory entries, written by the sync engine into the directory model
 * (`identities`, `identity_groups`, `identity_group_members`, `organizations`;
 * adapters/postgres/sql-directory.ts). Entries name each other by the
 * provider's external ids, so a page may name a group, member or parent read on
 * a later page; the sink resolves the names when the run completes.
 *
 * Glossary:
 * - identity: a user or a service account of one directory.
 * - group: a named set of identities and groups (nesting); an edge is direct,
 *   and `identity_memberships` closes it over any depth, cycles included.
 * - organization: an LDAP OU or a Google org unit; `parentExternalId` nests them.
 *
 * @module
 */

/** The identity providers; the `provider` column of the directory tables. */
export const DIRECTORY_PROVIDERS = ["ldap", "google_workspace", "okta", "authentik", "kubernetes"] as const;
export type DirectoryProvider = (typeof DIRECTORY_PROVIDERS)[number];

/** A user or service account as the source says. */
export interface IdentityEntry {
  type: "identity";
  /** Stable id in the source: entryUUID, objectGUID (as a GUID string), Okta/Google id, Authentik pk. */
  externalId: string;
  kind: "user" | "service_account";
  username: string | null;
  email: string | null;
  displayName: string | null;
  /** active, suspended (locked, disabled) or deprovisioned, mapped from the source's own status. */
  status: "active" | "suspended" | "deprovisioned";
  /** The organization (OU, org unit) it sits in, by external id. */
  organizationExternalId?: string | null;
  /** What else is worth keeping (dn, department, last login...); JSON, never a credential or hash. */
  attributes: Record<string, unknown>;
}

/** A group; its direct members may come with it (LDAP, Authentik) or as separate membership entries (Okta, Google). */
export interface GroupEntry {
  type: "group";
  externalId: string;
  name: string;
  attributes: Record<string, unknown>;
  /**
   * The group's complete list of direct members when the source gives it with
   * the group (LDAP member/uniqueMember/memberUid, Authentik users). Absent: the
   * members come as {@link MembershipEntry} items of a source covering memberships.
   */
  members?: MemberRef[];
  /** Groups this group is a member of, when the source states nesting from the child's side (Authentik parents, AD memberOf). */
  parentExternalIds?: string[];
}

/** A member of a group, by the external id of an identity or a group. */
export interface MemberRef {
  memberType: "identity" | "group";
  externalId: string;
}

/** One direct edge, when memberships are listed per group (Okta /groups/{id}/users, Google members). */
export interface MembershipEntry extends MemberRef {
  type: "membership";
  groupExternalId: string;
}

/** An LDAP OU or a Google org unit. */
export interface OrganizationEntry {
  type: "organization";
  externalId: string;
  name: string;
  parentExternalId?: string | null;
}

/** One item of a directory page. */
export type DirectoryEntry = IdentityEntry | GroupEntry | MembershipEntry | OrganizationEntry;

/** The entry types a directory source can cover (for deletion after a complete run). */
export type DirectoryEntryType = DirectoryEntry["type"];

/** What a complete directory source vouches for: every live entry of these types was on its pages. */
export interface DirectoryCovers {
  types: DirectoryEntryType[];
}
