/**
 * Which sources one sync of a project reads.
 *
 * No `regions`: one source per type, aggregated over the project (`covers.region`
 * null): instances, networks, subnetworks, buckets, clusters (`locations/-`).
 *
 * With `regions`, each source covers exactly what it lists, so a sync never
 * marks resources outside the filter deleted: the project's zones are listed
 * first, then per region `r`: subnetworks of `r`, buckets located in `r`,
 * clusters located in `r`, and per zone `z` of `r`: instances of `z` and
 * clusters located in `z` (instances and zonal clusters carry their zone as
 * region). Networks are global and always listed. Multi-region bucket
 * locations (`us`, `eu`, `nam4`) are kept when named in `regions` like a region.
 *
 * @module
 */
import type { DiscoverySource } from "../provider.ts";
import {
  aggregatedInstances,
  aggregatedSubnetworks,
  buckets,
  clusters,
  listZones,
  networks,
  regionSubnetworks,
  type SourceContext,
  zoneInstances,
} from "./sources.ts";

/** The sources of a project, filtered to `regions` when given. */
export async function planSources(
  ctx: SourceContext,
  regions: string[] | undefined,
  signal: AbortSignal,
): Promise<DiscoverySource[]> {
  if (!regions || regions.length === 0) {
    return [aggregatedInstances(ctx), networks(ctx), aggregatedSubnetworks(ctx), buckets(ctx), clusters(ctx)];
  }
  const wanted = [...new Set(regions.map((r) => r.toLowerCase()))];
  const zones = await listZones(ctx, signal);
  const sources: DiscoverySource[] = [networks(ctx)];
  for (const region of wanted) {
    const zonesOf = [...zones].filter(([, r]) => r === region).map(([z]) => z).sort();
    sources.push(regionSubnetworks(ctx, region), buckets(ctx, region), clusters(ctx, region));
    for (const zone of zonesOf) sources.push(zoneInstances(ctx, zone), clusters(ctx, zone));
  }
  return sources;
}
