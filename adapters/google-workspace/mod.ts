/**
 * The Google Workspace connector: a sync provider reading one account's users,
 * groups, group members and org units through the Admin SDK Directory API
 * (`sync.google_workspace`) with a service account's domain-wide delegation.
 * Loaded on the first job (manifest.ts), which is when `@googleapis/admin` and
 * google-auth-library are imported. See README.md.
 *
 * @module
 */
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { SyncProvider, SyncTarget } from "../sync/port.ts";
import { DirectoryClient } from "./client.ts";
import { parseGoogleWorkspaceCredentials } from "./schema.ts";
import { accountSources } from "./sources.ts";

export { DIRECTORY_SCOPES } from "./auth.ts";

/** Options of the provider; nothing is read from the environment. */
export interface GoogleWorkspaceOptions {
  /** Replaces `https://admin.googleapis.com/` (a private endpoint, a stand-in). */
  apiEndpoint?: string;
  /** Most milliseconds one request may take; default 60 s. */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** The `google_workspace` sync provider. */
export function createGoogleWorkspaceProvider(
  options: GoogleWorkspaceOptions = {},
): SyncProvider<DirectoryEntry, DirectoryCovers> {
  return {
    provider: "google_workspace",
    plan(target: SyncTarget, signal: AbortSignal) {
      signal.throwIfAborted();
      return Promise.resolve().then(() => {
        const client = new DirectoryClient(parseGoogleWorkspaceCredentials(target.credentials), {
          apiEndpoint: options.apiEndpoint,
          timeoutMs: options.requestTimeoutMs ?? 60_000,
          now: options.now ?? Date.now,
        });
        return accountSources(client);
      });
    },
  };
}
