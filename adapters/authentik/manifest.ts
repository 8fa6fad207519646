/**
 * The Authentik plugin's static face: `sync.authentik` (users and groups of an
 * instance into the directory) and `writeback.authentik` (group membership
 * changes requested through the API). Imports zod, types and schema.ts only;
 * the implementation and `@goauthentik/api` are imported on the first job.
 *
 * The `AUTHENTIK_ENABLED`, `AUTHENTIK_SYNC_INTERVAL`, `AUTHENTIK_SCOPE` and `AUTHENTIK_CREDENTIALS` settings
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

const naming = { prefix: "AUTHENTIK" };

/** The Authentik plugin. */
export const authentikManifest: PluginManifest = {
  name: "authentik",
  description: "Authentik users, groups and memberships into the directory; group membership write-back",
  settings: scheduleSettings({ ...naming, label: "Authentik instance" }),
  syncKinds: [{
    kind: "sync.authentik",
    description: "Reads an Authentik instance's users and groups (members, nesting) into the directory",
    provider: "authentik",
    sink: "directory",
    schema: directorySyncPayloadSchema,
    open: async () => (await import("./mod.ts")).createAuthentikProvider() as SyncProvider<unknown, unknown>,
  }],
  kinds: [{
    kind: "writeback.authentik",
    description: "Adds or removes one Authentik group member, as requested through the API",
    schema: writebackPayloadSchema,
    maxAttempts: 10,
    timeoutMs: 120_000,
    requires: [PortName.membershipLedger, PortName.resolveCredentials],
    load: async (context) => (await import("./mod.ts")).createAuthentikWritebackKind(context.ports),
  }],
  schedules: (values) =>
    defaultSchedules({ ...naming, provider: "authentik", kind: "sync.authentik" }, values),
};

export default authentikManifest;
