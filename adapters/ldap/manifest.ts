/**
 * The LDAP plugin's static face: `sync.ldap` reads an OpenLDAP or Active
 * Directory directory (users, groups with nested members, OUs) into the
 * directory model. Imports zod schemas and types only; the implementation
 * (mod.ts, and ldapts with it) is imported on the first job of the kind.
 *
 * The `LDAP_ENABLED`, `LDAP_SYNC_INTERVAL`, `LDAP_SCOPE` and
 * `LDAP_CREDENTIALS` settings and their default schedule come from the
 * shared helper of the directory connectors (actors/plugins).
 *
 * @module
 */
import type { PluginManifest } from "../plugin.ts";
import type { SyncProvider } from "../sync/port.ts";
import { directorySyncPayloadSchema } from "../sync/schema.ts";

/** The LDAP plugin. */
export const ldapManifest: PluginManifest = {
  name: "ldap",
  description:
    "LDAP and LDAPS directories (OpenLDAP, Active Directory): users, groups and OUs into the directory",
  syncKinds: [{
    kind: "sync.ldap",
    description: "Reads an LDAP directory's OUs, users and groups (nested, paged) into the directory",
    provider: "ldap",
    sink: "directory",
    schema: directorySyncPayloadSchema,
    open: async () => (await import("./mod.ts")).createLdapProvider() as SyncProvider<unknown, unknown>,
  }],
};

export default ldapManifest;
