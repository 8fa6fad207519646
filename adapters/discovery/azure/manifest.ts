/**
 * The `discovery.azure` plugin's manifest.
 *
 * @module
 */
import type { PluginManifest } from "../../plugin.ts";
import { url } from "../../setting-values.ts";
import { defaultSchedules, scheduleSettings } from "../../sync/schedule-settings.ts";
import { discoveryPayloadSchema } from "../schema.ts";

const naming = { prefix: "AZURE", scopeAliases: ["AZURE_SUBSCRIPTION_ID"], regions: true };
const httpUrl = url(["http:", "https:"]);

/** `discovery.azure`. */
export const azureDiscoveryManifest: PluginManifest = {
  name: "discovery/azure",
  description: "Inventories an Azure subscription: VMs, networks, storage accounts, AKS clusters",
  settings: {
    ...scheduleSettings({ ...naming, label: "Azure subscription" }),
    AZURE_AUTHORITY_HOST: {
      schema: httpUrl.optional(),
      help: "Microsoft Entra authority (sovereign clouds, emulators)",
    },
    AZURE_RESOURCE_MANAGER_ENDPOINT: {
      schema: httpUrl.optional(),
      help: "Azure Resource Manager endpoint (sovereign clouds, emulators)",
    },
  },
  syncKinds: [{
    kind: "discovery.azure",
    description:
      "Inventories one azure scope into the resources table; unseen resources are marked deleted only after a fully successful sync",
    provider: "azure",
    sink: "inventory",
    schema: discoveryPayloadSchema,
    async open({ settings, runtime }) {
      const { createAzureDiscoveryProvider } = await import("./mod.ts");
      return createAzureDiscoveryProvider({
        authorityHost: settings.AZURE_AUTHORITY_HOST as string | undefined,
        resourceManagerEndpoint: settings.AZURE_RESOURCE_MANAGER_ENDPOINT as string | undefined,
        // Deno 2.9.5 re-sends an aborted request on a reused connection (adapters/aws-iam/README.md).
        keepAlive: runtime.startsWith("node"),
      });
    },
  }],
  schedules: (values) => defaultSchedules({ ...naming, provider: "azure", kind: "discovery.azure" }, values),
};
