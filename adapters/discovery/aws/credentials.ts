/**
 * The `credentials` of an AWS discovery target: optional master keys and an
 * optional role to assume. Checked field by field; messages name the field,
 * never its value.
 *
 * @module
 */
import { PermanentError } from "../../../machines/errors.ts";

/** What `target.credentials` may hold; every field optional. */
export interface AwsTargetCredentials {
  /** Master credentials; unset: the AWS SDK's default provider chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** The role to assume in the account (default: the provider's `roleName` option). */
  roleName?: string;
  /** The full role ARN; must be in the target account. Wins over `roleName`. */
  roleArn?: string;
  /** Sent as STS `ExternalId`. */
  externalId?: string;
}

const FIELDS = [
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "roleName",
  "roleArn",
  "externalId",
] as const;
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/[\w+=,.@/-]+$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

function invalid(message: string): PermanentError {
  return new PermanentError(`AWS discovery credentials: ${message}`, { code: "AWS_INVALID_CREDENTIALS" });
}

/** Reads and checks `target.credentials` of account `scope`. */
export function parseTargetCredentials(
  raw: Record<string, unknown> | undefined,
  scope: string,
): AwsTargetCredentials {
  const out: AwsTargetCredentials = {};
  if (raw === undefined) return out;
  for (const key of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw invalid(`unknown field "${key}" (expected ${FIELDS.join(", ")})`);
    }
  }
  for (const field of FIELDS) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || value === "") throw invalid(`"${field}" must be a non-empty string`);
    out[field] = value;
  }
  if ((out.accessKeyId === undefined) !== (out.secretAccessKey === undefined)) {
    throw invalid(`"accessKeyId" and "secretAccessKey" go together`);
  }
  if (out.sessionToken !== undefined && out.accessKeyId === undefined) {
    throw invalid(`"sessionToken" needs "accessKeyId" and "secretAccessKey"`);
  }
  if (out.roleName !== undefined && !ROLE_NAME.test(out.roleName)) {
    throw invalid(`"roleName" must be 1-64 characters of letters, digits and +=,.@_-`);
  }
  if (out.roleArn !== undefined) {
    const account = ROLE_ARN.exec(out.roleArn)?.[1];
    if (account === undefined) throw invalid(`"roleArn" must be an IAM role ARN`);
    if (account !== scope) {
      throw invalid(`"roleArn" is in account ${account}, not in the target account ${scope}`);
    }
  }
  return out;
}

/** The secrets of the master credentials, to strip from messages. */
export function masterSecrets(credentials: AwsTargetCredentials): string[] {
  return [credentials.secretAccessKey, credentials.sessionToken].filter((s): s is string => s !== undefined);
}
