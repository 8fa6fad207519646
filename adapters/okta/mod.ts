/**
 * The Okta connector: a sync provider reading users, groups and group members
 * of one org (`sync.okta`), and the `writeback.okta` kind adding and removing
 * group members. Loaded on the first job of either kind (manifest.ts). See
 * README.md.
 *
 * @module
 */
import { defineKind, type JobKind } from "../../machines/job-kind.ts";
import { PermanentError } from "../../machines/errors.ts";
import type { MembershipLedger } from "../sync/directory-ledger.ts";
import type { DirectoryCovers, DirectoryEntry } from "../sync/directory.ts";
import type { SyncProvider, SyncTarget } from "../sync/port.ts";
import { OktaClient } from "./client.ts";
import { type Clock, RateLimiter, realClock } from "./rate-limit.ts";
import { parseOktaCredentials, writebackPayloadSchema } from "./schema.ts";
import { orgSources } from "./sources.ts";
import { applyOktaChange } from "./writeback.ts";

export { RateLimiter } from "./rate-limit.ts";
export type { Clock } from "./rate-limit.ts";

/** Options of the Okta provider and write-back kind; nothing is read from the environment. */
export interface OktaOptions {
  /** Users, groups or members per page (Okta's `limit`); default 200. */
  pageSize?: number;
  /** Most milliseconds one request may take; default 30 s. */
  requestTimeoutMs?: number;
  /** Time (rate-limit waits); default real time. */
  clock?: Clock;
  fetch?: typeof fetch;
}

function clientFactory(options: OktaOptions, limiter: RateLimiter) {
  const clock = options.clock ?? realClock;
  return (credentials: unknown) =>
    new OktaClient(parseOktaCredentials(credentials), {
      limiter,
      now: () => clock.now(),
      timeoutMs: options.requestTimeoutMs ?? 30_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
}

/**
 * The `okta` sync provider. One rate limiter per instance: every source of
 * every run of this instance shares each bucket's budget (Okta's limits are
 * per org, and a worker syncs one org per scope at a time).
 */
export function createOktaProvider(options: OktaOptions = {}): SyncProvider<DirectoryEntry, DirectoryCovers> {
  const open = clientFactory(options, new RateLimiter(options.clock ?? realClock));
  const pageSize = options.pageSize ?? 200;
  return {
    provider: "okta",
    plan(target: SyncTarget, signal: AbortSignal) {
      signal.throwIfAborted();
      return Promise.resolve().then(() => orgSources(open(target.credentials), pageSize));
    },
  };
}

/** What the write-back kind needs from the host (actors/plugins wires these ports). */
export interface OktaWritebackPorts {
  membershipLedger: MembershipLedger;
  resolveCredentials: (ref: string) => Promise<Record<string, unknown>>;
}

/** The `writeback.okta` kind. */
export function createOktaWritebackKind(
  ports: Partial<OktaWritebackPorts>,
  options: OktaOptions = {},
): JobKind<typeof writebackPayloadSchema> {
  const open = clientFactory(options, new RateLimiter(options.clock ?? realClock));
  return defineKind({
    kind: "writeback.okta",
    description: "Adds or removes one Okta group member, as requested through the API",
    schema: writebackPayloadSchema,
    maxAttempts: 10,
    timeoutMs: 120_000,
    async run(job) {
      const { membershipLedger: ledger, resolveCredentials } = ports;
      if (!ledger || !resolveCredentials) {
        throw new PermanentError("writeback.okta needs the membershipLedger and resolveCredentials ports", {
          code: "CONFIG",
        });
      }
      return await applyOktaChange(job.payload.changeId, {
        ledger,
        signal: job.signal,
        openClient: async (ref) => open(await resolveCredentials(ref)),
      });
    },
  });
}
