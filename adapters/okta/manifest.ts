/**
 * The Okta plugin's static face: `sync.okta` (users, groups and members of an
 * org into the directory) and `writeback.okta` (group membership changes
 * requested through the API). Imports zod, types and schema.ts only; the
 * implementation (mod.ts) is imported on the first job of either kind.
 *
 * The `OKTA_ENABLED`, `OKTA_SYNC_INTERVAL`, `OKTA_SCOPE` and `OKTA_CREDENTIALS` settings
 * and their default schedule come from the shared helper of the sync
 * connectors (adapters/sync/schedule-settings.ts).
 *
 * @module
 */
import { type PluginManifest, PortName } from "../plugin.ts";
import type { SyncProvider } from "../sync/port.ts";
import { defaultSchedules, scheduleSettings } from "../sync/schedule-settings.ts";
import { directorySyncPayloadSchema } from "../sync/schema.ts";
import { writebackPayloadSchema } from "./schema.ts";

const naming = { prefix: "OKTA" };

/** The Okta plugin. */
export const oktaManifest: PluginManifest = {
  name: "okta",
  description: "Okta users, groups and memberships into the directory; group membership write-back",
  settings: scheduleSettings({ ...naming, label: "Okta org" }),
  syncKinds: [{
    kind: "sync.okta",
    description: "Reads an Okta org's users, groups and group members into the directory",
    provider: "okta",
    sink: "directory",
    schema: directorySyncPayloadSchema,
    open: async () => (await import("./mod.ts")).createOktaProvider() as SyncProvider<unknown, unknown>,
  }],
  kinds: [{
    kind: "writeback.okta",
    description: "Adds or removes one Okta group member, as requested through the API",
    schema: writebackPayloadSchema,
    maxAttempts: 10,
    timeoutMs: 120_000,
    requires: [PortName.membershipLedger, PortName.resolveCredentials],
    load: async (context) => (await import("./mod.ts")).createOktaWritebackKind(context.ports),
  }],
  schedules: (values) => defaultSchedules({ ...naming, provider: "okta", kind: "sync.okta" }, values),
};

export default oktaManifest;
