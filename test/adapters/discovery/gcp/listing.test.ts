/**
 * The GCP provider against the REST stand-in: every resource over several
 * pages, the links between them, one HTTP request per page carrying the page
 * size and token, the bearer token the stand-in issued for a verified RS256
 * assertion, and sources filtered by region.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createGcpDiscoveryProvider } from "../../../../adapters/discovery/gcp/mod.ts";
import type { DiscoveredResource, DiscoveryProvider } from "../../../../adapters/discovery/provider.ts";
import { assertNoSecrets, drain, PROJECT, sampleModel, serviceAccount } from "./fixture.ts";
import { type GcpStandIn, GOOGLE_TOKEN_URL, startGcpStandIn } from "./stand-in.ts";

const COMPUTE = `https://www.googleapis.com/compute/v1/projects/${PROJECT}`;

describe("GCP discovery: listing", () => {
  let gcp: GcpStandIn;
  let account: ReturnType<typeof serviceAccount>;
  let provider: DiscoveryProvider;
  const signal = new AbortController().signal;

  before(async () => {
    gcp = await startGcpStandIn(sampleModel());
    account = serviceAccount(gcp.tokenUrl);
    gcp.trustKey(account.key.client_email, account.publicKey);
  });
  after(async () => {
    await provider?.close?.();
    await gcp.close();
  });
  beforeEach(async () => {
    await provider?.close?.();
    provider = createGcpDiscoveryProvider({ apiEndpoint: gcp.url, pageSize: 2 });
    gcp.requests.length = 0;
    gcp.issued.length = 0;
  });

  const target = (regions?: string[]) => ({
    scope: PROJECT,
    org: null,
    credentials: account.key,
    ...(regions ? { regions } : {}),
  });

  it("plans one aggregated source per type and lists everything over several pages, with links", async () => {
    const sources = await provider.plan(target(), signal);
    assert.deepEqual(sources.map((s) => [s.name, s.covers]), [
      [`compute.instance ${PROJECT}`, { types: ["compute.instance"], region: null }],
      [`compute.network ${PROJECT}`, { types: ["compute.network"], region: null }],
      [`compute.subnetwork ${PROJECT}`, { types: ["compute.subnetwork"], region: null }],
      [`storage.bucket ${PROJECT}`, { types: ["storage.bucket"], region: null }],
      [`container.cluster ${PROJECT}`, { types: ["container.cluster"], region: null }],
    ]);
    assert.equal(gcp.requests.length, 0, "planning without regions calls nothing");

    const [instances, networks, subnetworks, buckets, clusters] = await Promise.all(
      sources.map((s) => drain(s)),
    );

    // Instances: 7 over 4 pages of 2, zone as region, links to their subnetwork and network.
    assert.equal(instances!.tokens.length, 4);
    assert.equal(instances!.resources.length, 7);
    const web1 = instances!.resources.find((r) => r.name === "web-1")!;
    assert.deepEqual(web1, {
      type: "compute.instance",
      category: "compute",
      externalId: `${COMPUTE}/zones/us-central1-a/instances/web-1`,
      name: "web-1",
      region: "us-central1-a",
      attributes: {
        id: gcp.model.instances.find((i) => i.name === "web-1")!.id,
        status: "RUNNING",
        machineType: "e2-medium",
        cpuPlatform: "Intel Broadwell",
        creationTimestamp: "2024-02-03T04:05:06.000-07:00",
        labels: { app: "web" },
        tags: ["web"],
        internalIps: ["10.0.0.2"],
        externalIps: ["34.0.0.1"],
        serviceAccounts: [],
        deletionProtection: false,
        canIpForward: false,
      },
      links: [
        {
          relation: "in",
          type: "compute.subnetwork",
          externalId: `${COMPUTE}/regions/us-central1/subnetworks/prod-app`,
        },
        { relation: "in", type: "compute.network", externalId: `${COMPUTE}/global/networks/prod` },
      ],
    });
    assert.deepEqual(
      instances!.resources.map((r) => `${r.name} ${r.region} ${r.attributes.status}`).sort(),
      [
        "bastion us-central1-b RUNNING",
        "batch-1 europe-west1-b TERMINATED",
        "db-1 europe-west1-b STOPPED",
        "db-2 europe-west1-b RUNNING",
        "web-1 us-central1-a RUNNING",
        "web-2 us-central1-b RUNNING",
        "worker-1 us-central1-a RUNNING",
      ],
    );

    // Networks (2 pages), subnetworks (3 pages) and the links between them.
    assert.deepEqual(networks!.resources.map((r) => [r.name, r.region, r.category]), [
      ["default", null, "network"],
      ["prod", null, "network"],
      ["dev", null, "network"],
    ]);
    assert.equal(networks!.tokens.length, 2);
    assert.equal(subnetworks!.tokens.length, 3);
    assert.deepEqual(
      subnetworks!.resources.map((r) =>
        `${r.region}/${r.name} ${r.attributes.ipCidrRange} in ${r.links![0]!.externalId}`
      ).sort(),
      [
        `asia-east1/dev 10.30.0.0/24 in ${COMPUTE}/global/networks/dev`,
        `europe-west1/default 10.132.0.0/20 in ${COMPUTE}/global/networks/default`,
        `europe-west1/prod-db 10.20.0.0/24 in ${COMPUTE}/global/networks/prod`,
        `us-central1/default 10.128.0.0/20 in ${COMPUTE}/global/networks/default`,
        `us-central1/prod-app 10.10.0.0/24 in ${COMPUTE}/global/networks/prod`,
      ],
    );

    // Every link points at a resource this sync found.
    const all: DiscoveredResource[] = [instances, networks, subnetworks, buckets, clusters]
      .flatMap((s) => s!.resources);
    const ids = new Set(all.map((r) => `${r.type} ${r.externalId}`));
    assert.equal(ids.size, all.length, "external ids are unique per type");
    const links = all.flatMap((r) => r.links ?? []);
    assert.equal(links.length, 7 * 2 + 5 + 3 * 2);
    for (const link of links) {
      assert.ok(ids.has(`${link.type} ${link.externalId}`), `dangling link ${link.externalId}`);
    }

    // Buckets (3 pages): region is the location, lower-cased.
    assert.equal(buckets!.tokens.length, 3);
    assert.deepEqual(
      buckets!.resources.map((r) => [r.externalId, r.region, r.category, r.attributes.locationType]),
      [
        ["acme-assets", "us", "data", "multi-region"],
        ["acme-backups", "europe-west1", "data", "region"],
        ["acme-eu-archive", "eu", "data", "multi-region"],
        ["acme-logs", "us-central1", "data", "region"],
        ["acme-tmp", "us-central1", "data", "region"],
      ],
    );

    // Clusters: one page (GKE does not page); status arrived as an int enum.
    assert.equal(clusters!.tokens.length, 1);
    const prodGke = clusters!.resources.find((r) => r.name === "prod-gke")!;
    assert.equal(
      prodGke.externalId,
      `https://container.googleapis.com/v1/projects/${PROJECT}/locations/us-central1/clusters/prod-gke`,
    );
    assert.equal(prodGke.category, "compute");
    assert.equal(prodGke.region, "us-central1");
    assert.equal(prodGke.attributes.status, "RUNNING");
    assert.equal(prodGke.attributes.currentMasterVersion, "1.30.5-gke.1");
    assert.deepEqual(prodGke.links, [
      { relation: "in", type: "compute.network", externalId: `${COMPUTE}/global/networks/prod` },
      {
        relation: "in",
        type: "compute.subnetwork",
        externalId: `${COMPUTE}/regions/us-central1/subnetworks/prod-app`,
      },
    ]);
    assert.equal(clusters!.resources.find((r) => r.name === "edge-gke")!.region, "us-central1-a");
    assert.equal(gcp.requestsOf("clusters.list")[0]!.path, `/v1/projects/${PROJECT}/locations/-/clusters`);

    assertNoSecrets(JSON.stringify(all), account.key, gcp);
  });

  it("makes one request per page with the page size and the previous page's token, under one issued token", async () => {
    const [instances] = await provider.plan(target(), signal);
    const { tokens } = await drain(instances!);
    const seen = gcp.requestsOf("instances.aggregated");
    assert.equal(seen.length, tokens.length, "one HTTP request per fetchPage");
    assert.deepEqual(
      seen.map((r) => r.path),
      tokens.map(() => `/compute/v1/projects/${PROJECT}/aggregated/instances`),
    );
    assert.deepEqual(seen.map((r) => r.query.maxResults), ["2", "2", "2", "2"]);
    assert.deepEqual(seen.map((r) => r.query.pageToken), tokens);

    const exchanges = gcp.requestsOf("token");
    assert.equal(exchanges.length, 1, "one token exchange");
    assert.deepEqual(exchanges[0]!.assertion, {
      iss: account.key.client_email,
      aud: GOOGLE_TOKEN_URL,
      scope: "https://www.googleapis.com/auth/cloud-platform",
      signatureValid: true,
    });
    assert.equal(gcp.issued.length, 1);
    for (const request of seen) assert.equal(request.authorization, `Bearer ${gcp.issued[0]}`);

    // Storage and GKE use the same token.
    const sources = await provider.plan(target(), signal);
    await drain(sources[3]!);
    await drain(sources[4]!);
    assert.equal(gcp.requestsOf("token").length, 1, "the token is reused across plans and clients");
    for (const request of [...gcp.requestsOf("buckets.list"), ...gcp.requestsOf("clusters.list")]) {
      assert.equal(request.authorization, `Bearer ${gcp.issued[0]}`);
    }
    assert.deepEqual(gcp.requestsOf("buckets.list").map((r) => [r.query.project, r.query.maxResults]), [
      [PROJECT, "2"],
      [PROJECT, "2"],
      [PROJECT, "2"],
    ]);
  });

  it("with regions, lists zones first and plans sources that cover exactly one region or zone each", async () => {
    const sources = await provider.plan(target(["us-central1", "asia-east1"]), signal);
    assert.deepEqual(
      gcp.requests.map((r) => r.route),
      ["token", "zones.list", "zones.list"],
      "zones over 2 pages",
    );
    assert.deepEqual(sources.map((s) => [s.name, s.covers.types[0], s.covers.region]), [
      [`compute.network ${PROJECT}`, "compute.network", null],
      ["compute.subnetwork us-central1", "compute.subnetwork", "us-central1"],
      ["storage.bucket us-central1", "storage.bucket", "us-central1"],
      ["container.cluster us-central1", "container.cluster", "us-central1"],
      ["compute.instance us-central1-a", "compute.instance", "us-central1-a"],
      ["container.cluster us-central1-a", "container.cluster", "us-central1-a"],
      ["compute.instance us-central1-b", "compute.instance", "us-central1-b"],
      ["container.cluster us-central1-b", "container.cluster", "us-central1-b"],
      ["compute.subnetwork asia-east1", "compute.subnetwork", "asia-east1"],
      ["storage.bucket asia-east1", "storage.bucket", "asia-east1"],
      ["container.cluster asia-east1", "container.cluster", "asia-east1"],
      ["compute.instance asia-east1-a", "compute.instance", "asia-east1-a"],
      ["container.cluster asia-east1-a", "container.cluster", "asia-east1-a"],
    ]);
    const found = new Map<string, string[]>();
    for (const source of sources) {
      const { resources } = await drain(source);
      for (const r of resources) {
        assert.equal(r.region, source.covers.region, `${r.name} outside ${source.name}`);
      }
      found.set(source.name, resources.map((r) => r.name!).sort());
    }
    assert.deepEqual(found.get("compute.instance us-central1-a"), ["web-1", "worker-1"]);
    assert.deepEqual(found.get("compute.instance us-central1-b"), ["bastion", "web-2"]);
    assert.deepEqual(found.get("compute.instance asia-east1-a"), []);
    assert.deepEqual(found.get("compute.subnetwork us-central1"), ["default", "prod-app"]);
    assert.deepEqual(found.get("compute.subnetwork asia-east1"), ["dev"]);
    assert.deepEqual(found.get("storage.bucket us-central1"), ["acme-logs", "acme-tmp"]);
    assert.deepEqual(found.get("storage.bucket asia-east1"), []);
    assert.deepEqual(found.get("container.cluster us-central1"), ["prod-gke"]);
    assert.deepEqual(found.get("container.cluster us-central1-a"), ["edge-gke"]);
    assert.deepEqual(found.get(`compute.network ${PROJECT}`), ["default", "dev", "prod"]);
    assert.deepEqual(
      gcp.requestsOf("instances.list").map((r) => r.path),
      [
        `/compute/v1/projects/${PROJECT}/zones/us-central1-a/instances`,
        `/compute/v1/projects/${PROJECT}/zones/us-central1-b/instances`,
        `/compute/v1/projects/${PROJECT}/zones/asia-east1-a/instances`,
      ],
    );
    assert.equal(gcp.requestsOf("instances.aggregated").length, 0);
    assert.equal(
      gcp.requestsOf("clusters.list")[0]!.path,
      `/v1/projects/${PROJECT}/locations/us-central1/clusters`,
    );
  });
});
