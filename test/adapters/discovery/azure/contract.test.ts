/** discovery.azure holds to the sync-provider contract against the ARM/Entra stand-in. */
import { randomUUID } from "node:crypto";
import { runSyncProviderContract } from "../../../contract/sync-provider.contract.ts";
import { createAzureDiscoveryProvider } from "../../../../adapters/discovery/azure/mod.ts";
import { armCluster, armStorage, armVm, armVnet } from "./fixtures.ts";
import { startAzureStandIn } from "./stand-in.ts";

runSyncProviderContract({
  name: "discovery.azure",
  async setup() {
    const standIn = await startAzureStandIn({ pageSize: 2 });
    const sub = randomUUID();
    for (let i = 0; i < 5; i++) {
      standIn.items(sub, "virtualMachines").push(armVm(sub, "rg-app", `vm${i}`, "westeurope"));
    }
    standIn.items(sub, "virtualNetworks").push(
      armVnet(sub, "rg-net", "hub", "westeurope", { default: "10.0.0.0/24" }),
      armVnet(sub, "rg-net", "spoke", "eastus", { apps: "10.1.0.0/24" }),
      armVnet(sub, "rg-net", "edge", "eastus", { edge: "10.2.0.0/24" }),
    );
    standIn.items(sub, "storageAccounts").push(
      armStorage(sub, "rg-data", "logs01", "westeurope"),
      armStorage(sub, "rg-data", "logs02", "westeurope"),
      armStorage(sub, "rg-data", "logs03", "eastus"),
    );
    standIn.items(sub, "managedClusters").push(armCluster(sub, "rg-aks", "k1", "westeurope", []));
    const wrong = `Zz9~contract-${randomUUID()}`;
    const provider = createAzureDiscoveryProvider({
      authorityHost: standIn.url,
      resourceManagerEndpoint: standIn.url,
      trustedCertificates: [standIn.ca],
    });
    return {
      provider: provider as never,
      target: { scope: sub, org: null, credentials: { ...standIn.app } },
      badTarget: { scope: sub, org: null, credentials: { ...standIn.app, clientSecret: wrong } },
      secrets: [standIn.app.clientSecret, wrong],
      // 5 VMs, 3 VNets with a subnet each, 3 storage accounts, 1 cluster.
      minItems: 15,
      throttleNext: (seconds) =>
        standIn.failNext("virtualMachines", {
          status: 429,
          code: "TooManyRequests",
          retryAfter: String(seconds),
        }),
      async close() {
        await provider.close?.();
        await standIn.close();
      },
    };
  },
});
