/** discovery.kubernetes holds to the sync-provider contract against the Kubernetes API stand-in. */
import { runSyncProviderContract } from "../../../contract/sync-provider.contract.ts";
import { createKubernetesDiscoveryProvider } from "../../../../adapters/discovery/kubernetes/mod.ts";
import { kubeconfigFor, startKubeStandIn } from "./stand-in.ts";
import { sampleCluster } from "./fixtures.ts";

runSyncProviderContract({
  name: "discovery.kubernetes",
  async setup() {
    const cluster = sampleCluster();
    const k8s = await startKubeStandIn(cluster);
    const wrong = "wrong-kube-token-s3cr3t";
    return {
      provider: createKubernetesDiscoveryProvider({ pageSize: 2 }) as never,
      target: { scope: "prod", org: null, credentials: { kubeconfig: kubeconfigFor(k8s.url, k8s.token) } },
      badTarget: { scope: "prod", org: null, credentials: { kubeconfig: kubeconfigFor(k8s.url, wrong) } },
      secrets: [k8s.token, wrong],
      minItems: Object.values(cluster).reduce((n, list) => n + list.length, 0),
      throttleNext: (seconds) =>
        k8s.fail({ match: () => true, status: 429, reason: "TooManyRequests", retryAfter: String(seconds) }),
      close: () => k8s.close(),
    };
  },
});
