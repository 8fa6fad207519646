/**
 * The discovery part of the configuration: per provider `<NAME>_ENABLED` and
 * `<NAME>_SYNC_INTERVAL` (the default schedule), its scope, regions and
 * credentials reference, and the endpoint settings users point at emulators.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../../machines/errors.ts";
import type { ProviderName } from "../../adapters/discovery/provider.ts";
import { bool, url } from "../process/env-values.ts";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `3600`, `90s`, `15m`, `1h`, `1d` → seconds. */
export function parseIntervalSeconds(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * (UNITS[match[2] || "s"] as number);
  return seconds >= 1 && seconds <= 366 * 86400 ? seconds : undefined;
}

const interval = z.string().refine((v) => parseIntervalSeconds(v) !== undefined, {
  message: "use seconds or a duration like 90s, 15m, 1h, 1d",
});
const regions = z.string().regex(
  /^[a-z0-9-]+(,[a-z0-9-]+)*$/,
  "use a comma-separated list like us-east-1,eu-west-1",
);
const ref = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "use a credentials reference name");
const httpUrl = url(["http:", "https:"]);

/** The connectors of DESIGN.md that Troupe does not build yet: enabling one is a configuration error. */
const NOT_BUILT = [
  "GOOGLE_WORKSPACE",
  "LDAP",
  "OKTA",
  "AUTHENTIK",
  "FLEETDM",
  "IBOSS",
  "VCENTER",
  "LXD",
] as const;

/** How each provider's variables are named, and where its scope comes from. */
const PROVIDERS: { provider: ProviderName; prefix: string; scopeAliases: string[] }[] = [
  { provider: "aws", prefix: "AWS", scopeAliases: ["AWS_ACCOUNT_ID"] },
  { provider: "gcp", prefix: "GCP", scopeAliases: ["GOOGLE_CLOUD_PROJECT"] },
  { provider: "azure", prefix: "AZURE", scopeAliases: ["AZURE_SUBSCRIPTION_ID"] },
  { provider: "kubernetes", prefix: "K8S", scopeAliases: ["K8S_CONTEXT"] },
];

/** The discovery variables, validated beside the main configuration schema. */
export const discoverySchema = z.object({
  TROUPE_CREDENTIALS_DIR: z.string().min(1).optional(),
  TROUPE_DISCOVERY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  TROUPE_SCHEDULER_TICK_MS: z.coerce.number().int().min(50).default(1000),
  AWS_DISCOVERY_ROLE_NAME: z.string().regex(
    /^[\w+=,.@-]{1,64}$/,
    "use 1-64 characters of an IAM role name, or none",
  ).optional(),
  // Read by the AWS SDK itself; here only to turn on path-style S3 for emulators.
  AWS_ENDPOINT_URL: httpUrl.optional(),
  AWS_ENDPOINT_URL_S3: httpUrl.optional(),
  GCP_API_ENDPOINT: httpUrl.optional(),
  AZURE_AUTHORITY_HOST: httpUrl.optional(),
  AZURE_RESOURCE_MANAGER_ENDPOINT: httpUrl.optional(),
  KUBECONFIG: z.string().min(1).optional(),
  ...Object.fromEntries(PROVIDERS.flatMap(({ prefix, scopeAliases }) => [
    [`${prefix}_ENABLED`, bool.optional()],
    [`${prefix}_SYNC_INTERVAL`, interval.optional()],
    [`${prefix}_SCOPE`, z.string().min(1).max(256).optional()],
    [`${prefix}_REGIONS`, regions.optional()],
    [`${prefix}_CREDENTIALS`, ref.optional()],
    ...scopeAliases.map((alias) => [alias, z.string().min(1).max(256).optional()]),
  ])),
  ...Object.fromEntries(
    NOT_BUILT.flatMap((
      name,
    ) => [[`${name}_ENABLED`, bool.optional()], [`${name}_SYNC_INTERVAL`, interval.optional()]]),
  ),
});

/** A default schedule from the environment. */
export interface DefaultSchedule {
  id: string;
  kind: string;
  payload: { scope: string; regions?: string[]; credentials?: string };
  intervalSeconds: number;
  enabled: boolean;
}

/** The discovery configuration. */
export interface DiscoveryConfig {
  credentialsDir: string | undefined;
  /** Sources read at once per scope. */
  concurrency: number;
  schedulerTickMs: number;
  /** Schedules `<NAME>_ENABLED` asks for (enabled or explicitly disabled). */
  schedules: DefaultSchedule[];
  /** `roleName` "none": list with the credentials as they are, no AssumeRole. */
  aws: { roleName: string | undefined; s3ForcePathStyle: boolean };
  gcp: { apiEndpoint: string | undefined };
  azure: { authorityHost: string | undefined; resourceManagerEndpoint: string | undefined };
  kubernetes: { kubeconfig: string | undefined };
}

/** The default sync interval: one hour. */
export const DEFAULT_SYNC_INTERVAL_SECONDS = 3600;

/** Builds the discovery configuration from the validated variables. */
export function toDiscoveryConfig(e: Record<string, unknown>): DiscoveryConfig {
  for (const name of NOT_BUILT) {
    if (e[`${name}_ENABLED`] === true) {
      throw new ConfigError(
        `Invalid configuration: ${name}_ENABLED: the ${name.toLowerCase()} connector is not part of this Troupe yet (discovery covers AWS, GCP, AZURE and K8S)`,
      );
    }
  }
  const schedules: DefaultSchedule[] = [];
  for (const { provider, prefix, scopeAliases } of PROVIDERS) {
    const enabled = e[`${prefix}_ENABLED`] as boolean | undefined;
    if (enabled === undefined) continue;
    const scope = [`${prefix}_SCOPE`, ...scopeAliases].map((k) => e[k] as string | undefined).find(Boolean);
    if (!scope) {
      if (!enabled) continue;
      throw new ConfigError(
        `Invalid configuration: ${prefix}_ENABLED=true needs ${
          [`${prefix}_SCOPE`, ...scopeAliases].join(" or ")
        } (the ${provider} scope to inventory)`,
      );
    }
    const regionList = e[`${prefix}_REGIONS`] as string | undefined;
    const credentials = e[`${prefix}_CREDENTIALS`] as string | undefined;
    const intervalText = e[`${prefix}_SYNC_INTERVAL`] as string | undefined;
    schedules.push({
      id: `${provider}-default`,
      kind: `discovery.${provider}`,
      payload: {
        scope,
        ...(regionList ? { regions: regionList.split(",") } : {}),
        ...(credentials ? { credentials } : {}),
      },
      intervalSeconds: intervalText
        ? parseIntervalSeconds(intervalText) as number
        : DEFAULT_SYNC_INTERVAL_SECONDS,
      enabled,
    });
  }
  return {
    credentialsDir: e.TROUPE_CREDENTIALS_DIR as string | undefined,
    concurrency: e.TROUPE_DISCOVERY_CONCURRENCY as number,
    schedulerTickMs: e.TROUPE_SCHEDULER_TICK_MS as number,
    schedules,
    aws: {
      roleName: e.AWS_DISCOVERY_ROLE_NAME as string | undefined,
      s3ForcePathStyle: Boolean(e.AWS_ENDPOINT_URL || e.AWS_ENDPOINT_URL_S3),
    },
    gcp: { apiEndpoint: e.GCP_API_ENDPOINT as string | undefined },
    azure: {
      authorityHost: e.AZURE_AUTHORITY_HOST as string | undefined,
      resourceManagerEndpoint: e.AZURE_RESOURCE_MANAGER_ENDPOINT as string | undefined,
    },
    kubernetes: { kubeconfig: e.KUBECONFIG as string | undefined },
  };
}
