/**
 * The AWS discovery provider against the stand-in, with the real SDK clients:
 * what a full sync finds (types, ids, regions, links, attributes), how pages
 * are asked and followed, which key signs what, and which regions are read.
 */
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { PermanentError } from "../../../../machines/errors.ts";
import {
  type AwsDiscoveryProvider,
  createAwsDiscoveryProvider,
} from "../../../../adapters/discovery/aws/mod.ts";
import type { AwsDiscoveryOptions } from "../../../../adapters/discovery/aws/mod.ts";
import type { DiscoveryTarget } from "../../../../adapters/discovery/provider.ts";
import { type AwsStandIn, startAwsStandIn } from "../../../support/standins/aws/stand-in.ts";
import { ACCOUNT, drain, keys, rejection, seed, syncAll } from "./fixtures.ts";

const signal = new AbortController().signal;

/** What a full sync of the seeded account must find: enabled regions only (not me-south-1). */
const EVERYTHING = [
  "ec2.instance i-0a01 us-east-1",
  "ec2.instance i-0a02 us-east-1",
  "ec2.instance i-0a03 us-east-1",
  "ec2.instance i-0a04 us-east-1",
  "ec2.instance i-0a05 us-east-1",
  "ec2.instance i-0b01 eu-west-1",
  "ec2.instance i-0b02 eu-west-1",
  "ec2.security-group sg-0a1 us-east-1",
  "ec2.security-group sg-0a2 us-east-1",
  "ec2.security-group sg-0a3 us-east-1",
  "ec2.security-group sg-0b1 eu-west-1",
  "ec2.subnet subnet-0a1 us-east-1",
  "ec2.subnet subnet-0a2 us-east-1",
  "ec2.subnet subnet-0a3 us-east-1",
  "ec2.subnet subnet-0b1 eu-west-1",
  "ec2.vpc vpc-0a1 us-east-1",
  "ec2.vpc vpc-0a2 us-east-1",
  "ec2.vpc vpc-0b1 eu-west-1",
  "ec2.vpc vpc-0c1 ap-east-1",
  "elasticache.cluster sessions-001 us-east-1",
  "lambda.function arn:aws:lambda:eu-west-1:111122223333:function:etl eu-west-1",
  "lambda.function arn:aws:lambda:us-east-1:111122223333:function:cron us-east-1",
  "lambda.function arn:aws:lambda:us-east-1:111122223333:function:hook us-east-1",
  "lambda.function arn:aws:lambda:us-east-1:111122223333:function:resize us-east-1",
  "rds.db-instance arn:aws:rds:eu-west-1:111122223333:db:reports-db eu-west-1",
  "rds.db-instance arn:aws:rds:us-east-1:111122223333:db:legacy-db us-east-1",
  "rds.db-instance arn:aws:rds:us-east-1:111122223333:db:orders-db us-east-1",
  "s3.bucket archive-ap ap-east-1",
  "s3.bucket assets-eu eu-west-1",
  "s3.bucket logs-111122223333 us-east-1",
];

describe("AWS discovery: sync", () => {
  let aws: AwsStandIn;
  const providers: AwsDiscoveryProvider[] = [];

  before(async () => {
    aws = await startAwsStandIn();
    seed(aws);
  });
  after(async () => {
    await aws.close();
  });
  beforeEach(() => {
    aws.requests.length = 0;
    aws.issued.length = 0;
    aws.state.pageSize = 1000;
    aws.state.omitBucketRegion = false;
  });
  afterEach(() => {
    for (const p of providers.splice(0)) p.close();
  });

  function provider(options: AwsDiscoveryOptions = {}): AwsDiscoveryProvider {
    const made = createAwsDiscoveryProvider({ endpoints: aws.url, ...options });
    providers.push(made);
    return made;
  }
  const target = (extra: Partial<DiscoveryTarget> = {}): DiscoveryTarget => ({
    scope: ACCOUNT,
    org: null,
    credentials: { ...aws.master },
    ...extra,
  });

  it("a full sync of every enabled region finds exactly the account's resources, with their links", async () => {
    const sources = await provider().plan(target(), signal);
    const regional = [
      "ec2.instance",
      "ec2.vpc",
      "ec2.subnet",
      "ec2.security-group",
      "rds.db-instance",
      "elasticache.cluster",
      "lambda.function",
    ];
    assert.deepEqual(
      sources.map((s) => s.name).sort(),
      [
        ...["ap-east-1", "eu-west-1", "us-east-1"].flatMap((r) => regional.map((t) => `${t} ${r}`)),
        "s3.bucket",
      ].sort(),
    );
    assert.deepEqual(sources.find((s) => s.name === "s3.bucket")?.covers, {
      types: ["s3.bucket"],
      region: null,
    });
    assert.deepEqual(sources.find((s) => s.name === "ec2.vpc ap-east-1")?.covers, {
      types: ["ec2.vpc"],
      region: "ap-east-1",
    });

    const resources = await syncAll(sources);
    assert.deepEqual(keys(resources), EVERYTHING);
    assert.equal(
      aws.requests.filter((r) => r.region === "me-south-1").length,
      0,
      "a disabled region is never called",
    );

    const byId = (id: string) => resources.find((r) => r.externalId === id)!;
    assert.deepEqual(byId("i-0a01"), {
      type: "ec2.instance",
      category: "compute",
      externalId: "i-0a01",
      name: "web-1",
      region: "us-east-1",
      attributes: {
        state: "running",
        instanceType: "m7g.large",
        privateIpAddress: "10.0.1.11",
        availabilityZone: "us-east-1a",
        imageId: "ami-0abcdef1234567890",
        architecture: "x86_64",
        launchTime: "2024-05-01T12:00:00.000Z",
        tags: { Name: "web-1", team: "shop" },
      },
      links: [
        { relation: "in", type: "ec2.subnet", externalId: "subnet-0a1" },
        { relation: "in", type: "ec2.vpc", externalId: "vpc-0a1" },
        { relation: "secured-by", type: "ec2.security-group", externalId: "sg-0a1" },
        { relation: "secured-by", type: "ec2.security-group", externalId: "sg-0a2" },
      ],
    });
    assert.equal(byId("i-0a05").attributes.state, "stopped");
    assert.deepEqual(byId("subnet-0a3").links, [{ relation: "in", type: "ec2.vpc", externalId: "vpc-0a2" }]);
    assert.deepEqual(byId("sg-0b1").links, [{ relation: "in", type: "ec2.vpc", externalId: "vpc-0b1" }]);
    assert.equal(byId("sg-0b1").category, "network");
    const vpc = byId("vpc-0a1");
    assert.equal(vpc.name, "main");
    assert.deepEqual(vpc.attributes, {
      state: "available",
      cidrBlock: "10.0.0.0/16",
      isDefault: false,
      tags: { Name: "main", env: "prod" },
    });
    assert.equal(byId("vpc-0a2").attributes.isDefault, true);

    const orders = byId("arn:aws:rds:us-east-1:111122223333:db:orders-db");
    assert.equal(orders.category, "data");
    assert.equal(orders.name, "orders-db");
    assert.deepEqual(orders.links, [
      { relation: "in", type: "ec2.vpc", externalId: "vpc-0a1" },
      { relation: "secured-by", type: "ec2.security-group", externalId: "sg-0a2" },
    ]);
    assert.equal(orders.attributes.engine, "postgres");
    assert.equal(orders.attributes.endpoint, "orders-db.abc123.us-east-1.rds.amazonaws.com");
    assert.deepEqual(orders.attributes.tags, { env: "prod" });
    assert.deepEqual(byId("arn:aws:rds:us-east-1:111122223333:db:legacy-db").links, []);

    const cache = byId("sessions-001");
    assert.equal(cache.category, "data");
    assert.equal(cache.attributes.engine, "redis");
    assert.equal(cache.attributes.nodeType, "cache.t4g.small");
    assert.deepEqual(cache.links, [{
      relation: "secured-by",
      type: "ec2.security-group",
      externalId: "sg-0a2",
    }]);

    const resize = byId("arn:aws:lambda:us-east-1:111122223333:function:resize");
    assert.equal(resize.category, "service");
    assert.equal(resize.name, "resize");
    assert.equal(resize.attributes.runtime, "nodejs22.x");
    assert.equal(resize.attributes.memoryMiB, 512);
    assert.deepEqual(resize.links, [
      { relation: "in", type: "ec2.vpc", externalId: "vpc-0a1" },
      { relation: "secured-by", type: "ec2.security-group", externalId: "sg-0a1" },
    ]);
    assert.deepEqual(byId("arn:aws:lambda:us-east-1:111122223333:function:cron").links, []);

    assert.deepEqual(byId("assets-eu"), {
      type: "s3.bucket",
      category: "data",
      externalId: "assets-eu",
      name: "assets-eu",
      region: "eu-west-1",
      attributes: { createdAt: "2023-03-01T10:00:00.000Z" },
      links: [],
    });
    assert.equal(aws.calls("GetBucketLocation").length, 0, "ListBuckets gave every region");
  });

  it("asks each API for its page size (clamped to its range) and follows every token", async () => {
    aws.state.pageSize = 2; // the stand-in answers at most 2 items whatever is asked
    const sources = await provider({ pageSize: 2 }).plan(target({ regions: ["us-east-1"] }), signal);
    const resources = await syncAll(sources);
    assert.deepEqual(keys(resources), EVERYTHING.filter((k) => k.endsWith(" us-east-1")));

    const instances = aws.calls("DescribeInstances", "us-east-1");
    assert.equal(instances.length, 3, "5 instances in pages of 2");
    assert.deepEqual(instances.map((r) => r.params.MaxResults), ["5", "5", "5"], "EC2's minimum is 5");
    assert.equal(instances[0]!.params.NextToken, undefined);
    for (const [i, call] of instances.entries()) {
      if (i > 0) assert.ok(call.params.NextToken, "a later page carries a token");
    }
    assert.notEqual(instances[1]!.params.NextToken, instances[2]!.params.NextToken);
    const dbs = aws.calls("DescribeDBInstances", "us-east-1");
    assert.deepEqual(dbs.map((r) => r.params.MaxRecords), ["20"], "RDS's minimum is 20");
    assert.equal(dbs.length, 1, "2 DB instances fit one page of 2");
    const functions = aws.calls("ListFunctions", "us-east-1");
    assert.deepEqual(functions.map((r) => r.params.MaxItems), ["2", "2"]);
    assert.equal(functions[0]!.params.Marker, undefined);
    assert.ok(functions[1]!.params.Marker);
    const buckets = aws.calls("ListBuckets");
    assert.deepEqual(buckets.map((r) => [r.params["max-buckets"], r.params["bucket-region"]]), [[
      "2",
      "us-east-1",
    ]]);
    assert.equal(aws.calls("DescribeSubnets", "us-east-1").length, 2, "3 subnets in pages of 2");
  });

  it("lists with the assumed session's key, never the master key, and assumes once per account", async () => {
    const p = provider();
    await syncAll(await p.plan(target(), signal));
    await syncAll(await p.plan(target({ regions: ["eu-west-1"] }), signal));
    const assume = aws.calls("AssumeRole");
    assert.equal(assume.length, 1, "the second sync reuses the cached session");
    assert.equal(assume[0]!.accessKeyId, aws.master.accessKeyId);
    assert.equal(assume[0]!.params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/TroupeDiscoveryRole`);
    assert.equal(assume[0]!.params.RoleSessionName, `troupe-discovery-${ACCOUNT}`);
    const session = aws.issued[0]!;
    const listing = aws.requests.filter((r) => r.service !== "sts");
    assert.ok(listing.length > 20);
    for (const r of listing) {
      assert.equal(r.accessKeyId, session.accessKeyId, `${r.service} ${r.action}`);
      assert.equal(r.securityToken, session.sessionToken);
      assert.equal(r.signatureValid, true);
      assert.equal(r.status, 200);
    }
    assert.deepEqual([...new Set(listing.map((r) => r.service))].sort(), [
      "ec2",
      "elasticache",
      "lambda",
      "rds",
      "s3",
    ]);
  });

  it("sends the target's role and external id", async () => {
    const sources = await provider().plan(
      target({ credentials: { ...aws.master, roleName: "TenantRole", externalId: "tenant-42" } }),
      signal,
    );
    assert.equal(sources.length, 22);
    const [assume] = aws.calls("AssumeRole");
    assert.equal(assume!.params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/TenantRole`);
    assert.equal(assume!.params.ExternalId, "tenant-42");
  });

  it("target.regions restricts the listings, and S3 to the buckets of those regions", async () => {
    const sources = await provider().plan(target({ regions: ["eu-west-1", "ap-east-1"] }), signal);
    assert.deepEqual(
      sources.filter((s) => s.name.startsWith("s3.")).map((s) => [s.name, s.covers.region]),
      [["s3.bucket ap-east-1", "ap-east-1"], ["s3.bucket eu-west-1", "eu-west-1"]],
    );
    const resources = await syncAll(sources);
    assert.deepEqual(keys(resources), EVERYTHING.filter((k) => !k.endsWith(" us-east-1")));
    const listed = aws.requests.filter((r) => r.service !== "sts" && r.action !== "DescribeRegions");
    assert.deepEqual(
      [...new Set(listed.map((r) => r.region === "us-east-1" ? `${r.service} us-east-1` : r.region))].sort(),
      [
        "ap-east-1",
        "eu-west-1",
        "s3 us-east-1",
      ],
    );
  });

  it("refuses a requested region that is not enabled, naming it", async () => {
    for (
      const [regions, missing] of [[["me-south-1"], "me-south-1"], [
        ["eu-west-1", "xx-nowhere-9"],
        "xx-nowhere-9",
      ]] as const
    ) {
      const error = await rejection(provider().plan(target({ regions: [...regions] }), signal));
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "AWS_REGION_NOT_ENABLED");
      assert.equal(
        error.message,
        `AWS discovery of account ${ACCOUNT}: region ${missing} is not enabled for the account (enabled: ap-east-1, eu-west-1, us-east-1)`,
      );
    }
    assert.equal(aws.requests.filter((r) => r.service !== "sts" && r.action !== "DescribeRegions").length, 0);
  });

  it("asks GetBucketLocation when ListBuckets gives no BucketRegion", async () => {
    aws.state.omitBucketRegion = true;
    const s3 = (await provider().plan(target(), signal)).find((s) => s.name === "s3.bucket")!;
    const { resources } = await drain(s3);
    assert.deepEqual(keys(resources), EVERYTHING.filter((k) => k.startsWith("s3.")));
    assert.deepEqual(aws.calls("GetBucketLocation").map((r) => r.path).sort(), [
      "/archive-ap/",
      "/assets-eu/",
      "/logs-111122223333/",
    ]);
  });

  it("defaultScope() is the credentials' account, asked of STS GetCallerIdentity with the master key", async () => {
    const p = provider();
    const before = aws.calls("GetCallerIdentity").length;
    assert.equal(await p.defaultScope?.({ ...aws.master }, signal), aws.masterAccount);
    assert.equal(aws.calls("GetCallerIdentity").length, before + 1);
    assert.equal(aws.calls("GetCallerIdentity").at(-1)?.accessKeyId, aws.master.accessKeyId);
    const error = await rejection(
      p.defaultScope!({ accessKeyId: "AKIAWRONGWRONGWRONG0", secretAccessKey: "x".repeat(40) }, signal),
    );
    assert.ok(error instanceof PermanentError);
    assert.doesNotMatch(error.message, /xxxxxxxx/);
  });

  it("assumeRole false lists with the master credentials, after checking they belong to the account", async () => {
    const p = provider({ assumeRole: false });
    const sources = await p.plan({
      scope: aws.masterAccount,
      org: null,
      credentials: { ...aws.master },
      regions: ["us-east-1"],
    }, signal);
    const resources = await syncAll(sources);
    assert.deepEqual(keys(resources), ["ec2.vpc vpc-0e1 us-east-1", "s3.bucket master-bucket us-east-1"]);
    assert.equal(aws.calls("AssumeRole").length, 0);
    assert.equal(aws.calls("GetCallerIdentity").length, 1);
    for (const r of aws.requests) assert.equal(r.accessKeyId, aws.master.accessKeyId);

    const error = await rejection(p.plan(target(), signal));
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_WRONG_ACCOUNT");
    assert.match(error.message, /111122223333.*999988887777/);
  });

  it("unset endpoints and credentials fall to the SDK's AWS_ENDPOINT_URL and default credential chain", async () => {
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL: aws.url,
      AWS_ACCESS_KEY_ID: aws.master.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.master.secretAccessKey,
    };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    try {
      const p = createAwsDiscoveryProvider({ s3ForcePathStyle: true });
      providers.push(p);
      const resources = await syncAll(await p.plan({ scope: ACCOUNT, org: null }, signal));
      assert.deepEqual(keys(resources), EVERYTHING);
      assert.equal(aws.calls("AssumeRole")[0]?.accessKeyId, aws.master.accessKeyId);
      assert.ok(aws.requests.every((r) => r.signatureValid && r.status === 200));
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("no secret ends up in any resource", async () => {
    const resources = await syncAll(await provider().plan(target(), signal));
    const text = JSON.stringify(resources);
    for (
      const secret of [
        aws.master.secretAccessKey,
        aws.master.accessKeyId,
        aws.issued[0]!.secretAccessKey,
        aws.issued[0]!.sessionToken,
        aws.issued[0]!.accessKeyId,
      ]
    ) {
      assert.equal(text.includes(secret), false);
    }
  });
});
