/**
 * STS AssumeRole into the handler role of the target account, and the naming
 * that goes with it: the role ARN, a RoleSessionName that carries the job id (so
 * CloudTrail ties the IAM change to the job), and the session cache key.
 *
 * @module
 */
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { IAMClient } from "@aws-sdk/client-iam";
import { TransientError } from "../../machines/errors.ts";
import { awsRequestId, classifyAwsError } from "./classify.ts";
import type { SessionCredentials } from "./client.ts";
import type { Expiring } from "./session-cache.ts";

/** An assumed-role session: its IAM client and what must never be shown of it. */
export interface AssumedSession extends Expiring {
  roleArn: string;
  /** The RoleSessionName, as CloudTrail shows it. */
  sessionName: string;
  iam: IAMClient;
  /** The temporary secret key and session token, to strip from any message. */
  secrets: string[];
  /** The STS request id of the AssumeRole call. */
  requestId: string | undefined;
}

/** What to assume. */
export interface AssumeTarget {
  partition: string;
  accountId: string;
  roleName: string;
  externalId?: string | undefined;
  /** The caller's prefix of the session name (default `troupe`). */
  sessionName?: string | undefined;
}

/** `arn:<partition>:iam::<accountId>:role/<roleName>`. */
export function roleArn(target: AssumeTarget): string {
  return `arn:${target.partition}:iam::${target.accountId}:role/${target.roleName}`;
}

/** The cache key of a session: one per account, role, external id and session prefix. */
export function sessionKey(target: AssumeTarget): string {
  return JSON.stringify([roleArn(target), target.externalId ?? null, target.sessionName ?? null]);
}

/**
 * A RoleSessionName within STS's limits (`[\w+=,.@-]`, 2 to 64 characters) that
 * keeps the whole job id when it can: the prefix is shortened first.
 */
export function roleSessionName(jobId: string, prefix = "troupe"): string {
  const clean = (s: string) => s.replace(/[^\w+=,.@-]/g, "-");
  const id = clean(jobId).slice(-64);
  const head = clean(prefix).slice(0, Math.max(0, 64 - id.length - 1));
  const name = head ? `${head}-${id}` : id;
  return name.length >= 2 ? name : `${name}--`.slice(0, 2);
}

/** Options of {@link assumeRole}. */
export interface AssumeRoleOptions {
  sts: STSClient;
  jobId: string;
  durationSeconds: number;
  signal: AbortSignal;
  openIam(credentials: SessionCredentials): IAMClient;
  /** Master secrets known to the kind (static credentials), to strip from messages. */
  secrets?: readonly string[];
}

/** Calls STS AssumeRole; a refusal is a PermanentError, throttling and 5xx are transient. */
export async function assumeRole(target: AssumeTarget, options: AssumeRoleOptions): Promise<AssumedSession> {
  const arn = roleArn(target);
  const sessionName = roleSessionName(options.jobId, target.sessionName);
  let output;
  try {
    output = await options.sts.send(
      new AssumeRoleCommand({
        RoleArn: arn,
        RoleSessionName: sessionName,
        DurationSeconds: options.durationSeconds,
        ...(target.externalId ? { ExternalId: target.externalId } : {}),
      }),
      { abortSignal: options.signal },
    );
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    throw classifyAwsError(error, {
      context: `Cannot assume role "${arn}" for account "${target.accountId}"`,
      accessDeniedCode: "AWS_ASSUME_ROLE_DENIED",
      secrets: options.secrets ?? [],
    });
  }
  const c = output.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new TransientError(
      `Cannot assume role "${arn}" for account "${target.accountId}": STS answered without credentials`,
      {
        code: "AWS_NO_CREDENTIALS",
      },
    );
  }
  const credentials = {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
  };
  return {
    roleArn: arn,
    sessionName,
    expiration: c.Expiration,
    iam: options.openIam(credentials),
    secrets: [c.SecretAccessKey, c.SessionToken],
    requestId: awsRequestId(output),
  };
}
