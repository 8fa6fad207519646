/**
 * The Google Workspace plugin's static face: `sync.google_workspace` (users,
 * groups, members and org units of an account into the directory). Imports
 * zod and types only; the implementation, `@googleapis/admin` and
 * google-auth-library are imported on the first job.
 *
 * The `GOOGLE_WORKSPACE_ENABLED`, `_SYNC_INTERVAL`, `_SCOPE` and `_CREDENTIALS` settings
 * and their default schedule come from the shared helper of the sync
 * connectors (adapters/sync/schedule-settings.ts).
 *
 * @module
 */
import type { PluginManifest } from "../plugin.ts";
import { url } from "../setting-values.ts";
import type { SyncProvider } from "../sync/port.ts";
import { directorySyncPayloadSchema } from "../sync/schema.ts";
import { defaultSchedules, scheduleSettings } from "../sync/schedule-settings.ts";

const naming = { prefix: "GOOGLE_WORKSPACE" };

/** The Google Workspace plugin. */
export const googleWorkspaceManifest: PluginManifest = {
  name: "google-workspace",
  description: "Google Workspace users, groups, memberships and org units into the directory",
  settings: {
    ...scheduleSettings({ ...naming, label: "Google Workspace account" }),
    GOOGLE_WORKSPACE_API_ENDPOINT: {
      schema: url(["http:", "https:"]).optional(),
      help: "The Admin SDK endpoint instead of https://admin.googleapis.com (a private endpoint, a stand-in)",
    },
  },
  syncKinds: [{
    kind: "sync.google_workspace",
    description: "Reads a Google Workspace account's users, groups, members and org units into the directory",
    provider: "google_workspace",
    sink: "directory",
    schema: directorySyncPayloadSchema,
    async open({ settings }) {
      const { createGoogleWorkspaceProvider } = await import("./mod.ts");
      const apiEndpoint = settings.GOOGLE_WORKSPACE_API_ENDPOINT as string | undefined;
      return createGoogleWorkspaceProvider(apiEndpoint ? { apiEndpoint } : {}) as SyncProvider<
        unknown,
        unknown
      >;
    },
  }],
  schedules: (values) =>
    defaultSchedules({ ...naming, provider: "google_workspace", kind: "sync.google_workspace" }, values),
};

export default googleWorkspaceManifest;
