/**
 * The payload of every `discovery.<provider>` kind.
 *
 * @module
 */
import { z } from "zod";
import { credentialsRef, syncOrg, syncScope } from "../sync/schema.ts";

/** `{ scope, regions?, credentials?, org? }`; unknown keys are refused (credentials never travel inline). */
export const discoveryPayloadSchema = z.strictObject({
  /**
   * The account id, project id, subscription id or cluster (kubeconfig context) to inventory.
   * Unset: the provider's default where it can tell (AWS: the credentials' account; Kubernetes:
   * the kubeconfig's current context).
   */
  scope: syncScope.optional(),
  /** Only these regions (zones and locations map to their region); unset: every region enabled for the scope. */
  regions: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a region name like us-east-1")).min(
    1,
  ).max(100).optional(),
  /** A credentials reference (TROUPE_CREDENTIALS_<REF> or <TROUPE_CREDENTIALS_DIR>/<ref>.json); unset: the SDK's default chain. */
  credentials: credentialsRef.optional(),
  /** The organisation the inventory belongs to; default: the job's org. */
  org: syncOrg.optional(),
});

export type DiscoveryPayload = z.output<typeof discoveryPayloadSchema>;
