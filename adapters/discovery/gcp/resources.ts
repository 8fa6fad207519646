/**
 * Maps GCP API objects to discovered resources. Pure. External ids are Compute
 * self links (canonical form https://www.googleapis.com/compute/v1/projects/…,
 * which links point at), bucket names and GKE cluster self links. Attributes are
 * picked field by field, so nothing secret (a cluster's `masterAuth`) is kept.
 *
 * @module
 */
import type { protos as computeProtos } from "@google-cloud/compute";
import type { protos as containerProtos } from "@google-cloud/container";
import type { DiscoveredResource, ResourceLink } from "../provider.ts";

type Instance = computeProtos.google.cloud.compute.v1.IInstance;
type Network = computeProtos.google.cloud.compute.v1.INetwork;
type Subnetwork = computeProtos.google.cloud.compute.v1.ISubnetwork;
type Cluster = containerProtos.google.container.v1.ICluster;

/** What a Storage `Bucket`'s `metadata` holds that is kept. */
export interface BucketMetadata {
  id?: string;
  name?: string;
  location?: string;
  locationType?: string;
  storageClass?: string;
  timeCreated?: string;
  projectNumber?: string | number;
  labels?: Record<string, string>;
  versioning?: { enabled?: boolean };
  iamConfiguration?: { uniformBucketLevelAccess?: { enabled?: boolean }; publicAccessPrevention?: string };
}

const COMPUTE_BASE = "https://www.googleapis.com/compute/v1/";

/**
 * The canonical self link of a Compute URL or relative name:
 * `https://compute.googleapis.com/compute/beta/projects/p/…` and `projects/p/…`
 * both become `https://www.googleapis.com/compute/v1/projects/p/…`.
 */
export function computeLink(url: string): string {
  const path = /\/compute\/(?:v1|beta|alpha)\/(projects\/.+)$/.exec(url)?.[1] ??
    (url.startsWith("projects/") ? url : undefined);
  return path ? `${COMPUTE_BASE}${path}` : url;
}

/** The last segment of a URL: `…/zones/us-central1-a` → `us-central1-a`. */
export function lastSegment(url: string | null | undefined): string | null {
  if (!url) return null;
  return url.split("/").pop() || null;
}

/** The region of a zone: `us-central1-a` → `us-central1`. */
export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, "");
}

function dedupe(links: ResourceLink[]): ResourceLink[] {
  const seen = new Set<string>();
  return links.filter((l) => {
    const key = `${l.relation} ${l.type} ${l.externalId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/** A Compute Engine instance: region = its zone; `in` its subnetworks and networks. */
export function instanceResource(instance: Instance): DiscoveredResource {
  const nics = instance.networkInterfaces ?? [];
  const links: ResourceLink[] = [];
  for (const nic of nics) {
    if (nic.subnetwork) {
      links.push({ relation: "in", type: "compute.subnetwork", externalId: computeLink(nic.subnetwork) });
    }
  }
  for (const nic of nics) {
    if (nic.network) {
      links.push({ relation: "in", type: "compute.network", externalId: computeLink(nic.network) });
    }
  }
  return {
    type: "compute.instance",
    category: "compute",
    externalId: computeLink(instance.selfLink ?? ""),
    name: str(instance.name),
    region: lastSegment(instance.zone),
    attributes: {
      id: str(instance.id),
      status: str(instance.status),
      machineType: lastSegment(instance.machineType),
      cpuPlatform: str(instance.cpuPlatform),
      creationTimestamp: str(instance.creationTimestamp),
      labels: instance.labels ?? {},
      tags: instance.tags?.items ?? [],
      internalIps: nics.map((n) => n.networkIP).filter(Boolean),
      externalIps: nics.flatMap((n) => (n.accessConfigs ?? []).map((a) => a.natIP)).filter(Boolean),
      serviceAccounts: (instance.serviceAccounts ?? []).map((s) => s.email).filter(Boolean),
      deletionProtection: instance.deletionProtection ?? false,
      canIpForward: instance.canIpForward ?? false,
    },
    links: dedupe(links),
  };
}

/** A VPC network (global). */
export function networkResource(network: Network): DiscoveredResource {
  return {
    type: "compute.network",
    category: "network",
    externalId: computeLink(network.selfLink ?? ""),
    name: str(network.name),
    region: null,
    attributes: {
      id: str(network.id),
      autoCreateSubnetworks: network.autoCreateSubnetworks ?? false,
      routingMode: str(network.routingConfig?.routingMode),
      mtu: network.mtu ?? null,
      subnetworkCount: network.subnetworks?.length ?? 0,
      creationTimestamp: str(network.creationTimestamp),
    },
    links: [],
  };
}

/** A subnetwork: region = its region; `in` its network. */
export function subnetworkResource(subnetwork: Subnetwork): DiscoveredResource {
  return {
    type: "compute.subnetwork",
    category: "network",
    externalId: computeLink(subnetwork.selfLink ?? ""),
    name: str(subnetwork.name),
    region: lastSegment(subnetwork.region),
    attributes: {
      id: str(subnetwork.id),
      ipCidrRange: str(subnetwork.ipCidrRange),
      gatewayAddress: str(subnetwork.gatewayAddress),
      purpose: str(subnetwork.purpose),
      stackType: str(subnetwork.stackType),
      privateIpGoogleAccess: subnetwork.privateIpGoogleAccess ?? false,
      creationTimestamp: str(subnetwork.creationTimestamp),
    },
    links: subnetwork.network
      ? [{ relation: "in", type: "compute.network", externalId: computeLink(subnetwork.network) }]
      : [],
  };
}

/** A Cloud Storage bucket: external id = name; region = location, lower-cased (`us-central1`, `us`, `nam4`). */
export function bucketResource(bucket: BucketMetadata): DiscoveredResource {
  return {
    type: "storage.bucket",
    category: "data",
    externalId: bucket.name ?? "",
    name: bucket.name ?? null,
    region: bucket.location ? bucket.location.toLowerCase() : null,
    attributes: {
      location: bucket.location ?? null,
      locationType: bucket.locationType ?? null,
      storageClass: bucket.storageClass ?? null,
      timeCreated: bucket.timeCreated ?? null,
      labels: bucket.labels ?? {},
      versioning: bucket.versioning?.enabled ?? false,
      uniformBucketLevelAccess: bucket.iamConfiguration?.uniformBucketLevelAccess?.enabled ?? false,
      publicAccessPrevention: bucket.iamConfiguration?.publicAccessPrevention ?? null,
    },
    links: [],
  };
}

/**
 * A GKE cluster, category `compute` (it runs workloads; its nodes are instances
 * too): region = its location (a region or, for a zonal cluster, a zone); `in`
 * its network and subnetwork.
 */
export function clusterResource(cluster: Cluster): DiscoveredResource {
  const links: ResourceLink[] = [];
  const network = cluster.networkConfig?.network;
  const subnetwork = cluster.networkConfig?.subnetwork;
  if (network) links.push({ relation: "in", type: "compute.network", externalId: computeLink(network) });
  if (subnetwork) {
    links.push({ relation: "in", type: "compute.subnetwork", externalId: computeLink(subnetwork) });
  }
  return {
    type: "container.cluster",
    category: "compute",
    externalId: cluster.selfLink ?? "",
    name: str(cluster.name),
    region: str(cluster.location),
    attributes: {
      id: str(cluster.id),
      status: cluster.status === undefined || cluster.status === null ? null : String(cluster.status),
      currentMasterVersion: str(cluster.currentMasterVersion),
      currentNodeVersion: str(cluster.currentNodeVersion),
      currentNodeCount: cluster.currentNodeCount ?? null,
      endpoint: str(cluster.endpoint),
      locations: cluster.locations ?? [],
      autopilot: cluster.autopilot?.enabled ?? false,
      labels: cluster.resourceLabels ?? {},
      createTime: str(cluster.createTime),
    },
    links,
  };
}
