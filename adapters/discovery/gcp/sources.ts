/**
 * The sources of a GCP project. Each `fetchPage` makes exactly one HTTP request
 * (gax calls with `autoPaginate: false`, Storage's `getBuckets` with
 * `autoPaginate: false`) from an explicit page token.
 *
 * Aggregated Compute lists go through the client's `innerApiCalls.aggregatedList`:
 * the generated clients only expose them as `aggregatedListAsync`, an iterator
 * that hides the page token and may fetch several pages for one `next()`.
 *
 * @module
 */
import type { protos as computeProtos } from "@google-cloud/compute";
import { TransientError } from "../../../machines/errors.ts";
import type { DiscoveredResource, DiscoveryPage, DiscoverySource } from "../provider.ts";
import type { TargetAuth } from "./auth.ts";
import { gaxOptions, providerCall } from "./call.ts";
import type { GcpClients } from "./clients.ts";
import {
  type BucketMetadata,
  bucketResource,
  clusterResource,
  instanceResource,
  lastSegment,
  networkResource,
  subnetworkResource,
} from "./resources.ts";

type Compute = typeof computeProtos.google.cloud.compute.v1;
type AggregatedInstances = computeProtos.google.cloud.compute.v1.IInstanceAggregatedList;
type AggregatedSubnetworks = computeProtos.google.cloud.compute.v1.ISubnetworkAggregatedList;

/** What every source of a target shares. */
export interface SourceContext {
  project: string;
  clients: GcpClients;
  auth: TargetAuth;
  /** Most items per page (Compute allows 500, Storage 1000). */
  pageSize: number;
  timeoutMs: number;
}

const computePageSize = (ctx: SourceContext) => Math.min(ctx.pageSize, 500);
const pageOf = (resources: DiscoveredResource[], next: string | null | undefined): DiscoveryPage =>
  next ? { items: resources, next } : { items: resources };

function partial(operation: string, unreachables: string[] | null | undefined): void {
  if (unreachables && unreachables.length > 0) {
    throw new TransientError(
      `GCP ${operation}: listing incomplete, unreachable: ${unreachables.join(", ")}`,
      {
        code: "GCP_UNREACHABLE",
      },
    );
  }
}

/** Every instance of the project (one aggregated list over all zones). */
export function aggregatedInstances(ctx: SourceContext): DiscoverySource {
  const operation = `compute.instances.aggregatedList project ${ctx.project}`;
  return {
    name: `compute.instance ${ctx.project}`,
    covers: { types: ["compute.instance"], region: null },
    async fetchPage(token, signal) {
      const [items, , raw] = await providerCall(ctx.auth, operation, signal, async () => {
        await ctx.clients.instances.initialize();
        const request: Parameters<Compute["AggregatedListInstancesRequest"]["create"]>[0] = {
          project: ctx.project,
          maxResults: computePageSize(ctx),
          ...(token ? { pageToken: token } : {}),
        };
        return await ctx.clients.instances.innerApiCalls.aggregatedList!(
          request,
          gaxOptions(ctx.timeoutMs),
        ) as [
          AggregatedInstances["items"],
          unknown,
          AggregatedInstances,
        ];
      });
      partial(operation, raw?.unreachables);
      const resources = Object.values(items ?? {}).flatMap((scoped) =>
        (scoped.instances ?? []).map(instanceResource)
      );
      return pageOf(resources, raw?.nextPageToken);
    },
  };
}

/** The instances of one zone (when the target names regions). */
export function zoneInstances(ctx: SourceContext, zone: string): DiscoverySource {
  const operation = `compute.instances.list project ${ctx.project} zone ${zone}`;
  return {
    name: `compute.instance ${zone}`,
    covers: { types: ["compute.instance"], region: zone },
    async fetchPage(token, signal) {
      const [instances, , raw] = await providerCall(
        ctx.auth,
        operation,
        signal,
        () =>
          ctx.clients.instances.list(
            {
              project: ctx.project,
              zone,
              maxResults: computePageSize(ctx),
              ...(token ? { pageToken: token } : {}),
            },
            gaxOptions(ctx.timeoutMs),
          ),
      );
      return pageOf(instances.map(instanceResource), raw?.nextPageToken);
    },
  };
}

/** Every VPC network (global). */
export function networks(ctx: SourceContext): DiscoverySource {
  const operation = `compute.networks.list project ${ctx.project}`;
  return {
    name: `compute.network ${ctx.project}`,
    covers: { types: ["compute.network"], region: null },
    async fetchPage(token, signal) {
      const [found, , raw] = await providerCall(ctx.auth, operation, signal, () =>
        ctx.clients.networks.list(
          { project: ctx.project, maxResults: computePageSize(ctx), ...(token ? { pageToken: token } : {}) },
          gaxOptions(ctx.timeoutMs),
        ));
      return pageOf(found.map(networkResource), raw?.nextPageToken);
    },
  };
}

/** Every subnetwork of the project (one aggregated list over all regions). */
export function aggregatedSubnetworks(ctx: SourceContext): DiscoverySource {
  const operation = `compute.subnetworks.aggregatedList project ${ctx.project}`;
  return {
    name: `compute.subnetwork ${ctx.project}`,
    covers: { types: ["compute.subnetwork"], region: null },
    async fetchPage(token, signal) {
      const [items, , raw] = await providerCall(ctx.auth, operation, signal, async () => {
        await ctx.clients.subnetworks.initialize();
        const request: Parameters<Compute["AggregatedListSubnetworksRequest"]["create"]>[0] = {
          project: ctx.project,
          maxResults: computePageSize(ctx),
          ...(token ? { pageToken: token } : {}),
        };
        return await ctx.clients.subnetworks.innerApiCalls.aggregatedList!(
          request,
          gaxOptions(ctx.timeoutMs),
        ) as [
          AggregatedSubnetworks["items"],
          unknown,
          AggregatedSubnetworks,
        ];
      });
      partial(operation, raw?.unreachables);
      const resources = Object.values(items ?? {}).flatMap((scoped) =>
        (scoped.subnetworks ?? []).map(subnetworkResource)
      );
      return pageOf(resources, raw?.nextPageToken);
    },
  };
}

/** The subnetworks of one region (when the target names regions). */
export function regionSubnetworks(ctx: SourceContext, region: string): DiscoverySource {
  const operation = `compute.subnetworks.list project ${ctx.project} region ${region}`;
  return {
    name: `compute.subnetwork ${region}`,
    covers: { types: ["compute.subnetwork"], region },
    async fetchPage(token, signal) {
      const [found, , raw] = await providerCall(
        ctx.auth,
        operation,
        signal,
        () =>
          ctx.clients.subnetworks.list(
            {
              project: ctx.project,
              region,
              maxResults: computePageSize(ctx),
              ...(token ? { pageToken: token } : {}),
            },
            gaxOptions(ctx.timeoutMs),
          ),
      );
      return pageOf(found.map(subnetworkResource), raw?.nextPageToken);
    },
  };
}

/**
 * Cloud Storage buckets: all of them (`location` unset), or those of one
 * location (`us-central1`, `us`, `nam4`), read from the same listing — the API
 * cannot filter by location.
 */
export function buckets(ctx: SourceContext, location?: string): DiscoverySource {
  const operation = `storage.buckets.list project ${ctx.project}`;
  return {
    name: `storage.bucket ${location ?? ctx.project}`,
    covers: { types: ["storage.bucket"], region: location ?? null },
    async fetchPage(token, signal) {
      const [found, next] = await providerCall(
        ctx.auth,
        operation,
        signal,
        () =>
          ctx.clients.storage.getBuckets({
            autoPaginate: false,
            maxResults: Math.min(ctx.pageSize, 1000),
            ...(token ? { pageToken: token } : {}),
          }),
      );
      const resources = found.map((bucket) => bucketResource(bucket.metadata as BucketMetadata))
        .filter((r) => location === undefined || r.region === location);
      return pageOf(resources, (next as { pageToken?: string } | null)?.pageToken);
    },
  };
}

/**
 * GKE clusters of a location (`-`: every location; one page, GKE does not
 * page). A listing with `missingZones` is incomplete, so it fails (transient).
 */
export function clusters(ctx: SourceContext, location = "-"): DiscoverySource {
  const parent = `projects/${ctx.project}/locations/${location}`;
  const operation = `container.clusters.list ${parent}`;
  return {
    name: `container.cluster ${location === "-" ? ctx.project : location}`,
    covers: { types: ["container.cluster"], region: location === "-" ? null : location },
    async fetchPage(_token, signal) {
      const [response] = await providerCall(
        ctx.auth,
        operation,
        signal,
        () => ctx.clients.clusters.listClusters({ parent }, gaxOptions(ctx.timeoutMs)),
      );
      partial(operation, response.missingZones);
      const resources = (response.clusters ?? []).map(clusterResource)
        .filter((r) => location === "-" || r.region === location);
      return { items: resources };
    },
  };
}

/** Every zone of the project and its region (`us-central1-a` → `us-central1`), every page read. */
export async function listZones(ctx: SourceContext, signal: AbortSignal): Promise<Map<string, string>> {
  const zones = new Map<string, string>();
  let token: string | undefined;
  do {
    const [found, , raw] = await providerCall(
      ctx.auth,
      `compute.zones.list project ${ctx.project}`,
      signal,
      () =>
        ctx.clients.zones.list(
          { project: ctx.project, maxResults: computePageSize(ctx), ...(token ? { pageToken: token } : {}) },
          gaxOptions(ctx.timeoutMs),
        ),
    );
    for (const zone of found) {
      const region = lastSegment(zone.region);
      if (zone.name && region) zones.set(zone.name, region);
    }
    token = raw?.nextPageToken || undefined;
  } while (token);
  return zones;
}
