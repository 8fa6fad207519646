/** aws.iam.policy holds to the job-kind contract against the AWS stand-in (STS AssumeRole, then IAM). */
import { runJobKindContract } from "../../contract/job-kind.contract.ts";
import { createAwsIamPolicyKind } from "../../../adapters/aws-iam/mod.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import { startAwsStandIn } from "../../support/standins/aws/stand-in.ts";

const ACCOUNT = "111122223333";
const valid = {
  action: "attach",
  accountId: ACCOUNT,
  principalType: "role",
  principalName: "app",
  policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
};

runJobKindContract({
  name: "aws.iam.policy",
  async setup() {
    const aws = await startAwsStandIn();
    aws.account(ACCOUNT).trust("cSecBridgeIAMHandlerRole").addRole("app");
    const wrong = {
      accessKeyId: aws.master.accessKeyId,
      secretAccessKey: "wRongSecretKeyKindContract00000000000000",
    };
    const kind = createAwsIamPolicyKind({
      credentials: aws.master,
      endpoints: { sts: aws.url, iam: aws.url },
    });
    const refusing = createAwsIamPolicyKind({
      credentials: wrong,
      endpoints: { sts: aws.url, iam: aws.url },
    });
    return {
      kind: kind as unknown as JobKind,
      validPayload: valid,
      badPayloads: [
        { payload: { ...valid, accountId: "1111" }, field: "accountId" },
        { payload: { ...valid, action: "replace" }, field: "action" },
        { payload: { ...valid, principalName: "no spaces allowed" }, field: "principalName" },
        { payload: { ...valid, policyArn: "arn:aws:iam::999999999999:policy/Other" }, field: "policyArn" },
      ],
      refused: { kind: refusing as unknown as JobKind, payload: valid },
      secrets: [aws.master.secretAccessKey, wrong.secretAccessKey],
      runUntilAborted: {
        hold: () => aws.delayNext("AttachRolePolicy", 30_000),
        started: async () => {
          while (aws.calls("AttachRolePolicy").length === 0) await new Promise((r) => setTimeout(r, 10));
        },
      },
      activity: () => aws.requests.length,
      async close() {
        kind.close();
        refusing.close();
        await aws.close();
      },
    };
  },
});
