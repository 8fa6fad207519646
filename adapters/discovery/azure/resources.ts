/**
 * ARM objects (as the modular SDK clients return them, `properties` flattened)
 * to discovered resources. External ids and link targets are ARM resource ids
 * in lower case: ARM ids are case-insensitive and Azure spells the same id
 * differently in different places (an AKS pool's `vnetSubnetID` against the
 * subnet's own `id`), so links only match when both sides are normalised. The id
 * as Azure spelled it is kept in `attributes.id`. Attributes are picked field by
 * field: nothing write-only or secret (service principal secrets, admin
 * passwords) is ever copied.
 *
 * @module
 */
import type { VirtualMachine } from "@azure/arm-compute";
import type { ManagedCluster } from "@azure/arm-containerservice";
import type { Subnet, VirtualNetwork } from "@azure/arm-network";
import type { StorageAccount } from "@azure/arm-storage";
import type { DiscoveredResource, ResourceLink } from "../provider.ts";

/** The resource types this provider produces. */
export const AZURE_TYPES = {
  virtualMachine: "compute.virtual-machine",
  virtualNetwork: "network.virtual-network",
  subnet: "network.subnet",
  storageAccount: "storage.account",
  managedCluster: "containerservice.managed-cluster",
} as const;

/** An ARM id normalised for external ids and links. */
export const armKey = (id: string): string => id.toLowerCase();

/** A location as ARM names it (`westeurope`), whatever the spelling (`West Europe`). */
export const normaliseRegion = (location: string): string => location.toLowerCase().replace(/\s+/g, "");

/** The resource group named in an ARM id. */
export function resourceGroupOf(id: string): string | null {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? null;
}

interface Tracked {
  id?: string | undefined;
  name?: string | undefined;
  location?: string | undefined;
  tags?: Record<string, string> | undefined;
}

/** Fields every ARM resource has, and the drop of absent values. */
function base(item: Tracked, extra: Record<string, unknown>) {
  const id = item.id ?? "";
  const attributes = Object.fromEntries(
    Object.entries({ id, resourceGroup: resourceGroupOf(id), tags: item.tags ?? {}, ...extra })
      .filter(([, value]) => value !== undefined),
  );
  return {
    externalId: armKey(id),
    name: item.name ?? null,
    region: item.location ? normaliseRegion(item.location) : null,
    attributes,
  };
}

/** A virtual machine; its NICs (not listed) are kept as ids in attributes. */
export function fromVirtualMachine(vm: VirtualMachine): DiscoveredResource[] {
  return [{
    type: AZURE_TYPES.virtualMachine,
    category: "compute",
    ...base(vm, {
      vmId: vm.vmId,
      vmSize: vm.hardwareProfile?.vmSize,
      provisioningState: vm.provisioningState,
      osType: vm.storageProfile?.osDisk?.osType,
      zones: vm.zones,
      networkInterfaceIds: vm.networkProfile?.networkInterfaces?.flatMap((nic) =>
        nic.id ? [armKey(nic.id)] : []
      ),
      timeCreated: vm.timeCreated instanceof Date ? vm.timeCreated.toISOString() : vm.timeCreated,
    }),
  }];
}

function fromSubnet(subnet: Subnet, vnet: DiscoveredResource): DiscoveredResource {
  const id = subnet.id ?? `${vnet.attributes.id}/subnets/${subnet.name ?? ""}`;
  return {
    type: AZURE_TYPES.subnet,
    category: "network",
    externalId: armKey(id),
    name: subnet.name ?? null,
    region: vnet.region,
    attributes: Object.fromEntries(
      Object.entries({
        id,
        resourceGroup: resourceGroupOf(id),
        addressPrefix: subnet.addressPrefix,
        addressPrefixes: subnet.addressPrefixes,
        provisioningState: subnet.provisioningState,
        networkSecurityGroupId: subnet.networkSecurityGroup?.id
          ? armKey(subnet.networkSecurityGroup.id)
          : undefined,
        routeTableId: subnet.routeTable?.id ? armKey(subnet.routeTable.id) : undefined,
      }).filter(([, value]) => value !== undefined),
    ),
    links: [{ relation: "in", type: AZURE_TYPES.virtualNetwork, externalId: vnet.externalId }],
  };
}

/** A virtual network and its subnets (which ARM returns inside it), each subnet `in` the network. */
export function fromVirtualNetwork(vnet: VirtualNetwork): DiscoveredResource[] {
  const network: DiscoveredResource = {
    type: AZURE_TYPES.virtualNetwork,
    category: "network",
    ...base(vnet, {
      addressPrefixes: vnet.addressSpace?.addressPrefixes,
      provisioningState: vnet.provisioningState,
      resourceGuid: vnet.resourceGuid,
      subnetCount: vnet.subnets?.length ?? 0,
    }),
  };
  return [network, ...(vnet.subnets ?? []).map((subnet) => fromSubnet(subnet, network))];
}

/** A storage account. */
export function fromStorageAccount(account: StorageAccount): DiscoveredResource[] {
  return [{
    type: AZURE_TYPES.storageAccount,
    category: "data",
    ...base(account, {
      kind: account.kind,
      sku: account.sku?.name,
      accessTier: account.accessTier,
      provisioningState: account.provisioningState,
      httpsOnly: account.enableHttpsTrafficOnly,
      allowBlobPublicAccess: account.allowBlobPublicAccess,
      minimumTlsVersion: account.minimumTlsVersion,
      publicNetworkAccess: account.publicNetworkAccess,
      primaryBlobEndpoint: account.primaryEndpoints?.blob,
    }),
  }];
}

/** A managed (AKS) cluster, `in` each subnet its agent pools use. */
export function fromManagedCluster(cluster: ManagedCluster): DiscoveredResource[] {
  const pools = cluster.agentPoolProfiles ?? [];
  const subnets = [...new Set(pools.flatMap((pool) => pool.vnetSubnetID ? [armKey(pool.vnetSubnetID)] : []))];
  const links: ResourceLink[] = subnets.map((externalId) => ({
    relation: "in",
    type: AZURE_TYPES.subnet,
    externalId,
  }));
  return [{
    type: AZURE_TYPES.managedCluster,
    category: "compute",
    ...base(cluster, {
      kubernetesVersion: cluster.kubernetesVersion,
      currentKubernetesVersion: cluster.currentKubernetesVersion,
      provisioningState: cluster.provisioningState,
      powerState: cluster.powerState?.code,
      fqdn: cluster.fqdn,
      nodeResourceGroup: cluster.nodeResourceGroup,
      networkPlugin: cluster.networkProfile?.networkPlugin,
      agentPools: pools.map((pool) => ({
        name: pool.name,
        mode: pool.mode ?? null,
        count: pool.count ?? null,
        vmSize: pool.vmSize ?? null,
        osType: pool.osType ?? null,
        vnetSubnetId: pool.vnetSubnetID ? armKey(pool.vnetSubnetID) : null,
      })),
    }),
    ...(links.length > 0 ? { links } : {}),
  }];
}
