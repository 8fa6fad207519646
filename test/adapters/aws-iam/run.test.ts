/**
 * The `aws.iam.policy` kind's run, with the real AWS SDK against the STS/IAM
 * stand-in: what reached AWS, signed by which key, and what the run returned.
 */
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import {
  type AwsIamPolicyKind,
  type AwsIamPolicyKindOptions,
  awsIamPolicySchema,
  createAwsIamPolicyKind,
} from "../../../adapters/aws-iam/mod.ts";
import {
  type AwsStandIn as StandIn,
  startAwsStandIn as startStandIn,
} from "../../support/standins/aws/stand-in.ts";

const ACCOUNT = "111122223333";
const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const AUDIT = "arn:aws:iam::aws:policy/SecurityAudit";
const base = { accountId: ACCOUNT, principalType: "role", principalName: "app", policyArn: READ_ONLY };

describe("aws.iam.policy run()", () => {
  let aws: StandIn;
  let clock = Date.now();
  let standInClock = Date.now();
  const kinds: AwsIamPolicyKind[] = [];

  before(async () => {
    aws = await startStandIn({ now: () => standInClock });
  });
  after(async () => {
    await aws.close();
  });
  beforeEach(() => {
    clock = Date.now();
    standInClock = Date.now();
    aws.requests.length = 0;
    aws.issued.length = 0;
    aws.state.pageSize = 100;
    aws.account(ACCOUNT).trust("cSecBridgeIAMHandlerRole").trust("tenant-role", { externalId: "tenant-42" })
      .addRole("app").addUser("alice");
  });
  afterEach(() => {
    for (const kind of kinds.splice(0)) kind.close();
  });

  function kind(options: AwsIamPolicyKindOptions = {}): AwsIamPolicyKind {
    const made = createAwsIamPolicyKind({
      credentials: aws.master,
      endpoints: { sts: aws.url, iam: aws.url },
      now: () => clock,
      ...options,
    });
    kinds.push(made);
    return made;
  }
  function run(
    k: AwsIamPolicyKind,
    id: string,
    payload: Record<string, unknown>,
    signal = new AbortController().signal,
  ) {
    return k.run({
      id,
      kind: k.kind,
      attempt: 1,
      maxAttempts: 1,
      org: null,
      signal,
      payload: awsIamPolicySchema.parse(payload),
    });
  }
  const rejects = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    assert.fail("expected a rejection");
  };

  it("run() assumes the handler role with the master key, then attaches with the session's key and token", async () => {
    const outcome = await run(kind(), "job-attach-1", { ...base, action: "attach" });
    const [assume] = aws.calls("AssumeRole");
    assert.equal(aws.calls("AssumeRole").length, 1);
    assert.equal(assume?.accessKeyId, aws.master.accessKeyId);
    assert.equal(assume?.securityToken, undefined);
    assert.equal(assume?.params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/cSecBridgeIAMHandlerRole`);
    assert.equal(assume?.params.ExternalId, undefined);
    assert.match(assume?.params.RoleSessionName ?? "", /job-attach-1/);
    const session = aws.issued[0];
    const [attach] = aws.calls("AttachRolePolicy");
    assert.deepEqual([attach?.params.RoleName, attach?.params.PolicyArn], ["app", READ_ONLY]);
    for (const call of aws.requests.filter((r) => r.service === "iam")) {
      assert.equal(call.accessKeyId, session?.accessKeyId);
      assert.equal(call.securityToken, session?.sessionToken);
      assert.equal(call.signatureValid, true);
    }
    assert.ok(aws.requests.every((r) => r.signatureValid));
    assert.deepEqual(aws.account(ACCOUNT).attached("role", "app"), [READ_ONLY]);
    assert.deepEqual(outcome?.refs, [
      { system: "aws.sts", ref: assume?.requestId },
      { system: "aws.iam", ref: attach?.requestId },
    ]);
    assert.deepEqual(outcome?.result, {
      action: "attach",
      accountId: ACCOUNT,
      principal: { type: "role", name: "app" },
      policyArn: READ_ONLY,
      changed: true,
      requestId: attach?.requestId,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/cSecBridgeIAMHandlerRole`,
      sessionName: "troupe-job-attach-1",
    });
  });

  it("run() attaches to a user with AttachUserPolicy", async () => {
    await run(kind(), "job-user-1", {
      ...base,
      principalType: "user",
      principalName: "alice",
      action: "attach",
    });
    assert.equal(aws.calls("AttachUserPolicy")[0]?.params.UserName, "alice");
    assert.deepEqual(aws.account(ACCOUNT).attached("user", "alice"), [READ_ONLY]);
  });

  it("run() passes the payload's role, ExternalId and a sanitised RoleSessionName", async () => {
    await run(kind(), "req:42/x", {
      ...base,
      action: "attach",
      roleName: "tenant-role",
      externalId: "tenant-42",
      sessionName: "ops",
    });
    const [assume] = aws.calls("AssumeRole");
    assert.equal(assume?.params.RoleArn, `arn:aws:iam::${ACCOUNT}:role/tenant-role`);
    assert.equal(assume?.params.ExternalId, "tenant-42");
    assert.equal(assume?.params.RoleSessionName, "ops-req-42-x");
  });

  it("run() keeps a long job id whole in a RoleSessionName of at most 64 characters", async () => {
    const id = `j-${"a".repeat(60)}`;
    await run(kind(), id, { ...base, action: "attach" });
    const name = aws.calls("AssumeRole")[0]?.params.RoleSessionName ?? "";
    assert.ok(name.length <= 64 && name.endsWith(id), name);
  });

  it("run() reuses the cached session for a second job of the same account", async () => {
    const k = kind();
    await run(k, "cache-1", { ...base, action: "attach" });
    const second = await run(k, "cache-2", { ...base, action: "attach", policyArn: AUDIT });
    assert.equal(aws.calls("AssumeRole").length, 1);
    assert.equal(aws.calls("AttachRolePolicy")[1]?.accessKeyId, aws.issued[0]?.accessKeyId);
    assert.deepEqual(second?.refs?.map((r) => r.system), ["aws.iam"]);
  });

  it("run() makes one AssumeRole for concurrent jobs of the same account", async () => {
    const k = kind();
    await Promise.all([1, 2, 3].map((n) => run(k, `burst-${n}`, { ...base, action: "attach" })));
    assert.equal(aws.calls("AssumeRole").length, 1);
  });

  it("run() assumes the role again once the cached session is within 5 minutes of expiry", async () => {
    const k = kind();
    await run(k, "fresh-1", { ...base, action: "attach" });
    clock += 54 * 60_000;
    await run(k, "fresh-2", { ...base, action: "attach" });
    assert.equal(aws.calls("AssumeRole").length, 1, "still fresh at 54 minutes");
    clock += 2 * 60_000;
    await run(k, "fresh-3", { ...base, action: "attach" });
    assert.equal(aws.calls("AssumeRole").length, 2);
    assert.match(aws.calls("AssumeRole")[1]?.params.RoleSessionName ?? "", /fresh-3/);
    assert.equal(aws.calls("AttachRolePolicy")[2]?.accessKeyId, aws.issued[1]?.accessKeyId);
  });

  it("run() keeps separate sessions for different accounts and external ids", async () => {
    aws.account("444455556666").trust("cSecBridgeIAMHandlerRole").addRole("app");
    const k = kind();
    await run(k, "acct-1", { ...base, action: "attach" });
    await run(k, "acct-2", { ...base, accountId: "444455556666", action: "attach" });
    await run(k, "acct-3", { ...base, action: "attach", roleName: "tenant-role", externalId: "tenant-42" });
    assert.equal(aws.calls("AssumeRole").length, 3);
    assert.deepEqual(aws.account("444455556666").attached("role", "app"), [READ_ONLY]);
  });

  it("run() drops a session IAM refuses as expired, and the next attempt assumes the role again", async () => {
    const k = kind();
    await run(k, "expired-1", { ...base, action: "attach" });
    standInClock += 2 * 3600_000;
    const error = await rejects(run(k, "expired-2", { ...base, action: "attach" }));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AWS_SESSION_REFUSED");
    standInClock = Date.now();
    await run(k, "expired-3", { ...base, action: "attach" });
    assert.equal(aws.calls("AssumeRole").length, 2);
  });

  it("run() reports changed false when attaching a policy attached already, and still sends the attach", async () => {
    aws.account(ACCOUNT).addRole("app", [READ_ONLY]);
    const outcome = await run(kind(), "again-1", { ...base, action: "attach" });
    assert.equal((outcome?.result as { changed: boolean }).changed, false);
    assert.equal(aws.calls("AttachRolePolicy").length, 1);
    assert.deepEqual(aws.account(ACCOUNT).attached("role", "app"), [READ_ONLY]);
  });

  it("run() detaches an attached policy with changed true", async () => {
    aws.account(ACCOUNT).addRole("app", [READ_ONLY, AUDIT]);
    const outcome = await run(kind(), "detach-1", { ...base, action: "detach" });
    assert.equal((outcome?.result as { changed: boolean }).changed, true);
    assert.deepEqual(aws.account(ACCOUNT).attached("role", "app"), [AUDIT]);
    assert.deepEqual(outcome?.refs?.at(-1), {
      system: "aws.iam",
      ref: aws.calls("DetachRolePolicy")[0]?.requestId,
    });
  });

  it("run() succeeds with changed false when detaching a policy that is not attached (the principal exists)", async () => {
    const outcome = await run(kind(), "detach-2", { ...base, action: "detach" });
    const result = outcome?.result as { changed: boolean; requestId: string };
    assert.equal(result.changed, false);
    assert.equal(aws.calls("DetachRolePolicy")[0]?.status, 404);
    assert.equal(aws.calls("GetRole").length, 1);
    assert.equal(result.requestId, aws.calls("DetachRolePolicy")[0]?.requestId);
  });

  it("run() attaches with a role refused the ListAttached read, reporting changed as unknown", async () => {
    const denied = {
      code: "AccessDenied",
      message: "User is not authorized to perform: iam:ListAttachedRolePolicies",
    };
    aws.failNext("ListAttachedRolePolicies", denied);
    const outcome = await run(kind(), "least-1", { ...base, action: "attach" });
    const result = outcome?.result as { changed: boolean | null; note: string; requestId: string };
    assert.equal(result.changed, null);
    assert.match(result.note, /iam:ListAttachedRolePolicies/);
    assert.equal(result.requestId, aws.calls("AttachRolePolicy")[0]?.requestId);
    assert.deepEqual(aws.account(ACCOUNT).attached("role", "app"), [READ_ONLY]);
  });

  it("run() succeeds with changed false when a detach answers NoSuchEntity and the principal read is refused", async () => {
    aws.failNext("GetRole", {
      code: "AccessDenied",
      message: "User is not authorized to perform: iam:GetRole",
    });
    const outcome = await run(kind(), "least-2", { ...base, action: "detach" });
    const result = outcome?.result as { changed: boolean; note: string };
    assert.equal(result.changed, false);
    assert.match(result.note, /refused the read of the role/);
    assert.equal(aws.calls("GetRole").length, 1);
  });

  it("run() still fails an attach whose write is refused when the read was refused too", async () => {
    aws.failNext("ListAttachedRolePolicies", { code: "AccessDenied" });
    aws.failNext("AttachRolePolicy", { code: "AccessDenied" });
    const error = await rejects(run(kind(), "least-3", { ...base, action: "attach" }));
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_ACCESS_DENIED");
  });

  it("run() fails permanently when detaching from a role that does not exist", async () => {
    const error = await rejects(
      run(kind(), "detach-3", { ...base, principalName: "ghost", action: "detach" }),
    );
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_NO_SUCH_ENTITY");
    assert.match(
      error.message,
      /^Cannot detach policy "arn:aws:iam::aws:policy\/ReadOnlyAccess" from role "ghost" in account "111122223333": NoSuchEntity: The role with name ghost cannot be found/,
    );
  });

  it("run() fails permanently when attaching to a user that does not exist", async () => {
    const error = await rejects(
      run(kind(), "attach-ghost", {
        ...base,
        principalType: "user",
        principalName: "ghost",
        action: "attach",
      }),
    );
    assert.ok(error instanceof PermanentError);
    assert.match(error.message, /NoSuchEntity/);
    assert.equal(aws.calls("AttachUserPolicy").length, 0);
  });

  it("run() with dryRun reads principal, policy and every page of attachments, and changes nothing", async () => {
    const policies = [1, 2, 3, 4].map((n) => aws.account(ACCOUNT).addPolicy(`p${n}`));
    aws.account(ACCOUNT).addRole("app", [...policies, READ_ONLY]);
    aws.state.pageSize = 2;
    const outcome = await run(kind(), "dry-1", { ...base, action: "detach", dryRun: true });
    assert.deepEqual(aws.requests.filter((r) => r.service === "iam").map((r) => r.action), [
      "GetRole",
      "GetPolicy",
      "ListAttachedRolePolicies",
      "ListAttachedRolePolicies",
      "ListAttachedRolePolicies",
    ]);
    assert.ok(
      aws.calls("ListAttachedRolePolicies")[1]?.params.Marker,
      "the second page asks with the Marker",
    );
    const result = outcome?.result as Record<string, unknown>;
    assert.deepEqual([result.dryRun, result.changed, result.attached, result.wouldChange], [
      true,
      false,
      true,
      true,
    ]);
    assert.equal(aws.account(ACCOUNT).attached("role", "app").length, 5);
  });

  it("run() with dryRun says an attach would change nothing when the policy is attached", async () => {
    aws.account(ACCOUNT).addRole("app", [READ_ONLY]);
    const outcome = await run(kind(), "dry-2", { ...base, action: "attach", dryRun: true });
    assert.equal((outcome?.result as { wouldChange: boolean }).wouldChange, false);
    assert.equal(aws.calls("AttachRolePolicy").length, 0);
  });

  it("run() fails permanently with AWS_ASSUME_ROLE_DENIED when the account does not trust the master key", async () => {
    const error = await rejects(
      run(kind(), "deny-1", { ...base, accountId: "999988887777", action: "attach" }),
    );
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_ASSUME_ROLE_DENIED");
    assert.match(
      error.message,
      /^Cannot assume role "arn:aws:iam::999988887777:role\/cSecBridgeIAMHandlerRole" for account "999988887777": AccessDenied: /,
    );
    assert.equal(aws.requests.filter((r) => r.service === "iam").length, 0);
  });

  it("run() is refused the role when the ExternalId is wrong", async () => {
    const error = await rejects(
      run(kind(), "deny-2", { ...base, action: "attach", roleName: "tenant-role", externalId: "tenant-41" }),
    );
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "AWS_ASSUME_ROLE_DENIED");
  });

  it("run() turns Throttling with Retry-After into a TransientError, and the SDK does not retry it itself", async () => {
    aws.failNext("AttachRolePolicy", { code: "Throttling", message: "Rate exceeded", retryAfter: 7 });
    const error = await rejects(run(kind(), "throttle-1", { ...base, action: "attach" }));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AWS_THROTTLING");
    assert.equal(error.retryAfterMs, 7000);
    assert.match(error.message, /: Throttling: Rate exceeded$/);
    assert.equal(aws.calls("AttachRolePolicy").length, 1);
  });

  it("run() turns a throttled AssumeRole and a 503 into TransientErrors", async () => {
    aws.failNext("AssumeRole", { code: "Throttling" });
    const throttled = await rejects(run(kind(), "t-2", { ...base, action: "attach" }));
    assert.ok(throttled instanceof TransientError);
    aws.failNext("DetachRolePolicy", { code: "ServiceUnavailable" });
    const unavailable = await rejects(run(kind(), "t-3", { ...base, action: "detach" }));
    assert.ok(unavailable instanceof TransientError);
    assert.equal(unavailable.code, "AWS_SERVICE_UNAVAILABLE");
  });

  it("run() turns a refused connection into a TransientError", async () => {
    const k = kind({ endpoints: { sts: "http://127.0.0.1:1", iam: aws.url } });
    const error = await rejects(run(k, "refused-1", { ...base, action: "attach" }));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AWS_CONNECTION");
  });

  it("run() rejects an aborted signal without reaching AWS", async () => {
    const controller = new AbortController();
    controller.abort(new Error("Cancelled by the test"));
    const error = await rejects(run(kind(), "abort-1", { ...base, action: "attach" }, controller.signal));
    assert.equal((error as Error).message, "Cancelled by the test");
    assert.equal(aws.requests.length, 0);
  });

  it("run() stops an IAM call in flight when the signal aborts", async () => {
    const k = kind();
    await run(k, "warm-1", { ...base, action: "attach", policyArn: AUDIT });
    aws.delayNext("AttachRolePolicy", 5000);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error("Timed out by the test")), 100);
    const error = await rejects(run(k, "abort-2", { ...base, action: "attach" }, controller.signal));
    assert.equal((error as Error).message, "Timed out by the test");
    assert.ok(Date.now() - started < 4000, "did not wait for the answer");
    assert.equal(aws.calls("AttachRolePolicy").length, 2, "the call had reached the stand-in");
    // The aborted call must not be sent again (Deno re-sends it on a keep-alive connection).
    await new Promise((resolve) => setTimeout(resolve, 200));
    await run(k, "after-abort", { ...base, action: "attach", policyArn: AUDIT });
    const ids = aws.requests.map((r) => r.invocationId);
    assert.equal(new Set(ids).size, ids.length, "every SDK call reached the stand-in once");
  });

  it("run() takes credentials and endpoints from the SDK's standard environment variables when the options leave them unset", async () => {
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_STS: aws.url,
      AWS_ENDPOINT_URL_IAM: aws.url,
      AWS_ACCESS_KEY_ID: aws.master.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.master.secretAccessKey,
    };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    try {
      const k = createAwsIamPolicyKind({ now: () => clock });
      kinds.push(k);
      await run(k, "env-1", { ...base, action: "attach" });
      assert.equal(aws.calls("AssumeRole")[0]?.accessKeyId, aws.master.accessKeyId);
      assert.equal(aws.calls("AttachRolePolicy").length, 1);
      assert.ok(aws.requests.every((r) => r.signatureValid));
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("run() fails permanently with AWS_NO_CREDENTIALS, saying where the SDK looked, when no credentials exist anywhere", async () => {
    const env: Record<string, string | undefined> = {
      AWS_ENDPOINT_URL_STS: aws.url,
      AWS_ENDPOINT_URL_IAM: aws.url,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/troupe-test/credentials",
      AWS_CONFIG_FILE: "/nonexistent/troupe-test/config",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    try {
      const k = createAwsIamPolicyKind({ now: () => clock });
      kinds.push(k);
      const error = await rejects(run(k, "nocreds-1", { ...base, action: "attach" }));
      assert.ok(error instanceof PermanentError, String(error));
      assert.equal(error.code, "AWS_NO_CREDENTIALS");
      assert.match(error.message, /CredentialsProviderError/);
      assert.match(error.message, /AWS_ACCESS_KEY_ID/);
      assert.equal(aws.calls("AssumeRole").length, 0);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
