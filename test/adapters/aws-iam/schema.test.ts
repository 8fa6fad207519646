import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KindRegistry } from "../../../actors/plugins/kind-registry.ts";
import { ValidationError } from "../../../machines/errors.ts";
import { createAwsIamPolicyKind } from "../../../adapters/aws-iam/mod.ts";
import { awsIamPolicySchema } from "../../../adapters/aws-iam/schema.ts";

const valid = {
  action: "attach",
  accountId: "111122223333",
  principalType: "role",
  principalName: "app-reader",
  policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
};

/** The first issue's path, or "ok". */
function firstIssue(payload: unknown): string {
  const parsed = awsIamPolicySchema.safeParse(payload);
  return parsed.success ? "ok" : parsed.error.issues.map((i) => i.path.join(".")).join(",");
}

describe("awsIamPolicySchema", () => {
  it("awsIamPolicySchema accepts a minimal payload and defaults dryRun to false", () => {
    const parsed = awsIamPolicySchema.parse(valid);
    assert.equal(parsed.dryRun, false);
    assert.equal(parsed.roleName, undefined);
  });

  it("awsIamPolicySchema accepts every optional field within its limits", () => {
    const payload = {
      ...valid,
      action: "detach",
      principalType: "user",
      principalName: "a+b=c,d.e@f_g-h",
      policyArn: "arn:aws-us-gov:iam::111122223333:policy/team/ops/Deploy_Policy",
      roleName: "x".repeat(64),
      externalId: "tenant:42/a",
      sessionName: "x".repeat(32),
      dryRun: true,
    };
    assert.equal(firstIssue(payload), "ok");
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ["an account id of 3 digits", { accountId: "123" }, "accountId"],
    ["an account id of 13 digits", { accountId: "1111222233334" }, "accountId"],
    ["an account id with letters", { accountId: "11112222333a" }, "accountId"],
    ["an account id given as a number", { accountId: 111122223333 }, "accountId"],
    ["an unknown action", { action: "delete" }, "action"],
    ["an unknown principal type", { principalType: "group" }, "principalType"],
    ["an empty principal name", { principalName: "" }, "principalName"],
    ["a principal name of 65 characters", { principalName: "x".repeat(65) }, "principalName"],
    ["a principal name with a space", { principalName: "app reader" }, "principalName"],
    ["a principal name with a slash", { principalName: "path/app" }, "principalName"],
    ["a role ARN as policy", { policyArn: "arn:aws:iam::111122223333:role/app" }, "policyArn"],
    [
      "a policy ARN of an unknown partition",
      { policyArn: "arn:aws-xx:iam::aws:policy/ReadOnlyAccess" },
      "policyArn",
    ],
    ["a policy ARN with a short account", { policyArn: "arn:aws:iam::1234:policy/P" }, "policyArn"],
    ["a policy ARN without a name", { policyArn: "arn:aws:iam::aws:policy/" }, "policyArn"],
    ["a policy of another account", { policyArn: "arn:aws:iam::999988887777:policy/P" }, "policyArn"],
    ["a role name with a colon", { roleName: "a:b" }, "roleName"],
    ["an external id of 1 character", { externalId: "x" }, "externalId"],
    ["an external id with a space", { externalId: "tenant 42" }, "externalId"],
    ["a session name of 33 characters", { sessionName: "x".repeat(33) }, "sessionName"],
    ["a dryRun that is a string", { dryRun: "yes" }, "dryRun"],
    ["an unknown field", { force: true }, ""],
  ];
  for (const [what, change, path] of refused) {
    it(`awsIamPolicySchema refuses ${what}`, () => {
      assert.equal(firstIssue({ ...valid, ...change }), path);
    });
  }

  it("awsIamPolicySchema refuses a payload missing a required field, naming it", () => {
    const { principalName: _, ...rest } = valid;
    assert.equal(firstIssue(rest), "principalName");
  });
});

describe("aws.iam.policy in the kind registry", () => {
  it("KindRegistry.validate() names payload.accountId when it is not 12 digits", () => {
    const kind = createAwsIamPolicyKind({
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-used" },
    });
    try {
      const registry = new KindRegistry([kind as never]);
      assert.throws(
        () => registry.validate("aws.iam.policy", { ...valid, accountId: "123" }),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.equal(error.field, "payload.accountId");
          assert.match(error.message, /payload\.accountId: must be exactly 12 digits/);
          return true;
        },
      );
    } finally {
      kind.close();
    }
  });
});
