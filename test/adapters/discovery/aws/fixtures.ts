/**
 * The world the AWS discovery tests inventory (seeded into the stand-in), and
 * a small stand-in for the sync engine's loop: every page of a source, following
 * `next`.
 */
import type { DiscoveredResource, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import type { AwsStandIn } from "../../../support/standins/aws/stand-in.ts";

export const ACCOUNT = "111122223333";
export const ROLE = "TroupeDiscoveryRole";

/**
 * Account 111122223333: us-east-1 and eu-west-1 (on by default), ap-east-1
 * (opted in), me-south-1 (not opted in: its resources must never show up);
 * three buckets. The master account gets one VPC and one bucket.
 */
export function seed(aws: AwsStandIn): void {
  const account = aws.account(ACCOUNT).trust(ROLE).trust("TenantRole", { externalId: "tenant-42" });
  const use1 = account.region("us-east-1");
  use1.vpcs.push(
    { id: "vpc-0a1", cidr: "10.0.0.0/16", tags: { Name: "main", env: "prod" } },
    { id: "vpc-0a2", cidr: "172.31.0.0/16", isDefault: true },
  );
  use1.subnets.push(
    { id: "subnet-0a1", vpcId: "vpc-0a1", cidr: "10.0.1.0/24", az: "us-east-1a", tags: { Name: "app-a" } },
    { id: "subnet-0a2", vpcId: "vpc-0a1", cidr: "10.0.2.0/24", az: "us-east-1b" },
    { id: "subnet-0a3", vpcId: "vpc-0a2", cidr: "172.31.0.0/20", az: "us-east-1a" },
  );
  use1.securityGroups.push(
    { id: "sg-0a1", name: "web", description: "web tier", vpcId: "vpc-0a1" },
    { id: "sg-0a2", name: "db", description: "databases", vpcId: "vpc-0a1" },
    { id: "sg-0a3", name: "default", description: "default VPC security group", vpcId: "vpc-0a2" },
  );
  const instance = (
    n: number,
    subnetId: string,
    vpcId: string,
    groupIds: string[],
    reservationId: string,
  ) => ({
    id: `i-0a0${n}`,
    type: n === 1 ? "m7g.large" : "t3.micro",
    state: n === 5 ? "stopped" : "running",
    privateIp: `10.0.1.${10 + n}`,
    az: "us-east-1a",
    subnetId,
    vpcId,
    groupIds,
    tags: { Name: `web-${n}`, team: "shop" },
    reservationId,
  });
  use1.instances.push(
    instance(1, "subnet-0a1", "vpc-0a1", ["sg-0a1", "sg-0a2"], "r-1"),
    instance(2, "subnet-0a1", "vpc-0a1", ["sg-0a1"], "r-1"),
    instance(3, "subnet-0a2", "vpc-0a1", ["sg-0a1"], "r-2"),
    instance(4, "subnet-0a3", "vpc-0a2", ["sg-0a3"], "r-3"),
    instance(5, "subnet-0a3", "vpc-0a2", ["sg-0a3"], "r-3"),
  );
  use1.dbInstances.push(
    {
      identifier: "orders-db",
      engine: "postgres",
      engineVersion: "16.3",
      instanceClass: "db.r6g.large",
      status: "available",
      vpcId: "vpc-0a1",
      groupIds: ["sg-0a2"],
      tags: { env: "prod" },
    },
    {
      identifier: "legacy-db",
      engine: "mysql",
      engineVersion: "8.0.36",
      instanceClass: "db.t3.micro",
      status: "stopped",
      groupIds: [],
    },
  );
  use1.cacheClusters.push({
    id: "sessions-001",
    engine: "redis",
    nodeType: "cache.t4g.small",
    status: "available",
    nodes: 1,
    groupIds: ["sg-0a2"],
  });
  use1.functions.push(
    {
      name: "resize",
      runtime: "nodejs22.x",
      handler: "index.handler",
      memory: 512,
      vpc: { vpcId: "vpc-0a1", subnetIds: ["subnet-0a1", "subnet-0a2"], groupIds: ["sg-0a1"] },
    },
    { name: "cron", runtime: "python3.13", handler: "main.run", memory: 128 },
    { name: "hook", runtime: "provided.al2023", handler: "bootstrap", memory: 256 },
  );

  const euw1 = account.region("eu-west-1");
  euw1.vpcs.push({ id: "vpc-0b1", cidr: "10.1.0.0/16" });
  euw1.subnets.push({ id: "subnet-0b1", vpcId: "vpc-0b1", cidr: "10.1.1.0/24", az: "eu-west-1a" });
  euw1.securityGroups.push({ id: "sg-0b1", name: "etl", description: "etl", vpcId: "vpc-0b1" });
  euw1.instances.push(
    {
      id: "i-0b01",
      type: "c7i.xlarge",
      state: "running",
      privateIp: "10.1.1.5",
      az: "eu-west-1a",
      subnetId: "subnet-0b1",
      vpcId: "vpc-0b1",
      groupIds: ["sg-0b1"],
    },
    {
      id: "i-0b02",
      type: "c7i.xlarge",
      state: "running",
      privateIp: "10.1.1.6",
      az: "eu-west-1a",
      subnetId: "subnet-0b1",
      vpcId: "vpc-0b1",
      groupIds: ["sg-0b1"],
    },
  );
  euw1.dbInstances.push({
    identifier: "reports-db",
    engine: "aurora-postgresql",
    engineVersion: "15.4",
    instanceClass: "db.r6g.large",
    status: "available",
    vpcId: "vpc-0b1",
    groupIds: ["sg-0b1"],
  });
  euw1.functions.push({ name: "etl", runtime: "java21", handler: "etl.Main", memory: 1024 });

  account.region("ap-east-1", "opted-in").vpcs.push({ id: "vpc-0c1", cidr: "10.2.0.0/16" });

  const mes1 = account.region("me-south-1", "not-opted-in");
  mes1.vpcs.push({ id: "vpc-0d1", cidr: "10.3.0.0/16" });
  mes1.instances.push({
    id: "i-0d01",
    type: "t3.micro",
    state: "running",
    privateIp: "10.3.0.5",
    az: "me-south-1a",
    groupIds: [],
  });

  account.buckets.push(
    { name: "logs-111122223333", region: "us-east-1", created: "2023-02-01T10:00:00.000Z" },
    { name: "assets-eu", region: "eu-west-1", created: "2023-03-01T10:00:00.000Z" },
    { name: "archive-ap", region: "ap-east-1", created: "2023-04-01T10:00:00.000Z" },
  );

  const own = aws.account(aws.masterAccount);
  own.region("us-east-1").vpcs.push({ id: "vpc-0e1", cidr: "10.9.0.0/16" });
  own.buckets.push({ name: "master-bucket", region: "us-east-1", created: "2022-01-01T00:00:00.000Z" });
}

/** Every page of `source`, as the sync engine reads them; also the tokens it was given. */
export async function drain(
  source: DiscoverySource,
  signal = new AbortController().signal,
): Promise<{ resources: DiscoveredResource[]; pages: number }> {
  const resources: DiscoveredResource[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await source.fetchPage(token, signal);
    pages++;
    resources.push(...page.items);
    token = page.next;
  } while (token !== undefined);
  return { resources, pages };
}

/** Every resource of every source. */
export async function syncAll(sources: DiscoverySource[]): Promise<DiscoveredResource[]> {
  const out: DiscoveredResource[] = [];
  for (const source of sources) out.push(...(await drain(source)).resources);
  return out;
}

/** `type externalId region` of each resource, sorted. */
export function keys(resources: DiscoveredResource[]): string[] {
  return resources.map((r) => `${r.type} ${r.externalId} ${r.region}`).sort();
}

/** The rejection of `promise` (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
