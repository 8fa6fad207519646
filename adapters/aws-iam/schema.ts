/**
 * The payload of `aws.iam.policy`: attach or detach one managed policy to or from
 * one IAM user or role in one account. Strict: unknown fields are refused, and
 * every string is held to the limits IAM and STS document, so a bad request fails
 * the job at once with a message naming the field instead of reaching AWS.
 *
 * @example
 * ```json
 * { "action": "attach", "accountId": "111122223333", "principalType": "role",
 *   "principalName": "app-reader", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess" }
 * ```
 * @module
 */
import { z } from "zod";

/** IAM user and role names: `[\w+=,.@-]`, 1 to 64 characters. */
export const IAM_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * A managed policy ARN: partition `aws`, `aws-cn` or `aws-us-gov`; owner `aws` (an
 * AWS managed policy) or a 12-digit account; an optional path (`/a/b/`, printable
 * ASCII) and a policy name of `[\w+=,.@-]`, 1 to 128 characters.
 */
export const POLICY_ARN =
  /^arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy\/(?:[\x21-\x7E]{0,510}\/)?[\w+=,.@-]{1,128}$/;

/** STS `ExternalId`: `[\w+=,.@:/-]`, 2 to 1224 characters. */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** The caller's part of an STS `RoleSessionName` (the job id is appended): `[\w+=,.@-]`, 1 to 32. */
export const SESSION_NAME = /^[\w+=,.@-]{1,32}$/;

const iamName = (what: string) =>
  z.string().regex(IAM_NAME, { message: `must be an IAM ${what} name: 1-64 letters, digits or +=,.@_-` });

/** Payload of `aws.iam.policy`. */
export const awsIamPolicySchema = z.strictObject({
  action: z.enum(["attach", "detach"]),
  accountId: z.string().regex(/^\d{12}$/, { message: "must be exactly 12 digits" }),
  principalType: z.enum(["user", "role"]),
  principalName: iamName("user or role"),
  policyArn: z.string().max(2048).regex(POLICY_ARN, {
    message: "must be a managed policy ARN: arn:aws[-cn|-us-gov]:iam::(aws|<12 digits>):policy/[path/]name",
  }),
  /** The role assumed in the account; defaults to the kind's `handlerRoleName`. */
  roleName: iamName("role").optional(),
  /** Shared with the account's owner to guard the role: shown as `"***"` by the API (writeOnly). */
  externalId: z.string().regex(EXTERNAL_ID, { message: "must be 2-1224 letters, digits or +=,.@:/_-" })
    .meta({ writeOnly: true }).optional(),
  sessionName: z.string().regex(SESSION_NAME, { message: "must be 1-32 letters, digits or +=,.@_-" })
    .optional(),
  /** Check and report what would change, change nothing. */
  dryRun: z.boolean().default(false),
}).superRefine((payload, ctx) => {
  const owner = POLICY_ARN.exec(payload.policyArn)?.[2];
  // IAM attaches AWS managed policies and the account's own, never another account's.
  if (owner !== undefined && owner !== "aws" && owner !== payload.accountId) {
    ctx.addIssue({
      code: "custom",
      path: ["policyArn"],
      message:
        `must be an AWS managed policy or one of account "${payload.accountId}", not of account "${owner}"`,
    });
  }
});

/** A validated payload of `aws.iam.policy`. */
export type AwsIamPolicyPayload = z.output<typeof awsIamPolicySchema>;

/** The ARN partition of a policy ARN (`aws`, `aws-cn`, `aws-us-gov`). */
export function policyPartition(policyArn: string): string {
  return /^arn:([\w-]+):/.exec(policyArn)?.[1] ?? "aws";
}

/** The kind's name and description, known without loading the AWS SDK (see actors/plugins/lazy-kind.ts). */
export const AWS_IAM_POLICY_KIND = {
  kind: "aws.iam.policy",
  description: "Attaches or detaches a managed IAM policy to or from a user or role, through STS AssumeRole",
  /** Per-attempt time limit unless the job says otherwise. */
  timeoutMs: 120_000,
} as const;
