/**
 * The Authentik connector: a sync provider reading users and groups (with
 * members and parents) of one instance (`sync.authentik`), and the
 * `writeback.authentik` kind adding and removing group members. Loaded on the
 * first job of either kind (manifest.ts), which is when `@goauthentik/api` is
 * imported. See README.md.
 *
 * @module
 */
import { defineKind, type JobKind } from "../../machines/job-kind.ts";
import { PermanentError } from "../../machines/errors.ts";
import type { MembershipLedger } from "../sync/directory-ledger.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { SyncProvider, SyncTarget } from "../sync/port.ts";
import { AuthentikClient } from "./client.ts";
import { parseAuthentikCredentials, writebackPayloadSchema } from "./schema.ts";
import { instanceSources } from "./sources.ts";
import { applyAuthentikChange } from "./writeback.ts";

/** Options of the Authentik provider and write-back kind; nothing is read from the environment. */
export interface AuthentikOptions {
  /** Users or groups per page (`page_size`); default 100. */
  pageSize?: number;
  /** Most milliseconds one request may take; default 30 s. */
  requestTimeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

function clientFactory(options: AuthentikOptions) {
  return (credentials: unknown) =>
    new AuthentikClient(parseAuthentikCredentials(credentials), {
      timeoutMs: options.requestTimeoutMs ?? 30_000,
      now: options.now ?? Date.now,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
}

/** The `authentik` sync provider. */
export function createAuthentikProvider(
  options: AuthentikOptions = {},
): SyncProvider<DirectoryEntry, DirectoryCovers> {
  const open = clientFactory(options);
  return {
    provider: "authentik",
    plan(target: SyncTarget, signal: AbortSignal) {
      signal.throwIfAborted();
      return Promise.resolve().then(() => instanceSources(open(target.credentials), options.pageSize ?? 100));
    },
  };
}

/** What the write-back kind needs from the host (actors/plugins wires these ports). */
export interface AuthentikWritebackPorts {
  membershipLedger: MembershipLedger;
  resolveCredentials: (ref: string) => Promise<Record<string, unknown>>;
}

/** The `writeback.authentik` kind. */
export function createAuthentikWritebackKind(
  ports: Partial<AuthentikWritebackPorts>,
  options: AuthentikOptions = {},
): JobKind<typeof writebackPayloadSchema> {
  const open = clientFactory(options);
  return defineKind({
    kind: "writeback.authentik",
    description: "Adds or removes one Authentik group member, as requested through the API",
    schema: writebackPayloadSchema,
    maxAttempts: 10,
    timeoutMs: 120_000,
    async run(job) {
      const { membershipLedger: ledger, resolveCredentials } = ports;
      if (!ledger || !resolveCredentials) {
        throw new PermanentError(
          "writeback.authentik needs the membershipLedger and resolveCredentials ports",
          {
            code: "CONFIG",
          },
        );
      }
      return await applyAuthentikChange(job.payload.changeId, {
        ledger,
        signal: job.signal,
        openClient: async (ref) => open(await resolveCredentials(ref)),
      });
    },
  });
}
