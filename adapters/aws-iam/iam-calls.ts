/**
 * The IAM calls of the kind, one function each, the same for users and roles:
 * read the principal, read the policy, list attached policies (following
 * `Marker` pagination), attach, detach. Each passes the job's signal to the SDK
 * and returns the IAM request id.
 *
 * @module
 */
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
} from "@aws-sdk/client-iam";
import { awsRequestId } from "../aws/classify.ts";

/** A user or a role of one account. */
export interface Principal {
  type: "user" | "role";
  name: string;
}

/** What one call answered. */
export interface CallResult {
  requestId: string | undefined;
}

/** Reads the user or role (NoSuchEntity when it does not exist). */
export async function getPrincipal(
  iam: IAMClient,
  principal: Principal,
  signal: AbortSignal,
): Promise<CallResult> {
  const output = principal.type === "user"
    ? await iam.send(new GetUserCommand({ UserName: principal.name }), { abortSignal: signal })
    : await iam.send(new GetRoleCommand({ RoleName: principal.name }), { abortSignal: signal });
  return { requestId: awsRequestId(output) };
}

/** Reads the managed policy (NoSuchEntity when it does not exist); says whether it can be attached. */
export async function getPolicy(
  iam: IAMClient,
  policyArn: string,
  signal: AbortSignal,
): Promise<CallResult & { attachable: boolean }> {
  const output = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }), { abortSignal: signal });
  return { requestId: awsRequestId(output), attachable: output.Policy?.IsAttachable !== false };
}

/** Whether `policyArn` is attached to the principal, reading every page of the list. */
export async function isAttached(
  iam: IAMClient,
  principal: Principal,
  policyArn: string,
  signal: AbortSignal,
): Promise<CallResult & { attached: boolean; pages: number }> {
  let marker: string | undefined;
  let pages = 0;
  let requestId: string | undefined;
  do {
    const page = { ...(marker ? { Marker: marker } : {}) };
    const output = principal.type === "user"
      ? await iam.send(new ListAttachedUserPoliciesCommand({ UserName: principal.name, ...page }), {
        abortSignal: signal,
      })
      : await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: principal.name, ...page }), {
        abortSignal: signal,
      });
    pages++;
    requestId = awsRequestId(output);
    if ((output.AttachedPolicies ?? []).some((p) => p.PolicyArn === policyArn)) {
      return { requestId, attached: true, pages };
    }
    marker = output.IsTruncated ? output.Marker : undefined;
  } while (marker);
  return { requestId, attached: false, pages };
}

/** Attaches the policy (IAM answers success when it is attached already). */
export async function attachPolicy(
  iam: IAMClient,
  principal: Principal,
  policyArn: string,
  signal: AbortSignal,
): Promise<CallResult> {
  const output = principal.type === "user"
    ? await iam.send(new AttachUserPolicyCommand({ UserName: principal.name, PolicyArn: policyArn }), {
      abortSignal: signal,
    })
    : await iam.send(new AttachRolePolicyCommand({ RoleName: principal.name, PolicyArn: policyArn }), {
      abortSignal: signal,
    });
  return { requestId: awsRequestId(output) };
}

/** Detaches the policy (NoSuchEntity when the principal is missing or the policy is not attached). */
export async function detachPolicy(
  iam: IAMClient,
  principal: Principal,
  policyArn: string,
  signal: AbortSignal,
): Promise<CallResult> {
  const output = principal.type === "user"
    ? await iam.send(new DetachUserPolicyCommand({ UserName: principal.name, PolicyArn: policyArn }), {
      abortSignal: signal,
    })
    : await iam.send(new DetachRolePolicyCommand({ RoleName: principal.name, PolicyArn: policyArn }), {
      abortSignal: signal,
    });
  return { requestId: awsRequestId(output) };
}
