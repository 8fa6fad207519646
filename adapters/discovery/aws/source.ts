/**
 * One listing as a discovery source: fetches a page with the account's current
 * access and turns any failure into a typed error that names the operation,
 * the region and the account (never a credential). A refused session is
 * dropped so that the retried page assumes the role anew.
 *
 * @module
 */
import type { DiscoveryPage, DiscoverySource } from "../provider.ts";
import { awsErrorCode } from "../../aws/classify.ts";
import type { AccessHandle, AccountAccess } from "./access.ts";
import { CREDENTIAL_REFUSALS, failure } from "./errors.ts";

/** What a service module declares for one listing. */
export interface ListingSpec {
  /** The resource type it lists, e.g. `ec2.instance`. */
  type: string;
  /** `EC2 DescribeInstances`: the service and operation, for messages. */
  operation: string;
  /** The region it lists; null: a global listing. */
  region: string | null;
  /** One page: the provider's token in, the next token out. */
  list(access: AccountAccess, token: string | undefined, signal: AbortSignal): Promise<DiscoveryPage>;
}

/**
 * Runs `call` with the account's current access; a failure becomes a typed
 * error starting with `context`, and a refused session is dropped.
 */
export async function withAccess<T>(
  handle: AccessHandle,
  context: string,
  signal: AbortSignal,
  call: (access: AccountAccess) => Promise<T>,
): Promise<T> {
  const access = await handle.get(signal);
  try {
    return await call(access);
  } catch (error) {
    if (CREDENTIAL_REFUSALS.has(awsErrorCode(error))) handle.refused(access);
    failure(error, signal, { context, secrets: access.secrets });
  }
}

/** Wraps a listing as a source of the account behind `handle`. */
export function toSource(spec: ListingSpec, handle: AccessHandle): DiscoverySource {
  const where = spec.region ? ` in ${spec.region}` : "";
  const context = `AWS ${spec.operation}${where} of account ${handle.scope}`;
  return {
    name: spec.region ? `${spec.type} ${spec.region}` : spec.type,
    covers: { types: [spec.type], region: spec.region },
    fetchPage: (token, signal) =>
      withAccess(handle, context, signal, (access) => spec.list(access, token, signal)),
  };
}
