/**
 * The `noop` plugin's manifest: a kind for tests and benchmarks.
 *
 * @module
 */
import type { JobKind } from "../../machines/job-kind.ts";
import type { PluginManifest } from "../plugin.ts";
import { noopKind } from "./mod.ts";

/** `noop`: sleeps and fails on request; it has no SDK, so its implementation is its manifest's own. */
export const noopManifest: PluginManifest = {
  name: "noop",
  description: "A kind that does nothing, for tests and benchmarks",
  kinds: [{
    kind: noopKind.kind,
    description: noopKind.description,
    schema: noopKind.schema,
    load: () => Promise.resolve(noopKind as unknown as JobKind),
  }],
};
