/**
 * RDS DB instances of one region (data stores), linked `in` their VPC (through
 * the DB subnet group) and `secured-by` their VPC security groups. Pages follow
 * `Marker` with `MaxRecords` (20 to 100).
 *
 * @module
 */
import { type DBInstance, DescribeDBInstancesCommand } from "@aws-sdk/client-rds";
import type { DiscoveredResource } from "../provider.ts";
import { compact, iso, linkTo, nextOf, pageSizeFor, tagsOf } from "./attributes.ts";
import type { ListingSpec } from "./source.ts";

/** A DB instance as a resource; its id is the ARN (the identifier when AWS gives no ARN). */
export function dbInstanceResource(db: DBInstance, region: string): DiscoveredResource {
  return {
    type: "rds.db-instance",
    category: "data",
    externalId: db.DBInstanceArn ?? db.DBInstanceIdentifier ?? "",
    name: db.DBInstanceIdentifier ?? null,
    region,
    attributes: compact({
      identifier: db.DBInstanceIdentifier,
      status: db.DBInstanceStatus,
      engine: db.Engine,
      engineVersion: db.EngineVersion,
      instanceClass: db.DBInstanceClass,
      endpoint: db.Endpoint?.Address,
      port: db.Endpoint?.Port,
      allocatedStorageGiB: db.AllocatedStorage,
      multiAZ: db.MultiAZ,
      storageEncrypted: db.StorageEncrypted,
      publiclyAccessible: db.PubliclyAccessible,
      availabilityZone: db.AvailabilityZone,
      createdAt: iso(db.InstanceCreateTime),
      tags: tagsOf(db.TagList),
    }),
    links: [
      ...linkTo("in", "ec2.vpc", db.DBSubnetGroup?.VpcId),
      ...(db.VpcSecurityGroups ?? []).flatMap((g) =>
        linkTo("secured-by", "ec2.security-group", g.VpcSecurityGroupId)
      ),
    ],
  };
}

/** The RDS listing of `region`. */
export function rdsListing(region: string, pageSize: number | undefined): ListingSpec {
  const MaxRecords = pageSizeFor(pageSize, 20, 100);
  return {
    type: "rds.db-instance",
    operation: "RDS DescribeDBInstances",
    region,
    async list(access, token, signal) {
      const out = await access.clients.rds(region).send(
        new DescribeDBInstancesCommand({ MaxRecords, ...(token ? { Marker: token } : {}) }),
        { abortSignal: signal },
      );
      return {
        items: (out.DBInstances ?? []).map((db) => dbInstanceResource(db, region)),
        ...nextOf(out.Marker),
      };
    },
  };
}
