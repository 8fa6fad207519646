/**
 * ARM JSON as Azure returns it (`properties` nested), for seeding the stand-in,
 * and helpers to run a provider's sources to the end.
 */
import type { DiscoveredResource, DiscoverySource } from "../../../../adapters/discovery/provider.ts";

const rgPath = (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`;

/** A virtual machine with one NIC. */
export function armVm(sub: string, rg: string, name: string, location: string) {
  const id = `${rgPath(sub, rg)}/providers/Microsoft.Compute/virtualMachines/${name}`;
  return {
    id,
    name,
    type: "Microsoft.Compute/virtualMachines",
    location,
    tags: { team: "core" },
    zones: ["1"],
    properties: {
      vmId: `vmid-${name}`,
      hardwareProfile: { vmSize: "Standard_B2s" },
      storageProfile: { osDisk: { osType: "Linux", name: `${name}-os`, createOption: "FromImage" } },
      osProfile: { computerName: name, adminUsername: "azureuser" },
      networkProfile: {
        networkInterfaces: [{
          id: `${rgPath(sub, rg)}/providers/Microsoft.Network/networkInterfaces/${name}-nic`,
        }],
      },
      provisioningState: "Succeeded",
      timeCreated: "2026-01-02T03:04:05.000Z",
    },
  };
}

/** A virtual network with subnets (names → prefixes). */
export function armVnet(
  sub: string,
  rg: string,
  name: string,
  location: string,
  subnets: Record<string, string>,
) {
  const id = `${rgPath(sub, rg)}/providers/Microsoft.Network/virtualNetworks/${name}`;
  return {
    id,
    name,
    type: "Microsoft.Network/virtualNetworks",
    location,
    etag: 'W/"1"',
    properties: {
      provisioningState: "Succeeded",
      resourceGuid: `guid-${name}`,
      addressSpace: { addressPrefixes: ["10.0.0.0/16"] },
      subnets: Object.entries(subnets).map(([subnet, prefix]) => ({
        id: `${id}/subnets/${subnet}`,
        name: subnet,
        type: "Microsoft.Network/virtualNetworks/subnets",
        properties: {
          addressPrefix: prefix,
          provisioningState: "Succeeded",
          networkSecurityGroup: {
            id: `${rgPath(sub, rg)}/providers/Microsoft.Network/networkSecurityGroups/${subnet}-nsg`,
          },
        },
      })),
    },
  };
}

/** A storage account. */
export function armStorage(sub: string, rg: string, name: string, location: string) {
  return {
    id: `${rgPath(sub, rg)}/providers/Microsoft.Storage/storageAccounts/${name}`,
    name,
    type: "Microsoft.Storage/storageAccounts",
    location,
    kind: "StorageV2",
    sku: { name: "Standard_LRS", tier: "Standard" },
    properties: {
      provisioningState: "Succeeded",
      accessTier: "Hot",
      supportsHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      minimumTlsVersion: "TLS1_2",
      primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` },
    },
  };
}

/** An AKS cluster whose pools sit in `subnetIds` (spelled as given). */
export function armCluster(sub: string, rg: string, name: string, location: string, subnetIds: string[]) {
  return {
    id: `${rgPath(sub, rg)}/providers/Microsoft.ContainerService/managedClusters/${name}`,
    name,
    type: "Microsoft.ContainerService/managedClusters",
    location,
    properties: {
      provisioningState: "Succeeded",
      powerState: { code: "Running" },
      kubernetesVersion: "1.33",
      currentKubernetesVersion: "1.33.2",
      fqdn: `${name}-dns.hcp.${location}.azmk8s.io`,
      nodeResourceGroup: `MC_${rg}_${name}_${location}`,
      servicePrincipalProfile: { clientId: "msi" },
      networkProfile: { networkPlugin: "azure" },
      agentPoolProfiles: subnetIds.map((subnet, i) => ({
        name: `pool${i}`,
        count: 3,
        vmSize: "Standard_D4s_v5",
        mode: i === 0 ? "System" : "User",
        osType: "Linux",
        vnetSubnetID: subnet,
      })),
    },
  };
}

/** Reads a source to its last page; returns the resources and the tokens used. */
export async function drain(source: DiscoverySource, signal = new AbortController().signal) {
  const resources: DiscoveredResource[] = [];
  const tokens: (string | undefined)[] = [];
  let token: string | undefined;
  do {
    tokens.push(token);
    const page = await source.fetchPage(token, signal);
    resources.push(...page.items);
    token = page.next;
  } while (token !== undefined);
  return { resources, tokens };
}
