/**
 * The stand-in's project: zones, instances, networks, subnetworks, buckets and
 * GKE clusters kept in Google's REST JSON shape (camelCase fields, `kind`,
 * `selfLink`s under https://www.googleapis.com/compute/v1/), with builders
 * that fill in the usual fields.
 */

const COMPUTE = "https://www.googleapis.com/compute/v1";
type Json = Record<string, unknown>;

/** One project's resources, as the APIs return them. */
export class StandInModel {
  readonly zones = new Map<string, string>();
  readonly instances: Json[] = [];
  readonly networks: Json[] = [];
  readonly subnetworks: Json[] = [];
  readonly buckets: Json[] = [];
  readonly clusters: Json[] = [];
  /** GKE's `missingZones`: zones whose clusters could not be listed. */
  missingZones: string[] = [];
  readonly project: string;
  #id = 1000;

  constructor(project: string) {
    this.project = project;
  }

  #nextId(): string {
    return String(this.#id++ * 7919);
  }

  /** A compute URL of this project: `zones/us-central1-a` → its selfLink. */
  link(path: string): string {
    return `${COMPUTE}/projects/${this.project}/${path}`;
  }

  /** Declares a zone of a region (zones list, aggregated scopes). */
  addZone(zone: string, region: string): this {
    this.zones.set(zone, region);
    return this;
  }

  addNetwork(name: string): Json {
    const network = {
      kind: "compute#network",
      id: this.#nextId(),
      creationTimestamp: "2024-01-02T03:04:05.000-07:00",
      name,
      selfLink: this.link(`global/networks/${name}`),
      selfLinkWithId: "",
      autoCreateSubnetworks: false,
      subnetworks: [] as string[],
      routingConfig: { routingMode: "REGIONAL" },
      mtu: 1460,
      networkFirewallPolicyEnforcementOrder: "AFTER_CLASSIC_FIREWALL",
    };
    this.networks.push(network);
    return network;
  }

  addSubnetwork(name: string, region: string, network: string, ipCidrRange: string): Json {
    const selfLink = this.link(`regions/${region}/subnetworks/${name}`);
    const subnetwork = {
      kind: "compute#subnetwork",
      id: this.#nextId(),
      creationTimestamp: "2024-01-02T03:04:05.000-07:00",
      name,
      network: this.link(`global/networks/${network}`),
      ipCidrRange,
      gatewayAddress: ipCidrRange.replace(/\.0\/\d+$/, ".1"),
      region: this.link(`regions/${region}`),
      selfLink,
      privateIpGoogleAccess: true,
      fingerprint: "abc=",
      purpose: "PRIVATE",
      stackType: "IPV4_ONLY",
    };
    this.subnetworks.push(subnetwork);
    const parent = this.networks.find((n) => n.name === network);
    if (parent) (parent.subnetworks as string[]).push(selfLink);
    return subnetwork;
  }

  addInstance(
    name: string,
    zone: string,
    subnetwork: string,
    options: { status?: string; labels?: Record<string, string>; natIP?: string } = {},
  ): Json {
    const region = this.zones.get(zone) ?? zone.replace(/-[a-z]$/, "");
    const subnet = this.subnetworks.find((s) =>
      s.name === subnetwork && String(s.region).endsWith(`/${region}`)
    );
    const instance = {
      kind: "compute#instance",
      id: this.#nextId(),
      creationTimestamp: "2024-02-03T04:05:06.000-07:00",
      name,
      tags: { items: ["web"], fingerprint: "x=" },
      machineType: this.link(`zones/${zone}/machineTypes/e2-medium`),
      status: options.status ?? "RUNNING",
      zone: this.link(`zones/${zone}`),
      canIpForward: false,
      networkInterfaces: [{
        kind: "compute#networkInterface",
        network: subnet?.network ?? this.link("global/networks/default"),
        subnetwork: subnet?.selfLink ?? this.link(`regions/${region}/subnetworks/${subnetwork}`),
        networkIP: `10.0.0.${this.instances.length + 2}`,
        name: "nic0",
        accessConfigs: options.natIP
          ? [{
            kind: "compute#accessConfig",
            type: "ONE_TO_ONE_NAT",
            name: "External NAT",
            natIP: options.natIP,
          }]
          : [],
        fingerprint: "y=",
        stackType: "IPV4_ONLY",
      }],
      disks: [{
        kind: "compute#attachedDisk",
        type: "PERSISTENT",
        mode: "READ_WRITE",
        boot: true,
        deviceName: name,
      }],
      selfLink: this.link(`zones/${zone}/instances/${name}`),
      labels: options.labels ?? {},
      labelFingerprint: "z=",
      deletionProtection: false,
      cpuPlatform: "Intel Broadwell",
    };
    this.instances.push(instance);
    return instance;
  }

  addBucket(name: string, location: string, options: { locationType?: string } = {}): Json {
    const bucket = {
      kind: "storage#bucket",
      selfLink: `https://www.googleapis.com/storage/v1/b/${name}`,
      id: name,
      name,
      projectNumber: "123456789012",
      generation: "1700000000000000",
      metageneration: "1",
      location,
      storageClass: "STANDARD",
      etag: "CAE=",
      timeCreated: "2024-03-04T05:06:07.000Z",
      updated: "2024-03-04T05:06:07.000Z",
      locationType: options.locationType ?? (/\d$/.test(location) ? "region" : "multi-region"),
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
      labels: { team: "data" },
      versioning: { enabled: false },
      rpo: "DEFAULT",
    };
    this.buckets.push(bucket);
    return bucket;
  }

  addCluster(name: string, location: string, network: string, subnetwork: string): Json {
    const region = this.zones.get(location) ?? location;
    const cluster = {
      name,
      nodeConfig: { machineType: "e2-medium", diskSizeGb: 100 },
      network,
      subnetwork,
      networkConfig: {
        network: `projects/${this.project}/global/networks/${network}`,
        subnetwork: `projects/${this.project}/regions/${region}/subnetworks/${subnetwork}`,
      },
      endpoint: "34.1.2.3",
      initialClusterVersion: "1.30.5-gke.1",
      currentMasterVersion: "1.30.5-gke.1",
      currentNodeVersion: "1.30.5-gke.1",
      createTime: "2024-04-05T06:07:08+00:00",
      status: "RUNNING",
      selfLink:
        `https://container.googleapis.com/v1/projects/${this.project}/locations/${location}/clusters/${name}`,
      zone: location,
      location,
      locations: this.zones.has(location)
        ? [location]
        : [...this.zones].filter(([, r]) => r === location).map(([z]) => z),
      currentNodeCount: 3,
      id: `c${this.#nextId()}`,
      resourceLabels: { env: "prod" },
      autopilot: { enabled: false },
    };
    this.clusters.push(cluster);
    return cluster;
  }
}
