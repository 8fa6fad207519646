/**
 * The `discovery.kubernetes` plugin's manifest.
 *
 * @module
 */
import { z } from "zod";
import type { PluginManifest } from "../../plugin.ts";
import { defaultSchedules, scheduleSettings } from "../../sync/schedule-settings.ts";
import { discoveryPayloadSchema } from "../schema.ts";

const naming = { prefix: "K8S", scopeAliases: ["K8S_CONTEXT"], regions: true };

/** `discovery.kubernetes`. */
export const kubernetesDiscoveryManifest: PluginManifest = {
  name: "discovery/kubernetes",
  description:
    "Inventories a Kubernetes cluster: namespaces, nodes, workloads, services, service accounts, RBAC",
  settings: {
    ...scheduleSettings({ ...naming, label: "Kubernetes cluster (kubeconfig context)" }),
    KUBECONFIG: {
      schema: z.string().min(1).optional(),
      help: "The kubeconfig file (default ~/.kube/config)",
    },
  },
  syncKinds: [{
    kind: "discovery.kubernetes",
    description:
      "Inventories one kubernetes scope into the resources table; unseen resources are marked deleted only after a fully successful sync",
    provider: "kubernetes",
    sink: "inventory",
    schema: discoveryPayloadSchema,
    async open({ settings }) {
      const { createKubernetesDiscoveryProvider } = await import("./mod.ts");
      const path = settings.KUBECONFIG as string | undefined;
      return createKubernetesDiscoveryProvider(path ? { kubeconfigPath: path } : {});
    },
  }],
  schedules: (values) =>
    defaultSchedules({ ...naming, provider: "kubernetes", kind: "discovery.kubernetes" }, values),
};
