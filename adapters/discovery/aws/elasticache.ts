/**
 * ElastiCache cache clusters of one region (data stores), linked `secured-by`
 * their VPC security groups. Pages follow `Marker` with `MaxRecords` (20 to 100).
 *
 * @module
 */
import { type CacheCluster, DescribeCacheClustersCommand } from "@aws-sdk/client-elasticache";
import type { DiscoveredResource } from "../provider.ts";
import { compact, iso, linkTo, nextOf, pageSizeFor } from "./attributes.ts";
import type { ListingSpec } from "./source.ts";

/** A cache cluster as a resource; its id is the cache cluster id. */
export function cacheClusterResource(c: CacheCluster, region: string): DiscoveredResource {
  return {
    type: "elasticache.cluster",
    category: "data",
    externalId: c.CacheClusterId ?? "",
    name: c.CacheClusterId ?? null,
    region,
    attributes: compact({
      arn: c.ARN,
      status: c.CacheClusterStatus,
      engine: c.Engine,
      engineVersion: c.EngineVersion,
      nodeType: c.CacheNodeType,
      nodes: c.NumCacheNodes,
      replicationGroupId: c.ReplicationGroupId,
      subnetGroup: c.CacheSubnetGroupName,
      availabilityZone: c.PreferredAvailabilityZone,
      createdAt: iso(c.CacheClusterCreateTime),
    }),
    links: (c.SecurityGroups ?? []).flatMap((g) =>
      linkTo("secured-by", "ec2.security-group", g.SecurityGroupId)
    ),
  };
}

/** The ElastiCache listing of `region`. */
export function elastiCacheListing(region: string, pageSize: number | undefined): ListingSpec {
  const MaxRecords = pageSizeFor(pageSize, 20, 100);
  return {
    type: "elasticache.cluster",
    operation: "ElastiCache DescribeCacheClusters",
    region,
    async list(access, token, signal) {
      const out = await access.clients.elasticache(region).send(
        new DescribeCacheClustersCommand({ MaxRecords, ...(token ? { Marker: token } : {}) }),
        { abortSignal: signal },
      );
      const clusters = out.CacheClusters ?? [];
      return { items: clusters.map((c) => cacheClusterResource(c, region)), ...nextOf(out.Marker) };
    },
  };
}
