/**
 * `writeback.authentik`: applies one requested membership change to
 * Authentik, then confirms it in the ledger.
 *
 * Authentik's `add_user` and `remove_user` answer 204 whether or not anything
 * changed, so the job first reads the group (`GET /core/groups/{pk}/`, whose
 * `users` lists its direct members; a missing group is a 404 here) and calls
 * `POST /core/groups/{pk}/add_user/` or `remove_user/` with `{"pk": <user pk>}`
 * only when the membership differs: `changed` is exact and a repeated job
 * costs one read. The request id in the job's refs is Authentik's
 * `X-authentik-id` of the write (of the read when nothing was written).
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";
import type { JobOutcome } from "../../machines/job-kind.ts";
import { changeToApply, type MembershipLedger } from "../sync/directory-ledger.ts";
import type { AuthentikClient } from "./client.ts";

/** What a write-back job reports. */
export interface WritebackResult {
  changed: boolean;
  operation: "add" | "remove";
  group: string;
  identity: string;
}

/** Applies change `changeId`; see the module header. */
export async function applyAuthentikChange(
  changeId: number,
  options: {
    ledger: MembershipLedger;
    openClient: (credentialsRef: string) => Promise<AuthentikClient>;
    signal: AbortSignal;
  },
): Promise<JobOutcome & { result: WritebackResult }> {
  const { ledger, signal } = options;
  const change = await changeToApply(ledger, changeId, "authentik");
  const userPk = Number(change.identityExternalId);
  if (!Number.isSafeInteger(userPk) || userPk <= 0) {
    throw new PermanentError(
      `Membership change ${changeId}: identity "${change.identityExternalId}" is not an Authentik user pk`,
      { code: "AUTHENTIK_BAD_IDENTITY" },
    );
  }
  const client = await options.openClient(change.credentialsRef);
  const group = change.groupExternalId;
  const read = await client.getGroup(group, signal);
  const users = (read.body as { users?: unknown } | undefined)?.users;
  const member = Array.isArray(users) && users.some((u) => Number(u) === userPk);
  const changed = member !== (change.operation === "add");
  let requestId = read.requestId;
  if (changed) {
    requestId = (await client.changeMember(change.operation, group, userPk, signal)).requestId ?? requestId;
  }
  signal.throwIfAborted();
  await ledger.applied(changeId, requestId ? { requestId } : {});
  return {
    result: { changed, operation: change.operation, group, identity: change.identityExternalId },
    refs: requestId ? [{ system: "authentik", ref: requestId }] : [],
  };
}
