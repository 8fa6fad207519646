/**
 * The membership ledger port: what a write-back kind (`writeback.okta`,
 * `writeback.authentik`) reads and confirms. A change is requested through the
 * API (`PUT`/`DELETE /groups/:id/members/:identityId`), which records it and
 * submits a job; the job reads the change here, asks the provider, and calls
 * {@link MembershipLedger.applied} once the provider confirmed it. Only then
 * does the local edge change: until then the change shows as pending.
 *
 * The SQL implementation is adapters/postgres/sql-directory.ts (table
 * `identity_membership_changes`).
 *
 * Glossary:
 * - change: one requested add or remove of one identity in one group.
 * - applied: the provider confirmed it; the edge was written (add) or removed
 *   (remove) in `identity_group_members` in the same transaction.
 * - status (derived): applied when applied; failed when its job failed or was
 *   cancelled; otherwise pending.
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";

/** A change as a write-back job needs it: external ids to call the provider with, and the credentials to use. */
export interface MembershipChangeView {
  id: number;
  /** `okta` or `authentik` (the group's provider). */
  provider: string;
  /** The directory or tenant name of the group's sync. */
  scope: string;
  operation: "add" | "remove";
  /** The group's id in the provider (Okta group id, Authentik group pk). */
  groupExternalId: string;
  /** The identity's id in the provider (Okta user id, Authentik user pk). */
  identityExternalId: string;
  /**
   * The credentials reference to call the provider with: that of the latest
   * successful sync of the provider and scope, else that of a `sync.<provider>`
   * schedule of the scope (`<provider>-default` first); null when neither names one.
   */
  credentialsRef: string | null;
}

/** Where write-back jobs read and confirm membership changes. */
export interface MembershipLedger {
  /** The change, or null when there is no such change (it was never requested, or its group was removed). */
  get(changeId: number): Promise<MembershipChangeView | null>;
  /**
   * Records that the provider confirmed the change: writes the edge (add) or
   * removes it (remove) and sets `applied_at`, in one transaction. Applying a
   * change twice is a no-op (a retried job).
   */
  applied(changeId: number, info: { requestId?: string }): Promise<void>;
}

/**
 * The change a `writeback.<provider>` job applies, checked: it exists, it is
 * for `provider`, and a credentials reference is known for its scope. Each
 * failure is permanent (retrying would not make it true).
 */
export async function changeToApply(
  ledger: MembershipLedger,
  changeId: number,
  provider: string,
): Promise<MembershipChangeView & { credentialsRef: string }> {
  const change = await ledger.get(changeId);
  if (!change) {
    throw new PermanentError(`Membership change ${changeId} does not exist`, { code: "NOT_FOUND" });
  }
  if (change.provider !== provider) {
    throw new PermanentError(
      `Membership change ${changeId} is for provider "${change.provider}", not ${provider}`,
      { code: "WRITEBACK_WRONG_PROVIDER" },
    );
  }
  if (!change.credentialsRef) {
    throw new PermanentError(
      `Membership change ${changeId}: no credentials reference for ${provider}/${change.scope} (no successful sync or schedule names one)`,
      { code: "WRITEBACK_NO_CREDENTIALS" },
    );
  }
  return { ...change, credentialsRef: change.credentialsRef };
}
