/**
 * The `discovery.<provider>` kinds of this process, built from the
 * configuration: providers are opened lazily (on a kind's first run), so a
 * gateway that only validates payloads never creates SDK clients.
 *
 * @module
 */
import { createCredentialResolver } from "../../adapters/sync/credentials.ts";
import { createSyncKind, type SyncMetrics } from "../../adapters/sync/kind.ts";
import { discoveryPayloadSchema } from "../../adapters/discovery/schema.ts";
import type { Inventory } from "../../adapters/discovery/inventory.ts";
import type { DiscoveryProvider, ProviderName } from "../../adapters/discovery/provider.ts";
import type { JobKind } from "../../machines/job-kind.ts";
import type { Config } from "../process/config.ts";
import type { Logger } from "../observability/logger.ts";

/** How each provider is opened from the configuration. */
export type ProviderFactories = Partial<
  Record<ProviderName, (config: Config) => DiscoveryProvider | Promise<DiscoveryProvider>>
>;

/** The discovery kinds for the providers in `factories`. */
export function createDiscoveryKinds(options: {
  config: Config;
  inventory: Inventory;
  factories: ProviderFactories;
  metrics?: SyncMetrics;
  logger?: Logger;
  env?: Record<string, string | undefined>;
}): JobKind[] {
  const { config } = options;
  const resolveCredentials = createCredentialResolver({
    env: options.env ?? {},
    ...(config.discovery.credentialsDir ? { dir: config.discovery.credentialsDir } : {}),
  });
  return Object.entries(options.factories).map(([provider, open]) =>
    createSyncKind({
      kind: `discovery.${provider}`,
      description:
        `Inventories one ${provider} scope into the resources table; unseen resources are marked deleted only after a fully successful sync`,
      schema: discoveryPayloadSchema,
      provider,
      openProvider: () => open(config),
      sink: options.inventory,
      resolveCredentials,
      concurrency: config.discovery.concurrency,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.logger ? { logger: options.logger.child({ kind: `discovery.${provider}` }) } : {}),
    }) as unknown as JobKind
  );
}
