/**
 * S3 buckets (data stores). ListBuckets is global: one listing covers every
 * region, or, when the target names regions, one listing per region filtered
 * with `BucketRegion`. Pages follow `ContinuationToken` with `MaxBuckets`. A
 * bucket's region is ListBuckets' `BucketRegion` (which S3 returns when the
 * request has a parameter, as `MaxBuckets` is), else GetBucketLocation's answer.
 *
 * @module
 */
import { type Bucket, GetBucketLocationCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import type { DiscoveredResource } from "../provider.ts";
import type { AccountAccess } from "./access.ts";
import { compact, iso, nextOf, pageSizeFor } from "./attributes.ts";
import type { ListingSpec } from "./source.ts";

/** GetBucketLocation's answer as a region: empty is us-east-1, `EU` is eu-west-1. */
export function regionOfLocation(location: string | undefined): string {
  if (!location) return "us-east-1";
  return location === "EU" ? "eu-west-1" : location;
}

/** A bucket as a resource; its id is the bucket name. */
export function bucketResource(b: Bucket, region: string): DiscoveredResource {
  return {
    type: "s3.bucket",
    category: "data",
    externalId: b.Name ?? "",
    name: b.Name ?? null,
    region,
    attributes: compact({ createdAt: iso(b.CreationDate) }),
    links: [],
  };
}

async function regionOf(access: AccountAccess, bucket: Bucket, signal: AbortSignal): Promise<string> {
  if (bucket.BucketRegion) return bucket.BucketRegion;
  const out = await access.clients.s3().send(new GetBucketLocationCommand({ Bucket: bucket.Name }), {
    abortSignal: signal,
  });
  return regionOfLocation(out.LocationConstraint);
}

/** The bucket listing: of every region (`region` null), or of one region. */
export function s3Listing(region: string | null, pageSize: number | undefined): ListingSpec {
  const MaxBuckets = pageSizeFor(pageSize, 1, 10_000);
  return {
    type: "s3.bucket",
    operation: "S3 ListBuckets",
    region,
    async list(access, token, signal) {
      const out = await access.clients.s3().send(
        new ListBucketsCommand({
          MaxBuckets,
          ...(token ? { ContinuationToken: token } : {}),
          ...(region ? { BucketRegion: region } : {}),
        }),
        { abortSignal: signal },
      );
      const resources: DiscoveredResource[] = [];
      for (const bucket of out.Buckets ?? []) {
        resources.push(bucketResource(bucket, await regionOf(access, bucket, signal)));
      }
      return { items: resources, ...nextOf(out.ContinuationToken) };
    },
  };
}
