/**
 * Authentik objects → directory entries.
 *
 * - A user's external id is its `pk` (an integer, as a string): the id group
 *   listings (`users`) and `add_user`/`remove_user` use. Its `uuid` is kept as
 *   an attribute. `type` `service_account` or `internal_service_account` makes
 *   it a service account; `is_active` false makes it `suspended` (Authentik has
 *   no deprovisioned state: a deleted user disappears, and the next complete
 *   sync marks it deleted).
 * - A group's external id is its `pk` (a UUID). Its direct members are
 *   `users` (user pks); nesting comes from the child's side, `parents` (UUIDs, current
 *   versions) or `parent` (one UUID or null, older ones).
 *
 * Custom `attributes` of users and groups are not copied: they are free-form
 * and may hold anything an admin put there.
 *
 * @module
 */
import type { GroupEntry, IdentityEntry } from "../sync/directory.ts";

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (typeof value === "object" && value !== null ? value as Json : {});
const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

const SERVICE_TYPES = new Set(["service_account", "internal_service_account"]);

/** One user of `/core/users/`. */
export function identityOf(user: unknown): IdentityEntry | undefined {
  const u = obj(user);
  if (typeof u.pk !== "number" && typeof u.pk !== "string") return undefined;
  const attributes: Json = {};
  for (const key of ["uuid", "type", "path", "is_superuser", "last_login", "date_joined", "last_updated"]) {
    if (u[key] !== undefined && u[key] !== null) attributes[key] = u[key];
  }
  return {
    type: "identity",
    externalId: String(u.pk),
    kind: SERVICE_TYPES.has(String(u.type)) ? "service_account" : "user",
    username: str(u.username),
    email: str(u.email),
    displayName: str(u.name),
    status: u.is_active === false ? "suspended" : "active",
    attributes,
  };
}

/** One group of `/core/groups/`, with its direct user members and its parents. */
export function groupOf(group: unknown): GroupEntry | undefined {
  const g = obj(group);
  const pk = str(g.pk);
  if (!pk) return undefined;
  const parents = Array.isArray(g.parents)
    ? g.parents.filter((p): p is string => typeof p === "string")
    : str(g.parent)
    ? [g.parent as string]
    : [];
  const users = Array.isArray(g.users)
    ? g.users.filter((u) => typeof u === "number" || typeof u === "string")
    : [];
  const attributes: Json = {};
  if (g.num_pk !== undefined) attributes.numPk = g.num_pk;
  if (typeof g.is_superuser === "boolean") attributes.isSuperuser = g.is_superuser;
  return {
    type: "group",
    externalId: pk,
    name: str(g.name) ?? pk,
    attributes,
    members: users.map((u) => ({ memberType: "identity" as const, externalId: String(u) })),
    parentExternalIds: parents,
  };
}
