/**
 * EC2 listings of one region: instances (compute), VPCs, subnets and security
 * groups (network), with their `in` and `secured-by` links. Pages follow
 * `NextToken` with `MaxResults` (5 to 1000).
 *
 * @module
 */
import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Instance,
  type SecurityGroup,
  type Subnet,
  type Vpc,
} from "@aws-sdk/client-ec2";
import type { DiscoveredResource } from "../provider.ts";
import { compact, iso, linkTo as link, nameTag, nextOf as next, pageSizeFor, tagsOf } from "./attributes.ts";
import type { ListingSpec } from "./source.ts";

/** An EC2 instance as a resource. */
export function instanceResource(i: Instance, region: string): DiscoveredResource {
  return {
    type: "ec2.instance",
    category: "compute",
    externalId: i.InstanceId ?? "",
    name: nameTag(i.Tags),
    region,
    attributes: compact({
      state: i.State?.Name,
      instanceType: i.InstanceType,
      privateIpAddress: i.PrivateIpAddress,
      publicIpAddress: i.PublicIpAddress,
      availabilityZone: i.Placement?.AvailabilityZone,
      imageId: i.ImageId,
      architecture: i.Architecture,
      platform: i.PlatformDetails,
      launchTime: iso(i.LaunchTime),
      tags: tagsOf(i.Tags),
    }),
    links: [
      ...link("in", "ec2.subnet", i.SubnetId),
      ...link("in", "ec2.vpc", i.VpcId),
      ...(i.SecurityGroups ?? []).flatMap((g) => link("secured-by", "ec2.security-group", g.GroupId)),
    ],
  };
}

/** A VPC as a resource. */
export function vpcResource(v: Vpc, region: string): DiscoveredResource {
  return {
    type: "ec2.vpc",
    category: "network",
    externalId: v.VpcId ?? "",
    name: nameTag(v.Tags),
    region,
    attributes: compact({
      state: v.State,
      cidrBlock: v.CidrBlock,
      isDefault: v.IsDefault,
      tags: tagsOf(v.Tags),
    }),
    links: [],
  };
}

/** A subnet as a resource. */
export function subnetResource(s: Subnet, region: string): DiscoveredResource {
  return {
    type: "ec2.subnet",
    category: "network",
    externalId: s.SubnetId ?? "",
    name: nameTag(s.Tags),
    region,
    attributes: compact({
      state: s.State,
      cidrBlock: s.CidrBlock,
      availabilityZone: s.AvailabilityZone,
      availableIpAddressCount: s.AvailableIpAddressCount,
      mapPublicIpOnLaunch: s.MapPublicIpOnLaunch,
      tags: tagsOf(s.Tags),
    }),
    links: link("in", "ec2.vpc", s.VpcId),
  };
}

/** A security group as a resource. */
export function securityGroupResource(g: SecurityGroup, region: string): DiscoveredResource {
  return {
    type: "ec2.security-group",
    category: "network",
    externalId: g.GroupId ?? "",
    name: g.GroupName ?? null,
    region,
    attributes: compact({
      groupName: g.GroupName,
      description: g.Description,
      ingressRules: g.IpPermissions?.length ?? 0,
      egressRules: g.IpPermissionsEgress?.length ?? 0,
      tags: tagsOf(g.Tags),
    }),
    links: link("in", "ec2.vpc", g.VpcId),
  };
}

/** The four EC2 listings of `region`. */
export function ec2Listings(region: string, pageSize: number | undefined): ListingSpec[] {
  const MaxResults = pageSizeFor(pageSize, 5, 1000);
  const page = (token: string | undefined) => ({ MaxResults, ...(token ? { NextToken: token } : {}) });
  return [
    {
      type: "ec2.instance",
      operation: "EC2 DescribeInstances",
      region,
      async list(access, token, signal) {
        const out = await access.clients.ec2(region).send(new DescribeInstancesCommand(page(token)), {
          abortSignal: signal,
        });
        const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        return { items: instances.map((i) => instanceResource(i, region)), ...next(out.NextToken) };
      },
    },
    {
      type: "ec2.vpc",
      operation: "EC2 DescribeVpcs",
      region,
      async list(access, token, signal) {
        const out = await access.clients.ec2(region).send(new DescribeVpcsCommand(page(token)), {
          abortSignal: signal,
        });
        return { items: (out.Vpcs ?? []).map((v) => vpcResource(v, region)), ...next(out.NextToken) };
      },
    },
    {
      type: "ec2.subnet",
      operation: "EC2 DescribeSubnets",
      region,
      async list(access, token, signal) {
        const out = await access.clients.ec2(region).send(new DescribeSubnetsCommand(page(token)), {
          abortSignal: signal,
        });
        return {
          items: (out.Subnets ?? []).map((s) => subnetResource(s, region)),
          ...next(out.NextToken),
        };
      },
    },
    {
      type: "ec2.security-group",
      operation: "EC2 DescribeSecurityGroups",
      region,
      async list(access, token, signal) {
        const out = await access.clients.ec2(region).send(new DescribeSecurityGroupsCommand(page(token)), {
          abortSignal: signal,
        });
        const groups = out.SecurityGroups ?? [];
        return { items: groups.map((g) => securityGroupResource(g, region)), ...next(out.NextToken) };
      },
    },
  ];
}
