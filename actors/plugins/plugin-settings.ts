/**
 * The plugins' settings: every variable a manifest declares is validated at
 * start by its own schema (a bad value is a `ConfigError` naming the
 * variable), given to the plugin when it loads, and turned into the default
 * schedules it asks for. Connectors DESIGN.md names that this build does not
 * have refuse `<NAME>_ENABLED=true` instead of ignoring it.
 *
 * @module
 */
import { z } from "zod";
import type { DefaultSchedule, PluginManifest } from "../../adapters/plugin.ts";
import { bool } from "../../adapters/setting-values.ts";
import { ConfigError } from "../../machines/errors.ts";

/** The connectors of DESIGN.md, by variable prefix. */
const DESIGN_CONNECTORS = [
  "GOOGLE_WORKSPACE",
  "LDAP",
  "OKTA",
  "AUTHENTIK",
  "FLEETDM",
  "IBOSS",
  "VCENTER",
  "LXD",
];

/** What the plugins' settings came to. */
export interface PluginSettings {
  /** Each plugin's own settings, parsed, by plugin name. */
  values: Record<string, Record<string, unknown>>;
  /** The default schedules the settings ask for (enabled or explicitly disabled). */
  schedules: DefaultSchedule[];
}

/** The connectors of DESIGN.md that no plugin of this build provides. */
function notBuilt(plugins: readonly PluginManifest[]): string[] {
  const declared = new Set(plugins.flatMap((p) => Object.keys(p.settings ?? {})));
  return DESIGN_CONNECTORS.filter((name) => !declared.has(`${name}_ENABLED`));
}

/** Every variable the plugins read (each once), for the configuration's list and --help. */
export function pluginVariables(plugins: readonly PluginManifest[]): string[] {
  const names = new Set(plugins.flatMap((p) => Object.keys(p.settings ?? {})));
  for (const name of notBuilt(plugins)) names.add(`${name}_ENABLED`);
  return [...names];
}

/** Validates the plugins' variables in `env` (empty values count as unset). */
export function loadPluginSettings(
  env: Record<string, string | undefined>,
  plugins: readonly PluginManifest[],
): PluginSettings {
  const problems = new Set<string>();
  const values: Record<string, Record<string, unknown>> = {};
  for (const plugin of plugins) {
    const settings = plugin.settings ?? {};
    const shape = Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.schema]));
    const raw = Object.fromEntries(
      Object.keys(settings).filter((name) => env[name] !== undefined && env[name] !== "").map((
        name,
      ) => [name, env[name]]),
    );
    const parsed = z.object(shape).safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.add(`${issue.path.join(".")}: ${issue.message}`);
      continue;
    }
    values[plugin.name] = parsed.data;
  }
  for (const name of notBuilt(plugins)) {
    const enabled = bool.safeParse(env[`${name}_ENABLED`] || "false");
    if (enabled.success && enabled.data) {
      problems.add(
        `${name}_ENABLED: the ${name.toLowerCase()} connector is not part of this Troupe yet`,
      );
    }
  }
  if (problems.size > 0) throw new ConfigError(`Invalid configuration: ${[...problems].join("; ")}`);
  const schedules = plugins.flatMap((plugin) => plugin.schedules?.(values[plugin.name] ?? {}) ?? []);
  return { values, schedules };
}
