/**
 * The connectors with a default schedule (`<NAME>_ENABLED`), from the plugins'
 * manifests, for `troupe start|worker|scheduler --help`. Imported only when
 * that help is asked for: the manifests bring zod and every payload schema.
 *
 * @module
 */
import { PLUGINS } from "./manifests.ts";

/** `AWS`, `GCP`, …, `LDAP`, `OKTA`: the prefixes of the connectors' schedule variables. */
export const CONNECTORS: readonly string[] = PLUGINS.flatMap((plugin) =>
  Object.keys(plugin.settings ?? {}).filter((name) => name.endsWith("_ENABLED")).map((name) =>
    name.slice(0, -"_ENABLED".length)
  )
);
