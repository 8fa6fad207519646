/**
 * The `discovery.gcp` plugin's manifest.
 *
 * @module
 */
import type { PluginManifest } from "../../plugin.ts";
import { url } from "../../setting-values.ts";
import { defaultSchedules, scheduleSettings } from "../../sync/schedule-settings.ts";
import { discoveryPayloadSchema } from "../schema.ts";

const naming = { prefix: "GCP", scopeAliases: ["GOOGLE_CLOUD_PROJECT"], regions: true };

/** `discovery.gcp`. */
export const gcpDiscoveryManifest: PluginManifest = {
  name: "discovery/gcp",
  description: "Inventories a Google Cloud project: instances, networks, subnetworks, buckets, GKE clusters",
  settings: {
    ...scheduleSettings({ ...naming, label: "GCP project" }),
    GCP_API_ENDPOINT: {
      schema: url(["http:", "https:"]).optional(),
      help: "One endpoint for the Google Cloud APIs (emulators)",
    },
  },
  syncKinds: [{
    kind: "discovery.gcp",
    description:
      "Inventories one gcp scope into the resources table; unseen resources are marked deleted only after a fully successful sync",
    provider: "gcp",
    sink: "inventory",
    schema: discoveryPayloadSchema,
    async open({ settings }) {
      const { createGcpDiscoveryProvider } = await import("./mod.ts");
      const apiEndpoint = settings.GCP_API_ENDPOINT as string | undefined;
      return createGcpDiscoveryProvider(apiEndpoint ? { apiEndpoint } : {});
    },
  }],
  schedules: (values) => defaultSchedules({ ...naming, provider: "gcp", kind: "discovery.gcp" }, values),
};
