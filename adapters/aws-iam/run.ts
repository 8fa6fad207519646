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
 * Least privilege: a handler role may be allowed only the attach and detach
 * calls. The reads around them (the attachments before an attach, the principal
 * after a detach's NoSuchEntity) are best effort: when IAM refuses one with
 * AccessDenied the write still decides, and `changed` is reported as `null`
 * (unknown) with a note naming the refused read.
 *
 * @module
 */
import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import type { JobOutcome } from "../../machines/job-kind.ts";
import { PermanentError, TransientError } from "../../machines/errors.ts";
import { type AssumedSession, assumeRole, type AssumeTarget, sessionKey } from "../aws/assume-role.ts";
import { awsErrorCode, awsRequestId, classifyAwsError } from "../aws/classify.ts";
import type { SessionCredentials } from "../aws/client.ts";
import {
  attachPolicy,
  detachPolicy,
  getPolicy,
  getPrincipal,
  isAttached,
  type Principal,
} from "./iam-calls.ts";
import { type AwsIamPolicyPayload, policyPartition } from "./schema.ts";
import type { SessionCache } from "../aws/session-cache.ts";

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

/** What the action did: the figures of the result beyond the request. */
interface ActionOutcome {
  /** Null when a refused read left it unknown. */
  changed: boolean | null;
  /** The IAM request id of the write (of the last read for a dry run). */
  requestId: string | undefined;
  extra: Record<string, unknown>;
}

/** Runs one IAM call with the session's client; failures become typed errors. */
type Call = <T>(fn: (iam: IAMClient) => Promise<T>) => Promise<T>;

/** Runs one attempt. Throws TransientError, PermanentError or the signal's reason. */
export async function runPolicyJob(job: PolicyJob, ctx: PolicyRunContext): Promise<JobOutcome> {
  const { payload, signal } = job;
  signal.throwIfAborted();
  const target: AssumeTarget = {
    partition: policyPartition(payload.policyArn),
    accountId: payload.accountId,
    roleName: payload.roleName ?? ctx.handlerRoleName,
    externalId: payload.externalId,
    sessionName: payload.sessionName,
  };
  const key = sessionKey(target);
  const assume = () =>
    assumeRole(target, {
      sts: ctx.sts,
      jobId: job.id,
      durationSeconds: ctx.sessionDurationSeconds,
      signal,
      openIam: ctx.openIam,
      secrets: ctx.secrets,
    });
  const { value: session, fromCache } = await untilAborted(ctx.sessions.get(key, assume), signal);
  if (!fromCache) {
    const { roleArn, sessionName, requestId } = session;
    const expiration = session.expiration.toISOString();
    ctx.logger?.debug(
      { jobId: job.id, roleArn, sessionName, expiration, requestId },
      "Assumed the IAM handler role",
    );
  }
  const context = failureContext(payload);
  const call: Call = async (fn) => {
    try {
      return await fn(session.iam);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const code = awsErrorCode(error);
      if (SESSION_REFUSED.has(code)) {
        ctx.sessions.invalidate(key, session);
        const message =
          `${context}: ${code}: IAM refused the assumed-role session; the next attempt assumes the role again`;
        throw new TransientError(message, { code: "AWS_SESSION_REFUSED" });
      }
      throw classifyAwsError(error, { context, secrets: [...ctx.secrets, ...session.secrets] });
    }
  };

  const principal: Principal = { type: payload.principalType, name: payload.principalName };
  const { changed, requestId, extra } = payload.dryRun
    ? await dryRun(payload, principal, call, signal)
    : payload.action === "attach"
    ? await attach(payload, principal, call, signal)
    : await detach(payload, principal, call, signal);

  const { action, accountId, policyArn, dryRun: dry } = payload;
  const done = dry ? "Checked an IAM policy change (dry run)" : `IAM policy ${action} done`;
  ctx.logger?.info({
    jobId: job.id,
    action,
    accountId,
    principal,
    policyArn,
    changed,
    dryRun: dry,
    requestId,
  }, done);
  const refs: { system: string; ref: string }[] = [];
  if (!fromCache && session.requestId) refs.push({ system: "aws.sts", ref: session.requestId });
  if (requestId) refs.push({ system: "aws.iam", ref: requestId });
  const { roleArn, sessionName } = session;
  return {
    result: {
      action,
      accountId,
      principal,
      policyArn,
      changed,
      requestId: requestId ?? null,
      roleArn,
      sessionName,
      ...extra,
    },
    refs,
  };
}

/** The start of every error message of this job: `Cannot attach policy "…" to role "…" in account "…"`. */
function failureContext(payload: AwsIamPolicyPayload): string {
  const where = `${payload.principalType} "${payload.principalName}" in account "${payload.accountId}"`;
  const policy = `policy "${payload.policyArn}"`;
  const [verb, preposition] = payload.action === "attach" ? ["attach", "to"] : ["detach", "from"];
  return payload.dryRun
    ? `Cannot dry-run ${verb}ing ${policy} ${preposition} ${where}`
    : `Cannot ${verb} ${policy} ${preposition} ${where}`;
}

/** Reads principal, policy and attachments; changes nothing. */
async function dryRun(
  payload: AwsIamPolicyPayload,
  principal: Principal,
  call: Call,
  signal: AbortSignal,
): Promise<ActionOutcome> {
  await call((iam) => getPrincipal(iam, principal, signal));
  const policy = await call((iam) => getPolicy(iam, payload.policyArn, signal));
  const listed = await call((iam) => isAttached(iam, principal, payload.policyArn, signal));
  const wouldChange = payload.action === "attach" ? !listed.attached : listed.attached;
  return {
    changed: false,
    requestId: listed.requestId,
    extra: { dryRun: true, attached: listed.attached, attachable: policy.attachable, wouldChange },
  };
}

/**
 * Attaches. The read only tells whether this changes anything; the write always
 * happens (IAM is eventually consistent, and attaching twice is harmless).
 */
async function attach(
  payload: AwsIamPolicyPayload,
  principal: Principal,
  call: Call,
  signal: AbortSignal,
): Promise<ActionOutcome> {
  const before = await bestEffort(() => call((iam) => isAttached(iam, principal, payload.policyArn, signal)));
  const written = await call((iam) => attachPolicy(iam, principal, payload.policyArn, signal));
  if (before === undefined) {
    return {
      changed: null,
      requestId: written.requestId,
      extra: { note: unknownNote(principal, "ListAttached") },
    };
  }
  return { changed: !before.attached, requestId: written.requestId, extra: {} };
}

/** Detaches; a policy that is not attached is success with `changed: false` (see the module header). */
async function detach(
  payload: AwsIamPolicyPayload,
  principal: Principal,
  call: Call,
  signal: AbortSignal,
): Promise<ActionOutcome> {
  try {
    const written = await call((iam) => detachPolicy(iam, principal, payload.policyArn, signal));
    return { changed: true, requestId: written.requestId, extra: {} };
  } catch (error) {
    if (!(error instanceof PermanentError && error.code === "AWS_NO_SUCH_ENTITY")) throw error;
    // NoSuchEntity: the principal is missing (this read fails permanently), or the policy is not attached.
    const read = await bestEffort(() => call((iam) => getPrincipal(iam, principal, signal)));
    const note = read === undefined
      ? `IAM answered NoSuchEntity and refused the read of the ${principal.type} (AccessDenied): the policy is not attached to it, or it does not exist`
      : "The policy was not attached: nothing to detach";
    return { changed: false, requestId: awsRequestId(error.cause), extra: { note } };
  }
}

/** The read's value, or undefined when IAM refused it with AccessDenied (least-privilege roles). */
async function bestEffort<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof PermanentError && error.code === "AWS_ACCESS_DENIED") return undefined;
    throw error;
  }
}

function unknownNote(principal: Principal, action: string): string {
  const call = `${action}${principal.type === "user" ? "User" : "Role"}Policies`;
  return `The role may not call iam:${call}: attached without knowing whether it was attached before`;
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
