/**
 * Which discovery providers this build has, and how each is opened from the
 * configuration (endpoints and defaults; credentials come per job). Each
 * provider's module, and with it its cloud SDK, is imported on the first job of
 * its kind in this process, never at start.
 *
 * @module
 */
import type { ProviderFactories } from "./discovery-kinds.ts";
import { runtimeName } from "../process/runtime.ts";

/** The providers, by name. */
export const DISCOVERY_PROVIDERS: ProviderFactories = {
  // Endpoints and the default credential chain are the SDK's own (AWS_ENDPOINT_URL[_<SERVICE>], AWS_ACCESS_KEY_ID...).
  aws: async (config) => {
    const { createAwsDiscoveryProvider } = await import("../../adapters/discovery/aws/mod.ts");
    const { roleName, s3ForcePathStyle } = config.discovery.aws;
    return createAwsDiscoveryProvider({
      ...(roleName === "none" ? { assumeRole: false } : roleName ? { roleName } : {}),
      ...(config.aws.region ? { homeRegion: config.aws.region } : {}),
      s3ForcePathStyle,
      keepAlive: runtimeName.startsWith("node"),
    });
  },
  gcp: async (config) => {
    const { createGcpDiscoveryProvider } = await import("../../adapters/discovery/gcp/mod.ts");
    return createGcpDiscoveryProvider(
      config.discovery.gcp.apiEndpoint ? { apiEndpoint: config.discovery.gcp.apiEndpoint } : {},
    );
  },
  kubernetes: async (config) => {
    const { createKubernetesDiscoveryProvider } = await import("../../adapters/discovery/kubernetes/mod.ts");
    const path = config.discovery.kubernetes.kubeconfig;
    return createKubernetesDiscoveryProvider(path ? { kubeconfigPath: path } : {});
  },
  azure: async (config) => {
    const { createAzureDiscoveryProvider } = await import("../../adapters/discovery/azure/mod.ts");
    return createAzureDiscoveryProvider({
      authorityHost: config.discovery.azure.authorityHost,
      resourceManagerEndpoint: config.discovery.azure.resourceManagerEndpoint,
      // Deno 2.9.5 re-sends an aborted request on a reused connection (adapters/aws-iam/README.md).
      keepAlive: runtimeName.startsWith("node"),
    });
  },
};
