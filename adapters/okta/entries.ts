/**
 * Okta objects → directory entries.
 *
 * - A user's `id` is its external id, `profile.login` its username. Status:
 *   ACTIVE, PROVISIONED (activated, no password set yet), RECOVERY and
 *   PASSWORD_EXPIRED are `active` (the account is live and its groups apply once
 *   the user finishes the step Okta asks for); STAGED (never activated),
 *   LOCKED_OUT and SUSPENDED are `suspended` (cannot sign in now);
 *   DEPROVISIONED is `deprovisioned`. Okta's own status is kept in
 *   `attributes.oktaStatus`.
 * - A group's `id` is its external id, `profile.name` its name; Okta groups do
 *   not nest. `type` (OKTA_GROUP, APP_GROUP, BUILT_IN) is kept.
 * - A member of a group's users listing is one direct edge.
 *
 * @module
 */
import type { GroupEntry, IdentityEntry, MembershipEntry } from "../sync/directory.ts";

const STATUS: Record<string, IdentityEntry["status"]> = {
  ACTIVE: "active",
  PROVISIONED: "active",
  RECOVERY: "active",
  PASSWORD_EXPIRED: "active",
  STAGED: "suspended",
  LOCKED_OUT: "suspended",
  SUSPENDED: "suspended",
  DEPROVISIONED: "deprovisioned",
};

/** The directory status of an Okta user status; an unknown one counts as suspended. */
export function oktaStatus(status: unknown): IdentityEntry["status"] {
  return STATUS[String(status)] ?? "suspended";
}

type Json = Record<string, unknown>;
const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);
const obj = (value: unknown): Json => (typeof value === "object" && value !== null ? value as Json : {});

/** Profile fields worth keeping besides login, email and names (never a credential). */
const PROFILE_KEPT = [
  "department",
  "title",
  "employeeNumber",
  "division",
  "organization",
  "managerId",
  "userType",
];

/** One user of `/api/v1/users`. */
export function identityOf(user: unknown): IdentityEntry | undefined {
  const u = obj(user);
  const id = str(u.id);
  if (!id) return undefined;
  const profile = obj(u.profile);
  const names = [str(profile.firstName), str(profile.lastName)].filter(Boolean).join(" ");
  const attributes: Json = { oktaStatus: u.status ?? null };
  for (
    const key of ["created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged"]
  ) {
    if (u[key] !== undefined) attributes[key] = u[key];
  }
  const type = str(obj(u.type).id);
  if (type) attributes.userTypeId = type;
  for (const key of PROFILE_KEPT) if (str(profile[key])) attributes[key] = profile[key];
  return {
    type: "identity",
    externalId: id,
    kind: "user",
    username: str(profile.login),
    email: str(profile.email),
    displayName: str(profile.displayName) ?? (names || null),
    status: oktaStatus(u.status),
    attributes,
  };
}

/** One group of `/api/v1/groups`. */
export function groupOf(group: unknown): GroupEntry | undefined {
  const g = obj(group);
  const id = str(g.id);
  if (!id) return undefined;
  const profile = obj(g.profile);
  const attributes: Json = { type: g.type ?? null };
  if (str(profile.description)) attributes.description = profile.description;
  for (const key of ["created", "lastUpdated", "lastMembershipUpdated"]) {
    if (g[key] !== undefined) attributes[key] = g[key];
  }
  return { type: "group", externalId: id, name: str(profile.name) ?? id, attributes };
}

/** One user of `/api/v1/groups/{groupId}/users`. */
export function membershipOf(groupId: string, user: unknown): MembershipEntry | undefined {
  const id = str(obj(user).id);
  return id
    ? { type: "membership", groupExternalId: groupId, memberType: "identity", externalId: id }
    : undefined;
}
