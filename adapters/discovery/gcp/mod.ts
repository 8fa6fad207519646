/**
 * The GCP discovery provider: inventories one project (`target.scope` = project
 * id) with the official clients — Compute Engine instances, VPC networks and
 * subnetworks, Cloud Storage buckets and GKE clusters. See README.md.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { PermanentError } from "../../../machines/errors.ts";
import type { DiscoveryProvider, DiscoverySource, DiscoveryTarget } from "../provider.ts";
import { createTargetAuth } from "./auth.ts";
import { type ClientSettings, createClients, type GcpClients } from "./clients.ts";
import { toTypedError } from "./errors.ts";
import { planSources } from "./plan.ts";
import type { SourceContext } from "./sources.ts";

/** Options of {@link createGcpDiscoveryProvider}. */
export interface GcpDiscoveryOptions extends ClientSettings {
  /**
   * One base URL for Compute, GKE and Storage (`GCP_API_ENDPOINT`: a stand-in,
   * an emulator, a private endpoint); unset: Google's endpoints.
   */
  apiEndpoint?: string | undefined;
  /** Most items per page (default 500; Compute allows at most 500). */
  pageSize?: number | undefined;
  /** Per-request time limit in milliseconds (default 60 s). */
  timeoutMs?: number | undefined;
}

/** Project ids: 6-30 lower-case letters, digits and hyphens (older ones may carry a `domain:` prefix). */
const PROJECT_ID = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Creates the GCP provider. Clients (and their access tokens) are kept per project and credentials. */
export function createGcpDiscoveryProvider(options: GcpDiscoveryOptions = {}): DiscoveryProvider {
  const targets = new Map<string, Promise<SourceContext>>();
  const settings = { apiEndpoint: options.apiEndpoint, timeoutMs: options.timeoutMs };

  function contextOf(target: DiscoveryTarget): Promise<SourceContext> {
    const key = createHash("sha256").update(JSON.stringify([target.scope, target.credentials ?? null]))
      .digest("hex");
    let found = targets.get(key);
    if (!found) {
      found = (async () => {
        const auth = await createTargetAuth(target.credentials);
        const clients: GcpClients = createClients(target.scope, auth.client, settings);
        return {
          project: target.scope,
          clients,
          auth,
          pageSize: options.pageSize ?? 500,
          timeoutMs: options.timeoutMs ?? 60_000,
        };
      })();
      targets.set(key, found);
      found.catch(() => targets.delete(key));
    }
    return found;
  }

  return {
    provider: "gcp",
    async plan(target: DiscoveryTarget, signal: AbortSignal): Promise<DiscoverySource[]> {
      if (!PROJECT_ID.test(target.scope)) {
        throw new PermanentError(`GCP: ${JSON.stringify(target.scope)} is not a project id`, {
          code: "GCP_BAD_SCOPE",
        });
      }
      let ctx: SourceContext;
      try {
        ctx = await contextOf(target);
      } catch (error) {
        throw toTypedError(error, { operation: `credentials for project ${target.scope}` });
      }
      return await planSources(ctx, target.regions, signal);
    },
    async close() {
      const all = [...targets.values()];
      targets.clear();
      await Promise.allSettled(all.map(async (ctx) => (await ctx).clients.close()));
    },
  };
}

export type { ClientSettings } from "./clients.ts";
