/**
 * The settings every sync plugin reads for its default schedule, and the
 * schedule they ask for: `<PREFIX>_ENABLED` (true: a `<provider>-default`
 * schedule runs; false: it is kept but disabled), `<PREFIX>_SYNC_INTERVAL`
 * (default one hour), `<PREFIX>_SCOPE` (or the provider's own aliases such as
 * `AWS_ACCOUNT_ID`), `<PREFIX>_CREDENTIALS` (a credentials reference) and, for
 * discovery, `<PREFIX>_REGIONS`.
 *
 * @example
 * ```ts
 * const settings = scheduleSettings({ prefix: "LDAP", label: "LDAP directory" });
 * const schedules = defaultSchedules({ prefix: "LDAP", provider: "ldap", kind: "sync.ldap" }, values);
 * ```
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../../machines/errors.ts";
import type { DefaultSchedule, PluginSetting } from "../plugin.ts";
import { bool } from "../setting-values.ts";
import { CREDENTIALS_REF_PATTERN } from "./credentials.ts";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The default sync interval: one hour. */
export const DEFAULT_SYNC_INTERVAL_SECONDS = 3600;

/** `3600`, `90s`, `15m`, `1h`, `1d` → seconds (1 s to 366 days); anything else undefined. */
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
const ref = z.string().regex(CREDENTIALS_REF_PATTERN, "use a credentials reference name");
const scope = z.string().min(1).max(256);

/** How a plugin names its schedule variables. */
export interface ScheduleNaming {
  /** `AWS`, `K8S`, `LDAP`, `GOOGLE_WORKSPACE`. */
  prefix: string;
  /** Other variables that give the scope when `<PREFIX>_SCOPE` is unset (`AWS_ACCOUNT_ID`). */
  scopeAliases?: string[];
  /** Whether `<PREFIX>_REGIONS` exists (discovery). */
  regions?: boolean;
  /** What the scope is, for --help: `AWS account`, `LDAP directory`. */
  label: string;
}

/** The schedule settings of a plugin. */
export function scheduleSettings(naming: ScheduleNaming): Record<string, PluginSetting> {
  const { prefix, label } = naming;
  const settings: Record<string, PluginSetting> = {
    [`${prefix}_ENABLED`]: {
      schema: bool.optional(),
      help: `true: sync the ${label} on a schedule (${prefix}_SCOPE); false: keep that schedule disabled`,
    },
    [`${prefix}_SYNC_INTERVAL`]: {
      schema: interval.optional(),
      help: `How often the default ${label} sync runs (90s, 15m, 1h, 1d; default 1h)`,
    },
    [`${prefix}_SCOPE`]: { schema: scope.optional(), help: `The ${label} the default schedule syncs` },
    [`${prefix}_CREDENTIALS`]: {
      schema: ref.optional(),
      help:
        `Credentials reference of the default schedule (TROUPE_CREDENTIALS_<REF> or <TROUPE_CREDENTIALS_DIR>/<ref>.json)`,
    },
  };
  if (naming.regions) {
    settings[`${prefix}_REGIONS`] = {
      schema: regions.optional(),
      help: "Regions of the default schedule, comma-separated (default: every enabled region)",
    };
  }
  for (const alias of naming.scopeAliases ?? []) {
    settings[alias] = { schema: scope.optional(), help: `The ${label} when ${prefix}_SCOPE is unset` };
  }
  return settings;
}

/**
 * The `<provider>-default` schedule the settings ask for: none when
 * `<PREFIX>_ENABLED` is unset; a `ConfigError` when it is true without a scope.
 */
export function defaultSchedules(
  naming: Omit<ScheduleNaming, "label"> & { provider: string; kind: string },
  values: Record<string, unknown>,
): DefaultSchedule[] {
  const { prefix } = naming;
  const enabled = values[`${prefix}_ENABLED`] as boolean | undefined;
  if (enabled === undefined) return [];
  const names = [`${prefix}_SCOPE`, ...(naming.scopeAliases ?? [])];
  const scopeValue = names.map((k) => values[k] as string | undefined).find(Boolean);
  if (!scopeValue) {
    if (!enabled) return [];
    throw new ConfigError(
      `Invalid configuration: ${prefix}_ENABLED=true needs ${
        names.join(" or ")
      } (the ${naming.provider} scope to sync)`,
    );
  }
  const regionList = values[`${prefix}_REGIONS`] as string | undefined;
  const credentials = values[`${prefix}_CREDENTIALS`] as string | undefined;
  const intervalText = values[`${prefix}_SYNC_INTERVAL`] as string | undefined;
  return [{
    id: `${naming.provider}-default`,
    kind: naming.kind,
    payload: {
      scope: scopeValue,
      ...(regionList ? { regions: regionList.split(",") } : {}),
      ...(credentials ? { credentials } : {}),
    },
    intervalSeconds: intervalText
      ? parseIntervalSeconds(intervalText) as number
      : DEFAULT_SYNC_INTERVAL_SECONDS,
    enabled,
  }];
}
