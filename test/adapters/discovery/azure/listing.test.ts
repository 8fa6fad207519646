/**
 * The Azure provider lists a subscription through the real SDK clients against
 * the ARM/Entra stand-in: every page, nextLink followed, the issued token on
 * every request, api-version present, resources, attributes and links mapped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createAzureDiscoveryProvider } from "../../../../adapters/discovery/azure/mod.ts";
import type { DiscoveryProvider, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import { armCluster, armStorage, armVm, armVnet, drain } from "./fixtures.ts";
import { type AzureStandIn, startAzureStandIn } from "./stand-in.ts";

const signal = () => new AbortController().signal;
const byType = (sources: DiscoverySource[], type: string) => {
  const found = sources.find((s) => s.covers.types[0] === type);
  assert.ok(found, `a source for ${type}`);
  return found;
};

describe("Azure discovery listing", () => {
  let standIn: AzureStandIn;
  let provider: DiscoveryProvider;
  const sub = randomUUID();
  const credentials = () => ({ ...standIn.app });
  const target = () => ({ scope: sub, credentials: credentials(), org: null });

  before(async () => {
    standIn = await startAzureStandIn({ pageSize: 2 });
    for (let i = 0; i < 5; i++) {
      standIn.items(sub, "virtualMachines").push(
        armVm(sub, "RG-App", `vm${i}`, i < 3 ? "westeurope" : "eastus"),
      );
    }
    standIn.items(sub, "virtualNetworks").push(
      armVnet(sub, "RG-Net", "hub", "westeurope", { default: "10.0.0.0/24", aks: "10.0.1.0/24" }),
      armVnet(sub, "RG-Net", "spoke", "East US", { apps: "10.1.0.0/24" }),
    );
    standIn.items(sub, "storageAccounts").push(armStorage(sub, "rg-data", "logs01", "westeurope"));
    standIn.items(sub, "managedClusters").push(
      // AKS spells the resource group differently from the VNet's own id: links still match.
      armCluster(sub, "rg-aks", "k1", "westeurope", [
        `/subscriptions/${sub}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/hub/subnets/aks`,
      ]),
    );
    provider = createAzureDiscoveryProvider({
      authorityHost: standIn.url,
      resourceManagerEndpoint: standIn.url,
      trustedCertificates: [standIn.ca],
    });
  });
  after(async () => {
    await provider.close?.();
    await standIn.close();
  });

  it("plans one subscription-wide source per listing, after getting a token", async () => {
    standIn.requests.length = 0;
    const sources = await provider.plan(target(), signal());
    assert.deepEqual(
      sources.map((s) => [s.name, s.covers]),
      [
        ["compute.virtual-machine all regions", { types: ["compute.virtual-machine"], region: null }],
        ["network.virtual-network all regions", {
          types: ["network.virtual-network", "network.subnet"],
          region: null,
        }],
        ["storage.account all regions", { types: ["storage.account"], region: null }],
        ["containerservice.managed-cluster all regions", {
          types: ["containerservice.managed-cluster"],
          region: null,
        }],
      ],
    );
    assert.deepEqual(standIn.requests.map((r) => r.route), ["openid", "token"]);
    const [token] = standIn.requestsOf("token");
    assert.equal(token?.path, `/${standIn.app.tenantId}/oauth2/v2.0/token`);
    assert.equal(token?.form?.grant_type, "client_credentials");
    assert.equal(token?.form?.client_id, standIn.app.clientId);
    assert.equal(token?.form?.scope, `${standIn.url}/.default`);
    assert.equal(token?.secretMatched, true);
  });

  it("lists every virtual machine across three pages, following nextLink with the issued token", async () => {
    standIn.requests.length = 0;
    const sources = await provider.plan(target(), signal());
    const { resources, tokens } = await drain(byType(sources, "compute.virtual-machine"));
    assert.equal(resources.length, 5);
    assert.equal(tokens.length, 3);
    assert.equal(tokens[0], undefined);
    assert.match(
      tokens[1] ?? "",
      /^https:\/\/127\.0\.0\.1:\d+\/subscriptions\/.+\/virtualMachines\?api-version=.+&%24skiptoken=/,
    );
    const vmRequests = standIn.requestsOf("virtualMachines");
    assert.equal(vmRequests.length, 3, "one HTTP request per page");
    assert.deepEqual(vmRequests.map((r) => r.query.$skiptoken !== undefined), [false, true, true]);
    for (const r of vmRequests) {
      assert.equal(r.path, `/subscriptions/${sub}/providers/Microsoft.Compute/virtualMachines`);
      assert.match(r.query["api-version"] ?? "", /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(r.status, 200);
    }
    const issued = standIn.issuedTokens();
    assert.ok(vmRequests.every((r) => issued.includes(r.authorization?.replace(/^Bearer /, "") ?? "")));
    assert.equal(standIn.requestsOf("token").length, 1, "the plan's token is reused by the source");

    const vm0 = resources[0];
    assert.deepEqual(vm0, {
      type: "compute.virtual-machine",
      category: "compute",
      externalId:
        `/subscriptions/${sub}/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm0`,
      name: "vm0",
      region: "westeurope",
      attributes: {
        id: `/subscriptions/${sub}/resourceGroups/RG-App/providers/Microsoft.Compute/virtualMachines/vm0`,
        resourceGroup: "RG-App",
        tags: { team: "core" },
        vmId: "vmid-vm0",
        vmSize: "Standard_B2s",
        provisioningState: "Succeeded",
        osType: "Linux",
        zones: ["1"],
        networkInterfaceIds: [
          `/subscriptions/${sub}/resourcegroups/rg-app/providers/microsoft.network/networkinterfaces/vm0-nic`,
        ],
        timeCreated: "2026-01-02T03:04:05.000Z",
      },
    });
    assert.deepEqual(resources.map((r) => r.region), [
      "westeurope",
      "westeurope",
      "westeurope",
      "eastus",
      "eastus",
    ]);
  });

  it("a page fetched again from its token is the same page", async () => {
    const source = byType(await provider.plan(target(), signal()), "compute.virtual-machine");
    const first = await source.fetchPage(undefined, signal());
    const second = await source.fetchPage(first.next, signal());
    const again = await source.fetchPage(first.next, signal());
    assert.deepEqual(again, second);
    assert.deepEqual(second.items.map((r) => r.name), ["vm2", "vm3"]);
  });

  it("emits subnets from inside their virtual networks, each in its network", async () => {
    const { resources } = await drain(
      byType(await provider.plan(target(), signal()), "network.virtual-network"),
    );
    assert.deepEqual(resources.map((r) => [r.type, r.name, r.region]), [
      ["network.virtual-network", "hub", "westeurope"],
      ["network.subnet", "default", "westeurope"],
      ["network.subnet", "aks", "westeurope"],
      ["network.virtual-network", "spoke", "eastus"],
      ["network.subnet", "apps", "eastus"],
    ]);
    const hub = resources[0];
    const aks = resources[2];
    assert.equal(
      hub?.externalId,
      `/subscriptions/${sub}/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/hub`,
    );
    assert.deepEqual(hub?.attributes.addressPrefixes, ["10.0.0.0/16"]);
    assert.equal(hub?.attributes.subnetCount, 2);
    assert.deepEqual(aks?.links, [{
      relation: "in",
      type: "network.virtual-network",
      externalId: hub?.externalId,
    }]);
    assert.equal(aks?.attributes.addressPrefix, "10.0.1.0/24");
    assert.equal(
      aks?.attributes.networkSecurityGroupId,
      `/subscriptions/${sub}/resourcegroups/rg-net/providers/microsoft.network/networksecuritygroups/aks-nsg`,
    );
  });

  it("links a managed cluster to the subnets of its pools and lists storage accounts", async () => {
    const sources = await provider.plan(target(), signal());
    const network = await drain(byType(sources, "network.virtual-network"));
    const { resources: clusters } = await drain(byType(sources, "containerservice.managed-cluster"));
    const { resources: accounts } = await drain(byType(sources, "storage.account"));
    assert.equal(clusters.length, 1);
    const [link] = clusters[0]?.links ?? [];
    assert.equal(link?.relation, "in");
    assert.equal(link?.type, "network.subnet");
    assert.ok(
      network.resources.some((r) => r.type === "network.subnet" && r.externalId === link?.externalId),
    );
    assert.equal(clusters[0]?.category, "compute");
    assert.equal(clusters[0]?.attributes.powerState, "Running");
    assert.equal(clusters[0]?.attributes.currentKubernetesVersion, "1.33.2");
    assert.deepEqual(clusters[0]?.attributes.agentPools, [
      {
        name: "pool0",
        mode: "System",
        count: 3,
        vmSize: "Standard_D4s_v5",
        osType: "Linux",
        vnetSubnetId: link?.externalId,
      },
    ]);
    assert.deepEqual(accounts.map((a) => [a.type, a.category, a.name, a.region]), [[
      "storage.account",
      "data",
      "logs01",
      "westeurope",
    ]]);
    assert.equal(accounts[0]?.attributes.sku, "Standard_LRS");
    assert.equal(accounts[0]?.attributes.kind, "StorageV2");
    assert.equal(accounts[0]?.attributes.httpsOnly, true);
  });

  it("with target.regions, plans one source per listing and region and keeps that region only", async () => {
    const sources = await provider.plan({ ...target(), regions: ["westeurope", "East US"] }, signal());
    assert.equal(sources.length, 8);
    const vmSources = sources.filter((s) => s.covers.types[0] === "compute.virtual-machine");
    assert.deepEqual(vmSources.map((s) => s.covers.region), ["westeurope", "eastus"]);
    const west = await drain(vmSources[0] as DiscoverySource);
    const east = await drain(vmSources[1] as DiscoverySource);
    assert.deepEqual(west.resources.map((r) => r.name), ["vm0", "vm1", "vm2"]);
    assert.deepEqual(east.resources.map((r) => r.name), ["vm3", "vm4"]);
    const spoke = await drain(
      sources.find((s) =>
        s.covers.types[0] === "network.virtual-network" && s.covers.region === "eastus"
      ) as DiscoverySource,
    );
    assert.deepEqual(spoke.resources.map((r) => r.name), ["spoke", "apps"]);
  });

  it("never puts the client secret or a token in results", async () => {
    const sources = await provider.plan(target(), signal());
    const all = await Promise.all(sources.map((s) => drain(s)));
    const text = JSON.stringify(all) + JSON.stringify(sources.map((s) => [s.name, s.covers]));
    assert.ok(!text.includes(standIn.app.clientSecret));
    for (const token of standIn.issuedTokens()) assert.ok(!text.includes(token));
  });
});
