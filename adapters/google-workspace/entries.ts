/**
 * Directory API objects → directory entries.
 *
 * - A user's external id is its `id` (Google's numeric id: stable across
 *   renames of `primaryEmail`), `primaryEmail` its username and email,
 *   `name.fullName` its display name. `suspended` → `suspended`; `archived`
 *   (a departed user kept with an Archived User licence, who cannot sign in) →
 *   `deprovisioned`; else `active`. Its `orgUnitPath` names its organization,
 *   resolved to the org unit's id.
 * - A group's external id is its `id`; `name` (else `email`) its name.
 * - A member of type USER is an identity edge, GROUP a nesting edge; CUSTOMER
 *   (the whole account as a member) is left out (it is not a directory entry).
 * - An org unit's external id is its `orgUnitId` (stable across renames and
 *   moves), its parent `parentOrgUnitId`. The root org unit is not listed by
 *   the API; it is made from the top-level units' parent, named `/`.
 *
 * @module
 */
import type { GroupEntry, IdentityEntry, MembershipEntry, OrganizationEntry } from "../sync/directory.ts";

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (typeof value === "object" && value !== null ? value as Json : {});
const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/** One user of `users.list`; `orgUnitId` maps an `orgUnitPath` to its org unit id. */
export function identityOf(
  user: unknown,
  orgUnitId: (path: string) => string | null,
): IdentityEntry | undefined {
  const u = obj(user);
  const id = str(u.id);
  if (!id) return undefined;
  const attributes: Json = {};
  for (
    const key of [
      "orgUnitPath",
      "isAdmin",
      "isDelegatedAdmin",
      "isEnrolledIn2Sv",
      "isEnforcedIn2Sv",
      "creationTime",
      "lastLoginTime",
      "suspensionReason",
      "customerId",
      "archived",
    ]
  ) if (u[key] !== undefined) attributes[key] = u[key];
  const path = str(u.orgUnitPath);
  return {
    type: "identity",
    externalId: id,
    kind: "user",
    username: str(u.primaryEmail),
    email: str(u.primaryEmail),
    displayName: str(obj(u.name).fullName),
    status: u.suspended === true ? "suspended" : u.archived === true ? "deprovisioned" : "active",
    organizationExternalId: path ? orgUnitId(path) : null,
    attributes,
  };
}

/** One group of `groups.list`. */
export function groupOf(group: unknown): GroupEntry | undefined {
  const g = obj(group);
  const id = str(g.id);
  if (!id) return undefined;
  const attributes: Json = {};
  for (const key of ["email", "description", "directMembersCount", "adminCreated", "aliases"]) {
    if (g[key] !== undefined) attributes[key] = g[key];
  }
  return { type: "group", externalId: id, name: str(g.name) ?? str(g.email) ?? id, attributes };
}

/** One member of `members.list` of group `groupId`. */
export function membershipOf(groupId: string, member: unknown): MembershipEntry | undefined {
  const m = obj(member);
  const id = str(m.id);
  if (!id || (m.type !== "USER" && m.type !== "GROUP")) return undefined;
  return {
    type: "membership",
    groupExternalId: groupId,
    memberType: m.type === "GROUP" ? "group" : "identity",
    externalId: id,
  };
}

/** The org units of `orgunits.list?type=all`, plus the root. */
export function organizationsOf(units: unknown[]): OrganizationEntry[] {
  const entries: OrganizationEntry[] = [];
  let root: string | null = null;
  for (const unit of units) {
    const u = obj(unit);
    const id = str(u.orgUnitId);
    if (!id) continue;
    if (str(u.parentOrgUnitPath) === "/") root = str(u.parentOrgUnitId) ?? root;
    entries.push({
      type: "organization",
      externalId: id,
      name: str(u.name) ?? str(u.orgUnitPath) ?? id,
      parentExternalId: str(u.parentOrgUnitId),
    });
  }
  if (root) entries.unshift({ type: "organization", externalId: root, name: "/", parentExternalId: null });
  return entries;
}

/** `orgUnitPath` → org unit id, from the same listing (the root `/` included when known). */
export function orgUnitIndex(units: unknown[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const unit of units) {
    const u = obj(unit);
    const id = str(u.orgUnitId);
    const path = str(u.orgUnitPath);
    if (id && path) index.set(path, id);
    if (str(u.parentOrgUnitPath) === "/" && str(u.parentOrgUnitId)) {
      index.set("/", u.parentOrgUnitId as string);
    }
  }
  return index;
}
