/**
 * Which discovery providers this build has, and how each is opened from the
 * configuration (endpoints and defaults; credentials come per job).
 *
 * @module
 */
import { createAzureDiscoveryProvider } from "../adapters/discovery/azure/mod.ts";
import { createKubernetesDiscoveryProvider } from "../adapters/discovery/kubernetes/mod.ts";
import type { ProviderFactories } from "./discovery-kinds.ts";
import { runtimeName } from "./runtime.ts";

/** The providers, by name. */
export const DISCOVERY_PROVIDERS: ProviderFactories = {
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
