/**
 * The payload of the directory sync kinds (`sync.ldap`, `sync.okta`...), and
 * what every sync payload has in common (discovery's adds regions and makes
 * scope and credentials optional: adapters/discovery/schema.ts).
 *
 * @module
 */
import { z } from "zod";
import { CREDENTIALS_REF_PATTERN } from "./credentials.ts";

/** A scope: an account, cluster, directory or tenant name. */
export const syncScope = z.string().min(1).max(256).regex(
  /^[^\s*>\p{Cc}]+$/u,
  "must have no spaces, control characters, '*' or '>'",
);

/** A credentials reference (TROUPE_CREDENTIALS_<REF> or <TROUPE_CREDENTIALS_DIR>/<ref>.json), never the credentials. */
export const credentialsRef = z.string().regex(
  CREDENTIALS_REF_PATTERN,
  "must be a credentials reference name, not the credentials",
);

/** The organisation the synced rows belong to; default: the job's org. */
export const syncOrg = z.string().min(1).max(200);

/** What the sync kind reads of any sync payload. */
export interface SyncPayload {
  scope?: string | undefined;
  regions?: string[] | undefined;
  credentials?: string | undefined;
  org?: string | undefined;
}

/** `{ scope, credentials, org? }`: a directory sync names its directory and the credentials to bind with. Unknown keys are refused. */
export const directorySyncPayloadSchema = z.strictObject({
  /** A name for the directory or tenant (`corp`, `example.okta.com`): the `scope` column. */
  scope: syncScope,
  credentials: credentialsRef,
  org: syncOrg.optional(),
});

/** `{changeId}`: the write-back kinds' payload, the id of a row of `identity_membership_changes`. Unknown keys are refused. */
export const writebackPayloadSchema = z.strictObject({
  changeId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export type WritebackPayload = z.output<typeof writebackPayloadSchema>;
