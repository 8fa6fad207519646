/**
 * The AWS discovery provider: inventories one account (`target.scope`, 12
 * digits) by assuming a discovery role in it with STS and listing, per enabled
 * region, EC2 instances, VPCs, subnets and security groups, RDS DB instances,
 * ElastiCache clusters and Lambda functions, plus the account's S3 buckets.
 * Options are injected; the module never reads the environment itself, though
 * the AWS SDK still honours its standard variables (`AWS_ENDPOINT_URL_*`, the
 * default credential chain) for what the options and the target leave unset.
 *
 * @example
 * ```ts
 * const aws = createAwsDiscoveryProvider({ roleName: "TroupeDiscoveryRole" });
 * const sources = await aws.plan({ scope: "111122223333", org: null }, signal);
 * // later, at shutdown
 * aws.close();
 * ```
 * @module
 */
import type { STSClient } from "@aws-sdk/client-sts";
import { PermanentError } from "../../../machines/errors.ts";
import { createStsClient } from "../../aws/client.ts";
import { SessionCache } from "../../aws/session-cache.ts";
import type { DiscoveryProvider, DiscoverySource, DiscoveryTarget } from "../provider.ts";
import { type AccountAccess, callerAccount, masterKeyName, openAccess } from "./access.ts";
import { type AwsEndpoints, endpointOf, type ListingSettings, type SigningCredentials } from "./clients.ts";
import { type AwsTargetCredentials, parseTargetCredentials } from "./credentials.ts";
import { ec2Listings } from "./ec2.ts";
import { elastiCacheListing } from "./elasticache.ts";
import { lambdaListing } from "./lambda.ts";
import { rdsListing } from "./rds.ts";
import { enabledRegions, selectRegions } from "./regions.ts";
import { s3Listing } from "./s3.ts";
import { toSource, withAccess } from "./source.ts";

export type { AwsEndpoints } from "./clients.ts";
export type { AwsTargetCredentials } from "./credentials.ts";

/** The role assumed in each account unless the target names one. */
export const DEFAULT_DISCOVERY_ROLE_NAME = "TroupeDiscoveryRole";

/** Options of {@link createAwsDiscoveryProvider}. */
export interface AwsDiscoveryOptions {
  /** The role assumed in each account unless the target names one (default `TroupeDiscoveryRole`). */
  roleName?: string;
  /**
   * Assume a role (default true). false: targets that name no role are listed
   * with the master credentials themselves, which must belong to the account
   * (checked with STS GetCallerIdentity): for single-account setups.
   */
  assumeRole?: boolean;
  /**
   * Endpoint overrides: one base URL for every service, or one per service
   * (`{ endpoint, sts, ec2, rds, elasticache, s3, lambda }`). Unset: the SDK's
   * own, which honours `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL`.
   */
  endpoints?: string | AwsEndpoints;
  /** Path-style S3 URLs; default true when an S3 (or base) endpoint is given, else false. */
  s3ForcePathStyle?: boolean;
  /** The region STS, DescribeRegions and S3 ListBuckets are signed for (default `us-east-1`). */
  homeRegion?: string;
  /** Partition of the role ARN built from a role name (default `aws`). */
  partition?: string;
  /** Items asked per page, clamped into each API's range (default: each API's maximum). */
  pageSize?: number;
  /** Attempts per SDK call (default 1: the sync engine retries pages). */
  sdkMaxAttempts?: number;
  /** Per-request time limit (default 30 s) and connect time limit (default 5 s). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Reuse connections (default false: on Deno 2.9.5 an aborted request on a kept-alive connection may be re-sent). */
  keepAlive?: boolean;
  /** Lifetime asked of STS for each session (900 to 43200; default 3600). */
  sessionDurationSeconds?: number;
  /** Reuse a session until this long before it expires (default 5 minutes). */
  refreshBeforeMs?: number;
  /** Prefix of the STS RoleSessionName, followed by the account id (default `troupe-discovery`). */
  sessionName?: string;
  /** The session cache's clock (tests inject one). */
  now?: () => number;
}

/** The provider, plus `close()` to release its connections and forget its sessions. */
export type AwsDiscoveryProvider = DiscoveryProvider & { close(): void };

/** The master key of target credentials; undefined: the SDK's default chain. */
function masterOf(credentials: AwsTargetCredentials): SigningCredentials | undefined {
  return credentials.accessKeyId && credentials.secretAccessKey
    ? {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    }
    : undefined;
}

/** Creates the AWS discovery provider. */
export function createAwsDiscoveryProvider(options: AwsDiscoveryOptions = {}): AwsDiscoveryProvider {
  const endpoints: AwsEndpoints = typeof options.endpoints === "string"
    ? { endpoint: options.endpoints }
    : options.endpoints ?? {};
  const homeRegion = options.homeRegion ?? "us-east-1";
  const settings: ListingSettings = {
    endpoints,
    maxAttempts: options.sdkMaxAttempts ?? 1,
    homeRegion,
    s3ForcePathStyle: options.s3ForcePathStyle ?? endpointOf(endpoints, "s3").endpoint !== undefined,
  };
  const sessions = new SessionCache<AccountAccess>({
    ...(options.now ? { now: options.now } : {}),
    ...(options.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.refreshBeforeMs } : {}),
  });
  const stsClients = new Map<string, STSClient>();

  function stsFor(master: SigningCredentials | undefined): STSClient {
    const key = masterKeyName(master);
    let sts = stsClients.get(key);
    if (!sts) {
      sts = createStsClient({
        region: homeRegion,
        maxAttempts: settings.maxAttempts,
        ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        ...(options.connectionTimeoutMs ? { connectionTimeoutMs: options.connectionTimeoutMs } : {}),
        keepAlive: options.keepAlive ?? false,
        credentials: master,
        endpoint: endpointOf(endpoints, "sts").endpoint,
      });
      stsClients.set(key, sts);
    }
    return sts;
  }

  async function plan(target: DiscoveryTarget, signal: AbortSignal): Promise<DiscoverySource[]> {
    const scope = target.scope;
    if (!/^\d{12}$/.test(scope)) {
      throw new PermanentError(`AWS discovery: the scope must be a 12-digit account id`, {
        code: "AWS_INVALID_SCOPE",
      });
    }
    const credentials = parseTargetCredentials(target.credentials, scope);
    const master = masterOf(credentials);
    const namesRole = credentials.roleArn !== undefined || credentials.roleName !== undefined;
    const role = options.assumeRole === false && !namesRole ? undefined : {
      arn: credentials.roleArn ??
        `arn:${options.partition ?? "aws"}:iam::${scope}:role/${
          credentials.roleName ?? options.roleName ?? DEFAULT_DISCOVERY_ROLE_NAME
        }`,
      externalId: credentials.externalId,
      sessionName: options.sessionName ?? "troupe-discovery",
      durationSeconds: options.sessionDurationSeconds ?? 3600,
    };
    const handle = await openAccess({ scope, sts: stsFor(master), master, settings, sessions, role }, signal);
    const enabled = await withAccess(
      handle,
      `AWS EC2 DescribeRegions of account ${scope}`,
      signal,
      (access) => enabledRegions(access, homeRegion, signal),
    );
    const regions = selectRegions(enabled, target.regions, scope);
    const pageSize = options.pageSize;
    const listings = regions.flatMap((region) => [
      ...ec2Listings(region, pageSize),
      rdsListing(region, pageSize),
      elastiCacheListing(region, pageSize),
      lambdaListing(region, pageSize),
    ]);
    const restricted = target.regions !== undefined && target.regions.length > 0;
    listings.push(...(restricted ? regions.map((r) => s3Listing(r, pageSize)) : [s3Listing(null, pageSize)]));
    return listings.map((listing) => toSource(listing, handle));
  }

  /** The account of the credentials (or of the SDK's default chain): STS GetCallerIdentity. */
  async function defaultScope(
    raw: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    const master = masterOf(parseTargetCredentials(raw, "(default)"));
    return await callerAccount(stsFor(master), master, signal);
  }

  return {
    provider: "aws",
    plan,
    defaultScope,
    close() {
      sessions.clear();
      for (const sts of stsClients.values()) sts.destroy();
      stsClients.clear();
    },
  };
}
