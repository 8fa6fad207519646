/**
 * How the AWS discovery provider fails, against the stand-in: throttling and
 * 5xx are TransientErrors carrying Retry-After (and the same token works when
 * retried), refused credentials are PermanentErrors in each service's own
 * shape, and no message carries a secret.
 */
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";
import {
  type AwsDiscoveryProvider,
  createAwsDiscoveryProvider,
} from "../../../../adapters/discovery/aws/mod.ts";
import type { DiscoverySource, DiscoveryTarget } from "../../../../adapters/discovery/provider.ts";
import { type AwsStandIn, startAwsStandIn } from "../../../support/standins/aws/stand-in.ts";
import { ACCOUNT, drain, rejection, seed } from "./fixtures.ts";

const signal = new AbortController().signal;

describe("AWS discovery: errors", () => {
  let aws: AwsStandIn;
  let p: AwsDiscoveryProvider;

  before(async () => {
    aws = await startAwsStandIn();
    seed(aws);
  });
  after(async () => {
    await aws.close();
  });
  beforeEach(() => {
    aws.requests.length = 0;
    aws.state.pageSize = 2;
    p = createAwsDiscoveryProvider({ endpoints: aws.url, pageSize: 2 });
  });
  afterEach(() => {
    p.close();
  });

  const target = (extra: Partial<DiscoveryTarget> = {}): DiscoveryTarget => ({
    scope: ACCOUNT,
    org: null,
    credentials: { ...aws.master },
    regions: ["us-east-1"],
    ...extra,
  });
  async function source(name: string): Promise<DiscoverySource> {
    const found = (await p.plan(target(), signal)).find((s) => s.name === name);
    assert.ok(found, name);
    return found;
  }
  /** Every secret the stand-in knows: none may appear in a message. */
  const secrets = () => [
    aws.master.secretAccessKey,
    aws.master.accessKeyId,
    ...aws.issued.flatMap((s) => [s.secretAccessKey, s.sessionToken, s.accessKeyId]),
  ];
  function assertClean(error: unknown): void {
    assert.ok(error instanceof Error);
    for (const secret of secrets()) {
      assert.equal(error.message.includes(secret), false, "no secret in the message");
      assert.equal(JSON.stringify(error).includes(secret), false, "no secret in the JSON");
    }
  }

  it("EC2 RequestLimitExceeded (503, Retry-After) is transient; the same token then gets the same page", async () => {
    const instances = await source("ec2.instance us-east-1");
    const first = await instances.fetchPage(undefined, signal);
    assert.deepEqual(first.items.map((r) => r.externalId), ["i-0a01", "i-0a02"]);
    aws.failNext("DescribeInstances", {
      code: "RequestLimitExceeded",
      status: 503,
      message: "Request limit exceeded.",
      retryAfter: 3,
    });
    const error = await rejection(instances.fetchPage(first.next, signal));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AWS_THROTTLING");
    assert.equal(error.retryAfterMs, 3000);
    assert.equal(
      error.message,
      `AWS EC2 DescribeInstances in us-east-1 of account ${ACCOUNT}: RequestLimitExceeded: Request limit exceeded.`,
    );
    assertClean(error);
    const second = await instances.fetchPage(first.next, signal);
    assert.deepEqual(second.items.map((r) => r.externalId), ["i-0a03", "i-0a04"]);
    const calls = aws.calls("DescribeInstances", "us-east-1");
    assert.deepEqual(calls.map((c) => c.status), [200, 503, 200]);
    assert.equal(calls[1]!.params.NextToken, first.next);
    assert.equal(calls[2]!.params.NextToken, first.next);
    const third = await instances.fetchPage(second.next, signal);
    assert.deepEqual(third.items.map((r) => r.externalId), ["i-0a05"]);
    assert.equal(third.next, undefined);
  });

  it("throttling of Lambda (429), S3 (SlowDown 503) and RDS (Throttling 400) carries Retry-After", async () => {
    const cases = [
      {
        source: "lambda.function us-east-1",
        action: "ListFunctions",
        code: "TooManyRequestsException",
        status: 429,
        retryAfter: 2,
      },
      { source: "s3.bucket us-east-1", action: "ListBuckets", code: "SlowDown", status: 503, retryAfter: 1 },
      {
        source: "rds.db-instance us-east-1",
        action: "DescribeDBInstances",
        code: "Throttling",
        status: 400,
        retryAfter: 4,
      },
      {
        source: "lambda.function us-east-1",
        action: "ListFunctions",
        code: "SomeNewLimit",
        status: 429,
        retryAfter: 5,
      },
    ];
    for (const c of cases) {
      const s = await source(c.source);
      aws.failNext(c.action, {
        code: c.code,
        status: c.status,
        message: "Rate exceeded",
        retryAfter: c.retryAfter,
      });
      const error = await rejection(s.fetchPage(undefined, signal));
      assert.ok(error instanceof TransientError, c.code);
      assert.equal(error.code, "AWS_THROTTLING", c.code);
      assert.equal(error.retryAfterMs, c.retryAfter * 1000, c.code);
      assert.match(
        error.message,
        new RegExp(`^AWS \\w+ ${c.action} in us-east-1 of account ${ACCOUNT}: ${c.code}`),
      );
      assert.ok((await drain(s)).resources.length > 0, "the retry succeeds");
    }
  });

  it("a 5xx without Retry-After is transient without retryAfterMs", async () => {
    const s = await source("elasticache.cluster us-east-1");
    aws.failNext("DescribeCacheClusters", { code: "InternalFailure", status: 500, message: "internal" });
    const error = await rejection(s.fetchPage(undefined, signal));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AWS_SERVICE_FAILURE");
    assert.equal(error.retryAfterMs, undefined);
  });

  it("an unknown key or a wrong secret is permanent, and the message names neither", async () => {
    const unknownKey = {
      accessKeyId: "AKIAABCDEFGHIJKLMNOP",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    };
    const error = await rejection(p.plan(target({ credentials: unknownKey }), signal));
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_INVALID_CLIENT_TOKEN_ID");
    assert.match(
      error.message,
      /^AWS STS AssumeRole of "arn:aws:iam::111122223333:role\/TroupeDiscoveryRole" for account 111122223333: InvalidClientTokenId/,
    );
    assert.equal(error.message.includes(unknownKey.secretAccessKey), false);
    assert.equal(error.message.includes(unknownKey.accessKeyId), false);

    const wrongSecret = { accessKeyId: aws.master.accessKeyId, secretAccessKey: "x".repeat(40) };
    const signature = await rejection(p.plan(target({ credentials: wrongSecret }), signal));
    assert.ok(signature instanceof PermanentError);
    assert.equal(signature.code, "AWS_SIGNATURE_DOES_NOT_MATCH");
    assertClean(signature);

    const single = createAwsDiscoveryProvider({ endpoints: aws.url, assumeRole: false });
    try {
      const direct = await rejection(single.plan(target({ credentials: unknownKey }), signal));
      assert.ok(direct instanceof PermanentError);
      assert.equal(direct.code, "AWS_INVALID_CLIENT_TOKEN_ID");
      assert.match(
        direct.message,
        /^AWS STS GetCallerIdentity for account 111122223333: InvalidClientTokenId/,
      );
      assert.equal(direct.message.includes(unknownKey.secretAccessKey), false);
    } finally {
      single.close();
    }
  });

  it("a role that does not trust the master key is AWS_ASSUME_ROLE_DENIED; an echoed secret is redacted", async () => {
    const denied = await rejection(
      p.plan(target({ credentials: { ...aws.master, roleName: "NoSuchRole" } }), signal),
    );
    assert.ok(denied instanceof PermanentError);
    assert.equal(denied.code, "AWS_ASSUME_ROLE_DENIED");
    aws.failNext("AssumeRole", {
      code: "AccessDenied",
      status: 403,
      message: `denied for ${aws.master.secretAccessKey}`,
    });
    const echoed = await rejection(p.plan(target(), signal));
    assert.ok(echoed instanceof PermanentError);
    assert.match(echoed.message, /denied for \[redacted\]/);
    assertClean(echoed);
  });

  it("each service's refusal of a revoked session is permanent; the session is dropped and the retry assumes anew", async () => {
    const sources = await p.plan(target(), signal);
    const expected: Record<string, [string, string]> = {
      "ec2.vpc us-east-1": ["AuthFailure", "AWS_AUTH_FAILURE"],
      "rds.db-instance us-east-1": ["InvalidClientTokenId", "AWS_INVALID_CLIENT_TOKEN_ID"],
      "elasticache.cluster us-east-1": ["InvalidClientTokenId", "AWS_INVALID_CLIENT_TOKEN_ID"],
      "s3.bucket us-east-1": ["InvalidAccessKeyId", "AWS_INVALID_CLIENT_TOKEN_ID"],
      "lambda.function us-east-1": ["UnrecognizedClientException", "AWS_INVALID_CLIENT_TOKEN_ID"],
    };
    for (const [name, [awsCode, code]] of Object.entries(expected)) {
      aws.revokeSessions();
      const before = aws.calls("AssumeRole").length;
      const s = sources.find((x) => x.name === name)!;
      const error = await rejection(s.fetchPage(undefined, signal));
      assert.ok(error instanceof PermanentError, name);
      assert.equal(error.code, code, name);
      assert.match(error.message, new RegExp(`: ${awsCode}`), name);
      assertClean(error);
      assert.ok((await drain(s)).resources.length > 0, `${name}: a new session lists again`);
      assert.equal(aws.calls("AssumeRole").length, before + 1);
    }
  });

  it("UnauthorizedOperation and AccessDenied are permanent AWS_ACCESS_DENIED", async () => {
    const ec2 = await source("ec2.subnet us-east-1");
    aws.failNext("DescribeSubnets", {
      code: "UnauthorizedOperation",
      status: 403,
      message: "You are not authorized to perform this operation.",
    });
    const e1 = await rejection(ec2.fetchPage(undefined, signal));
    assert.ok(e1 instanceof PermanentError);
    assert.equal(e1.code, "AWS_ACCESS_DENIED");
    const s3 = await source("s3.bucket us-east-1");
    aws.failNext("ListBuckets", { code: "AccessDenied", status: 403, message: "Access Denied" });
    const e2 = await rejection(s3.fetchPage(undefined, signal));
    assert.ok(e2 instanceof PermanentError);
    assert.equal(e2.code, "AWS_ACCESS_DENIED");
  });

  it("plan() fails transiently when DescribeRegions is throttled", async () => {
    aws.failNext("DescribeRegions", { code: "RequestLimitExceeded", status: 503, retryAfter: 7 });
    const error = await rejection(p.plan(target(), signal));
    assert.ok(error instanceof TransientError);
    assert.equal(error.retryAfterMs, 7000);
    assert.match(error.message, /^AWS EC2 DescribeRegions of account 111122223333: RequestLimitExceeded/);
  });

  it("bad targets are permanent and never echo a credential", async () => {
    const cases: [Partial<DiscoveryTarget>, RegExp][] = [
      [{ scope: "12345" }, /12-digit account id/],
      [
        { credentials: { accessKeyId: "AKIAABCDEFGHIJKLMNOP" } },
        /"accessKeyId" and "secretAccessKey" go together/,
      ],
      [{ credentials: { ...aws.master, secretKey: "hunter2-hunter2" } }, /unknown field "secretKey"/],
      [
        { credentials: { ...aws.master, roleArn: "arn:aws:iam::444455556666:role/X" } },
        /not in the target account/,
      ],
    ];
    for (const [extra, message] of cases) {
      const error = await rejection(p.plan(target(extra), signal));
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, message);
      assert.equal(error.message.includes("hunter2-hunter2"), false);
      assertClean(error);
    }
    assert.equal(aws.requests.length, 0, "nothing reached AWS");
  });

  it("an aborted page rejects with the signal's reason", async () => {
    const s = await source("ec2.vpc us-east-1");
    const controller = new AbortController();
    const reason = new Error("sync cancelled");
    controller.abort(reason);
    assert.equal(await rejection(s.fetchPage(undefined, controller.signal)), reason);
  });
});
