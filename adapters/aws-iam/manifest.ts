/**
 * The `aws-iam` plugin's manifest: `aws.iam.policy`, whose AWS SDK loads with
 * its first job.
 *
 * @module
 */
import { z } from "zod";
import type { PluginManifest } from "../plugin.ts";
import { AWS_IAM_POLICY_KIND, awsIamPolicySchema } from "./schema.ts";

/** `aws.iam.policy`. Credentials and `AWS_ENDPOINT_URL[_STS|_IAM]` are the SDK's own: it reads them itself. */
export const awsIamManifest: PluginManifest = {
  name: "aws-iam",
  description: "Attaches and detaches managed IAM policies through STS AssumeRole",
  settings: {
    AWS_HANDLER_ROLE_NAME: {
      schema: z.string().regex(/^[\w+=,.@-]{1,64}$/, "use 1-64 characters of an IAM role name").default(
        "cSecBridgeIAMHandlerRole",
      ),
      help: "Role aws.iam.policy assumes in each account unless the payload names one",
    },
    AWS_REGION: { schema: z.string().min(1).optional(), help: "Signing region of STS and IAM calls" },
  },
  kinds: [{
    ...AWS_IAM_POLICY_KIND,
    schema: awsIamPolicySchema,
    async load(context) {
      const { createAwsIamPolicyKind } = await import("./mod.ts");
      const region = context.settings.AWS_REGION as string | undefined;
      return createAwsIamPolicyKind({
        handlerRoleName: context.settings.AWS_HANDLER_ROLE_NAME as string,
        ...(region ? { region } : {}),
        // Deno 2.9.5 re-sends an aborted request on a reused connection (README.md).
        keepAlive: context.runtime.startsWith("node"),
        ...(context.logger ? { logger: context.logger } : {}),
      }) as unknown as import("../../machines/job-kind.ts").JobKind;
    },
  }],
};
