/**
 * Which discovery providers this build has, and how each is opened from the
 * configuration (endpoints and defaults; credentials come per job).
 *
 * @module
 */
import { createAwsDiscoveryProvider } from "../adapters/discovery/aws/mod.ts";
import { createAzureDiscoveryProvider } from "../adapters/discovery/azure/mod.ts";
import { createGcpDiscoveryProvider } from "../adapters/discovery/gcp/mod.ts";
import { createKubernetesDiscoveryProvider } from "../adapters/discovery/kubernetes/mod.ts";
import type { ProviderFactories } from "./discovery-kinds.ts";
import { runtimeName } from "./runtime.ts";

/** The providers, by name. */
export const DISCOVERY_PROVIDERS: ProviderFactories = {
  // Endpoints and the default credential chain are the SDK's own (AWS_ENDPOINT_URL[_<SERVICE>], AWS_ACCESS_KEY_ID...).
  aws: (config) => {
    const { roleName, s3ForcePathStyle } = config.discovery.aws;
    return createAwsDiscoveryProvider({
      ...(roleName === "none" ? { assumeRole: false } : roleName ? { roleName } : {}),
      ...(config.aws.region ? { homeRegion: config.aws.region } : {}),
      s3ForcePathStyle,
      keepAlive: runtimeName.startsWith("node"),
    });
  },
  gcp: (config) => createGcpDiscoveryProvider(config.discovery.gcp.apiEndpoint ? { apiEndpoint: config.discovery.gcp.apiEndpoint } : {}),
  kubernetes: (config) =>
    createKubernetesDiscoveryProvider(config.discovery.kubernetes.kubeconfig ? { kubeconfigPath: config.discovery.kubernetes.kubeconfig } : {}),
  azure: (config) =>
    createAzureDiscoveryProvider({
      authorityHost: config.discovery.azure.authorityHost,
      resourceManagerEndpoint: config.discovery.azure.resourceManagerEndpoint,
      // Deno 2.9.5 re-sends an aborted request on a reused connection (adapters/aws-iam/README.md).
      keepAlive: runtimeName.startsWith("node"),
    }),
};
