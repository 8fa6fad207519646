/**
 * `writeback.okta`: applies one requested membership change to Okta, then
 * confirms it in the ledger. The change (group and user ids, add or remove,
 * the credentials reference) comes from the {@link MembershipLedger}; the
 * credentials from the reference.
 *
 * Okta's `PUT` and `DELETE /api/v1/groups/{groupId}/users/{userId}` both
 * answer 204 whether or not anything changed, so the job first reads the
 * user's groups (`GET /api/v1/users/{userId}/groups`, one page for nearly every
 * user) and writes only when the membership differs: `changed` is then exact,
 * a repeated job costs one read, and the request id in the job's refs is the
 * write's (or, with nothing to change, the read's). A change made in Okta
 * between the read and the write is drift, which the next sync records.
 *
 * Errors: 429 and 5xx are transient (after the bucket's reset), 401, 403 and
 * 404 (no such user or group) permanent. The ledger is told only after Okta
 * confirmed (or the read showed the state already holds).
 *
 * @module
 */
import type { JobOutcome } from "../../machines/job-kind.ts";
import { changeToApply, type MembershipLedger } from "../sync/directory-ledger.ts";
import type { OktaClient } from "./client.ts";
import { BUCKETS } from "./sources.ts";

/** What a write-back job reports. */
export interface WritebackResult {
  changed: boolean;
  operation: "add" | "remove";
  group: string;
  identity: string;
}

/** Whether `userId` is a direct member of `groupId`, reading the user's groups page by page. */
async function isMember(client: OktaClient, userId: string, groupId: string, signal: AbortSignal) {
  let path: string | undefined = `/api/v1/users/${encodeURIComponent(userId)}/groups?limit=200`;
  let requestId: string | undefined;
  while (path) {
    const answer = await client.request("GET", path, BUCKETS.userGroups, signal);
    requestId = answer.requestId ?? requestId;
    const groups = Array.isArray(answer.body) ? answer.body as { id?: unknown }[] : [];
    if (groups.some((group) => group?.id === groupId)) return { member: true, requestId };
    path = answer.next;
  }
  return { member: false, requestId };
}

/** Applies change `changeId` with `openClient`'s client; see the module header. */
export async function applyOktaChange(
  changeId: number,
  options: {
    ledger: MembershipLedger;
    openClient: (credentialsRef: string) => Promise<OktaClient>;
    signal: AbortSignal;
  },
): Promise<JobOutcome & { result: WritebackResult }> {
  const { ledger, signal } = options;
  const change = await changeToApply(ledger, changeId, "okta");
  const client = await options.openClient(change.credentialsRef);
  const group = change.groupExternalId;
  const user = change.identityExternalId;
  const read = await isMember(client, user, group, signal);
  const wanted = change.operation === "add";
  let requestId = read.requestId;
  const changed = read.member !== wanted;
  if (changed) {
    const path = `/api/v1/groups/${encodeURIComponent(group)}/users/${encodeURIComponent(user)}`;
    const answer = await client.request(wanted ? "PUT" : "DELETE", path, BUCKETS.membership, signal);
    requestId = answer.requestId ?? requestId;
  }
  signal.throwIfAborted();
  await ledger.applied(changeId, requestId ? { requestId } : {});
  return {
    result: { changed, operation: change.operation, group, identity: user },
    refs: requestId ? [{ system: "okta", ref: requestId }] : [],
  };
}
