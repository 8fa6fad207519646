/**
 * One attempt of `aws.iam.policy`: assume the handler role of the account (or
 * reuse the cached session), then attach, detach or dry-run, and return the
 * result and the AWS request ids as refs. Every SDK call gets the job's signal.
 *
 * Detaching a policy that is not attached: IAM answers NoSuchEntity both when
 * the principal is missing and when the policy is not attached to it. On that
 * answer the run reads the principal: when it exists the desired state holds
 * (the policy is not attached) and the job succeeds with `changed: false`; when
 * it does not, the job fails permanently. Attaching is idempotent in IAM, so both
 * actions are safe to repeat.
 *
 * @module
 */
import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import type { JobOutcome } from "../../machines/job-kind.ts";
import { PermanentError, TransientError } from "../../machines/errors.ts";
import { type AssumedSession, assumeRole, type AssumeTarget, sessionKey } from "./assume-role.ts";
import { awsErrorCode, awsRequestId, classifyAwsError } from "./classify.ts";
import type { SessionCredentials } from "./client.ts";
import {
  attachPolicy,
  detachPolicy,
  getPolicy,
  getPrincipal,
  isAttached,
  type Principal,
} from "./iam-calls.ts";
import { type AwsIamPolicyPayload, policyPartition } from "./schema.ts";
import type { SessionCache } from "./session-cache.ts";

/** The few logger methods the kind uses (pino's Logger fits). */
export interface KindLogger {
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

/** What a run needs, built once by the kind's factory. */
export interface PolicyRunContext {
  sts: STSClient;
  sessions: SessionCache<AssumedSession>;
  openIam(credentials: SessionCredentials): IAMClient;
  handlerRoleName: string;
  sessionDurationSeconds: number;
  /** Master secrets known to the kind, to strip from messages. */
  secrets: readonly string[];
  logger?: KindLogger | undefined;
}

/** One attempt's input. */
export interface PolicyJob {
  id: string;
  payload: AwsIamPolicyPayload;
  signal: AbortSignal;
}

/** Codes with which IAM refuses a session's credentials: drop the session, retry with a new one. */
const SESSION_REFUSED = new Set(["ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"]);

/** Runs one attempt. Throws TransientError, PermanentError or the signal's reason. */
export async function runPolicyJob(job: PolicyJob, ctx: PolicyRunContext): Promise<JobOutcome> {
  const { payload, signal } = job;
  signal.throwIfAborted();
  const principal: Principal = { type: payload.principalType, name: payload.principalName };
  const target: AssumeTarget = {
    partition: policyPartition(payload.policyArn),
    accountId: payload.accountId,
    roleName: payload.roleName ?? ctx.handlerRoleName,
    externalId: payload.externalId,
    sessionName: payload.sessionName,
  };
  const key = sessionKey(target);
  const { value: session, fromCache } = await untilAborted(
    ctx.sessions.get(key, () =>
      assumeRole(target, {
        sts: ctx.sts,
        jobId: job.id,
        durationSeconds: ctx.sessionDurationSeconds,
        signal,
        openIam: ctx.openIam,
        secrets: ctx.secrets,
      })),
    signal,
  );
  if (!fromCache) {
    ctx.logger?.debug({
      jobId: job.id,
      roleArn: session.roleArn,
      sessionName: session.sessionName,
      expiration: session.expiration.toISOString(),
      requestId: session.requestId,
    }, "Assumed the IAM handler role");
  }
  const where = `${principal.type} "${principal.name}" in account "${payload.accountId}"`;
  const context = payload.dryRun
    ? `Cannot dry-run ${
      payload.action === "attach" ? "attaching" : "detaching"
    } policy "${payload.policyArn}" ${payload.action === "attach" ? "to" : "from"} ${where}`
    : payload.action === "attach"
    ? `Cannot attach policy "${payload.policyArn}" to ${where}`
    : `Cannot detach policy "${payload.policyArn}" from ${where}`;
  const call = async <T>(fn: (iam: IAMClient) => Promise<T>): Promise<T> => {
    try {
      return await fn(session.iam);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const code = awsErrorCode(error);
      if (SESSION_REFUSED.has(code)) {
        ctx.sessions.invalidate(key, session);
        throw new TransientError(
          `${context}: ${code}: IAM refused the assumed-role session; the next attempt assumes the role again`,
          { code: "AWS_SESSION_REFUSED" },
        );
      }
      throw classifyAwsError(error, { context, secrets: [...ctx.secrets, ...session.secrets] });
    }
  };

  let changed = false;
  let requestId: string | undefined;
  const extra: Record<string, unknown> = {};
  if (payload.dryRun) {
    await call((iam) => getPrincipal(iam, principal, signal));
    const policy = await call((iam) => getPolicy(iam, payload.policyArn, signal));
    const listed = await call((iam) => isAttached(iam, principal, payload.policyArn, signal));
    requestId = listed.requestId;
    Object.assign(extra, {
      dryRun: true,
      attached: listed.attached,
      attachable: policy.attachable,
      wouldChange: payload.action === "attach" ? !listed.attached : listed.attached,
    });
  } else if (payload.action === "attach") {
    // The read only tells whether this attach changes anything; the write always happens
    // (IAM is eventually consistent, and attaching twice is harmless).
    const before = await call((iam) => isAttached(iam, principal, payload.policyArn, signal));
    requestId = (await call((iam) => attachPolicy(iam, principal, payload.policyArn, signal))).requestId;
    changed = !before.attached;
  } else {
    try {
      requestId = (await call((iam) => detachPolicy(iam, principal, payload.policyArn, signal))).requestId;
      changed = true;
    } catch (error) {
      if (!(error instanceof PermanentError && error.code === "AWS_NO_SUCH_ENTITY")) throw error;
      // NoSuchEntity: the principal is missing, or the policy is not attached. Tell them apart.
      await call((iam) => getPrincipal(iam, principal, signal));
      requestId = awsRequestId(error.cause);
      extra.note = "The policy was not attached: nothing to detach";
    }
  }

  ctx.logger?.info({
    jobId: job.id,
    action: payload.action,
    accountId: payload.accountId,
    principal,
    policyArn: payload.policyArn,
    changed,
    dryRun: payload.dryRun,
    requestId,
  }, payload.dryRun ? "Checked an IAM policy change (dry run)" : `IAM policy ${payload.action} done`);
  const refs: { system: string; ref: string }[] = [];
  if (!fromCache && session.requestId) refs.push({ system: "aws.sts", ref: session.requestId });
  if (requestId) refs.push({ system: "aws.iam", ref: requestId });
  return {
    result: {
      action: payload.action,
      accountId: payload.accountId,
      principal,
      policyArn: payload.policyArn,
      changed,
      requestId: requestId ?? null,
      roleArn: session.roleArn,
      sessionName: session.sessionName,
      ...extra,
    },
    refs,
  };
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
