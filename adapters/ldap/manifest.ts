/**
 * The LDAP plugin's static face: `sync.ldap` reads an OpenLDAP or Active
 * Directory directory (users, groups with nested members, OUs) into the
 * directory model. Imports zod schemas and types only; the implementation
 * (mod.ts, and ldapts with it) is imported on the first job of the kind.
 *
 * Settings (adapters/sync/schedule-settings.ts): `LDAP_ENABLED`,
 * `LDAP_SYNC_INTERVAL`, `LDAP_SCOPE` and `LDAP_CREDENTIALS` make the
 * `ldap-default` schedule.
 *
 * @module
 */
import type { PluginManifest } from "../plugin.ts";
import type { SyncProvider } from "../sync/port.ts";
import { defaultSchedules, scheduleSettings } from "../sync/schedule-settings.ts";
import { directorySyncPayloadSchema } from "../sync/schema.ts";

const naming = { prefix: "LDAP" };

/** The LDAP plugin. */
export const ldapManifest: PluginManifest = {
  name: "ldap",
  description:
    "LDAP and LDAPS directories (OpenLDAP, Active Directory): users, groups and OUs into the directory",
  settings: scheduleSettings({ ...naming, label: "LDAP directory" }),
  syncKinds: [{
    kind: "sync.ldap",
    description: "Reads an LDAP directory's OUs, users and groups (nested, paged) into the directory",
    provider: "ldap",
    sink: "directory",
    schema: directorySyncPayloadSchema,
    open: async () => (await import("./mod.ts")).createLdapProvider() as SyncProvider<unknown, unknown>,
  }],
  schedules: (values) => defaultSchedules({ ...naming, provider: "ldap", kind: "sync.ldap" }, values),
};

export default ldapManifest;
