/**
 * The Query-protocol services of the AWS stand-in: EC2 (`…Response` with
 * `requestId` and `item` lists; errors as `<Response><Errors><Error>`), RDS and
 * ElastiCache (`…Response`/`…Result` with `ResponseMetadata`; errors as
 * `<ErrorResponse>`). Each answer is the documented XML for the actions
 * discovery calls, paginated from the model with offset tokens.
 */
import { el, wrap } from "./xml.ts";
import { Fault, paginate, type RegionModel, type StandInAccount, type Tags } from "./model.ts";

export const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
export const RDS_NS = "http://rds.amazonaws.com/doc/2014-10-31/";
export const ELASTICACHE_NS = "http://elasticache.amazonaws.com/doc/2015-02-02/";

/** What a Query action sees. */
export interface QueryCall {
  action: string;
  params: Record<string, string>;
  account: StandInAccount;
  region: string;
  model: RegionModel;
  /** The stand-in's largest page. */
  cap: number;
}

const invalid = (message: string) => new Fault("InvalidParameterValue", message, 400);

/** The page size asked in `name`, checked against the API's range. */
function asked(params: Record<string, string>, name: string, min: number, max: number): number {
  const raw = params[name];
  if (raw === undefined) return max;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid(`Invalid value ${raw} for ${name}. Must be between ${min} and ${max}.`);
  }
  return n;
}

function page<T>(
  call: QueryCall,
  items: readonly T[],
  size: string,
  token: string,
  min: number,
  max: number,
) {
  return paginate(items, {
    token: call.params[token],
    asked: asked(call.params, size, min, max),
    cap: call.cap,
    scope: `${call.action}/${call.region}`,
    invalid,
  });
}

const ec2Tags = (tags: Tags | undefined) =>
  wrap("tagSet", ...Object.entries(tags ?? {}).map(([k, v]) => wrap("item", el("key", k), el("value", v))));
const items = (name: string, list: string[]) => wrap(name, ...list.map((x) => wrap("item", x)));
const opt = (name: string, value: string | number | boolean | undefined) =>
  value === undefined ? "" : el(name, value);
const ec2Next = (next: string | undefined) => opt("nextToken", next);

/** The body of an EC2 action's answer (inside `<ActionResponse>`). */
export function ec2Answer(call: QueryCall): string {
  const m = call.model;
  switch (call.action) {
    case "DescribeRegions": {
      const all = call.params.AllRegions === "true";
      const regions = [...call.account.regions].filter(([, r]) => all || r.optInStatus !== "not-opted-in");
      return items(
        "regionInfo",
        regions.map(([name, r]) =>
          el("regionName", name) + el("regionEndpoint", `ec2.${name}.amazonaws.com`) +
          el("optInStatus", r.optInStatus)
        ),
      );
    }
    case "DescribeInstances": {
      const { page: list, next } = page(call, m.instances, "MaxResults", "NextToken", 5, 1000);
      const reservations: { id: string; xml: string[] }[] = [];
      for (const i of list) {
        const id = i.reservationId ?? `r-${i.id.slice(2)}`;
        const xml = el("instanceId", i.id) + el("imageId", "ami-0abcdef1234567890") +
          wrap("instanceState", el("code", i.state === "running" ? 16 : 80), el("name", i.state)) +
          el("privateIpAddress", i.privateIp) + el("instanceType", i.type) +
          el("launchTime", "2024-05-01T12:00:00.000Z") + wrap("placement", el("availabilityZone", i.az)) +
          opt("subnetId", i.subnetId) + opt("vpcId", i.vpcId) + el("architecture", "x86_64") +
          items("groupSet", i.groupIds.map((g) => el("groupId", g) + el("groupName", `name-of-${g}`))) +
          ec2Tags(i.tags);
        const last = reservations.at(-1);
        if (last?.id === id) last.xml.push(xml);
        else reservations.push({ id, xml: [xml] });
      }
      return items(
        "reservationSet",
        reservations.map((r) =>
          el("reservationId", r.id) + el("ownerId", call.account.id) + wrap("groupSet") +
          items("instancesSet", r.xml)
        ),
      ) + ec2Next(next);
    }
    case "DescribeVpcs": {
      const { page: list, next } = page(call, m.vpcs, "MaxResults", "NextToken", 5, 1000);
      return items(
        "vpcSet",
        list.map((v) =>
          el("vpcId", v.id) + el("ownerId", call.account.id) + el("state", "available") +
          el("cidrBlock", v.cidr) +
          el("isDefault", v.isDefault ?? false) + ec2Tags(v.tags)
        ),
      ) + ec2Next(next);
    }
    case "DescribeSubnets": {
      const { page: list, next } = page(call, m.subnets, "MaxResults", "NextToken", 5, 1000);
      return items(
        "subnetSet",
        list.map((s) =>
          el("subnetId", s.id) + el("state", "available") + el("vpcId", s.vpcId) + el("cidrBlock", s.cidr) +
          el("availableIpAddressCount", 250) + el("availabilityZone", s.az) +
          el("mapPublicIpOnLaunch", false) +
          ec2Tags(s.tags)
        ),
      ) + ec2Next(next);
    }
    case "DescribeSecurityGroups": {
      const { page: list, next } = page(call, m.securityGroups, "MaxResults", "NextToken", 5, 1000);
      const rule = wrap("item", el("ipProtocol", "tcp"), el("fromPort", 443), el("toPort", 443));
      return items(
        "securityGroupInfo",
        list.map((g) =>
          el("ownerId", call.account.id) + el("groupId", g.id) + el("groupName", g.name) +
          el("groupDescription", g.description) + opt("vpcId", g.vpcId) + wrap("ipPermissions", rule) +
          wrap("ipPermissionsEgress", rule) + ec2Tags(g.tags)
        ),
      ) + ec2Next(next);
    }
    default:
      throw new Fault("InvalidAction", `The action ${call.action} is not valid for this web service.`, 400);
  }
}

/** The `<DescribeDBInstancesResult>` of RDS. */
export function rdsAnswer(call: QueryCall): string {
  if (call.action !== "DescribeDBInstances") {
    throw new Fault("InvalidAction", `Could not find operation ${call.action} for version 2014-10-31`, 400);
  }
  const { page: list, next } = page(call, call.model.dbInstances, "MaxRecords", "Marker", 20, 100);
  const dbs = list.map((db) =>
    wrap(
      "DBInstance",
      el("DBInstanceIdentifier", db.identifier),
      el("DBInstanceClass", db.instanceClass),
      el("Engine", db.engine),
      el("DBInstanceStatus", db.status),
      wrap(
        "Endpoint",
        el("Address", `${db.identifier}.abc123.${call.region}.rds.amazonaws.com`),
        el("Port", 5432),
      ),
      el("AllocatedStorage", 20),
      el("InstanceCreateTime", "2024-05-01T12:00:00.000Z"),
      wrap(
        "VpcSecurityGroups",
        ...db.groupIds.map((g) =>
          wrap("VpcSecurityGroupMembership", el("VpcSecurityGroupId", g), el("Status", "active"))
        ),
      ),
      db.vpcId
        ? wrap(
          "DBSubnetGroup",
          el("DBSubnetGroupName", "default"),
          el("VpcId", db.vpcId),
          el("SubnetGroupStatus", "Complete"),
        )
        : "",
      el("MultiAZ", false),
      el("EngineVersion", db.engineVersion),
      el("PubliclyAccessible", false),
      el("StorageEncrypted", true),
      el("DBInstanceArn", `arn:aws:rds:${call.region}:${call.account.id}:db:${db.identifier}`),
      wrap(
        "TagList",
        ...Object.entries(db.tags ?? {}).map(([k, v]) => wrap("Tag", el("Key", k), el("Value", v))),
      ),
    )
  );
  return wrap("DescribeDBInstancesResult", wrap("DBInstances", ...dbs), opt("Marker", next));
}

/** The `<DescribeCacheClustersResult>` of ElastiCache. */
export function elastiCacheAnswer(call: QueryCall): string {
  if (call.action !== "DescribeCacheClusters") {
    throw new Fault("InvalidAction", `Could not find operation ${call.action} for version 2015-02-02`, 400);
  }
  const { page: list, next } = page(call, call.model.cacheClusters, "MaxRecords", "Marker", 20, 100);
  const clusters = list.map((c) =>
    wrap(
      "CacheCluster",
      el("CacheClusterId", c.id),
      el("CacheNodeType", c.nodeType),
      el("Engine", c.engine),
      el("EngineVersion", "7.1"),
      el("CacheClusterStatus", c.status),
      el("NumCacheNodes", c.nodes),
      el("PreferredAvailabilityZone", `${call.region}a`),
      el("CacheClusterCreateTime", "2024-05-01T12:00:00.000Z"),
      el("CacheSubnetGroupName", "default"),
      wrap(
        "SecurityGroups",
        ...c.groupIds.map((g) => wrap("member", el("SecurityGroupId", g), el("Status", "active"))),
      ),
      el("ARN", `arn:aws:elasticache:${call.region}:${call.account.id}:cluster:${c.id}`),
    )
  );
  return wrap("DescribeCacheClustersResult", wrap("CacheClusters", ...clusters), opt("Marker", next));
}

/** EC2's success envelope. */
export function ec2Response(action: string, body: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">${
    el("requestId", requestId)
  }${body}</${action}Response>`;
}

/** EC2's error document. */
export function ec2Error(fault: Fault, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response>${
    wrap("Errors", wrap("Error", el("Code", fault.code), el("Message", fault.message)))
  }${el("RequestID", requestId)}</Response>`;
}

/** The success envelope of RDS, ElastiCache and STS. */
export function queryResponse(ns: string, action: string, result: string, requestId: string): string {
  return `<${action}Response xmlns="${ns}">${result}${
    wrap("ResponseMetadata", el("RequestId", requestId))
  }</${action}Response>`;
}

/** The `<ErrorResponse>` of RDS, ElastiCache and STS. */
export function queryError(ns: string, fault: Fault, requestId: string): string {
  const type = fault.status >= 500 ? "Receiver" : "Sender";
  return `<ErrorResponse xmlns="${ns}">${
    wrap("Error", el("Type", type), el("Code", fault.code), el("Message", fault.message))
  }${el("RequestId", requestId)}</ErrorResponse>`;
}
