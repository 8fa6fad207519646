/**
 * The kinds a process knows, built from the plugins' manifests
 * (actors/plugins/manifests.ts): every kind's descriptor is known at start and
 * serves validation, redaction and OpenAPI; its implementation (and SDK) loads
 * on its first job. A kind is offered only where the ports it needs are wired
 * (exec needs the agent link; write-back needs the directory) and, for sync
 * kinds, where its sink is.
 *
 * @module
 */
import type { AgentLink } from "../../adapters/exec-job/mod.ts";
import type { KindManifest, PluginContext, PluginManifest, SyncKindManifest } from "../../adapters/plugin.ts";
import { PortName } from "../../adapters/plugin.ts";
import { createCredentialResolver } from "../../adapters/sync/credentials.ts";
import { createSyncKind, type SyncMetrics } from "../../adapters/sync/kind.ts";
import type { SyncPayload } from "../../adapters/sync/schema.ts";
import type { SyncSink } from "../../adapters/sync/port.ts";
import type { JobKind } from "../../machines/job-kind.ts";
import type { Config } from "../process/config.ts";
import type { Logger } from "../observability/logger.ts";
import { runtimeName } from "../process/runtime.ts";
import { lazyKind } from "./lazy-kind.ts";
import { PLUGINS } from "./manifests.ts";
import type { z } from "zod";

/** What the sync and write-back kinds need besides the configuration. */
export interface DiscoveryWiring {
  /** Where discovery writes (`resources`). */
  inventory: SyncSink<unknown, unknown>;
  /** Where directory syncs write (`identities`...), and the write-back ledger when it offers one. */
  directory?: SyncSink<unknown, unknown>;
  /** The write-back ledger (adapters/sync/directory-ledger.ts). */
  membershipLedger?: unknown;
  metrics?: SyncMetrics;
  /** Where `TROUPE_CREDENTIALS_<REF>` are read. */
  env?: Record<string, string | undefined>;
}

/**
 * The kinds of `plugins`. Without a configuration only plugins that read no
 * settings (noop, and exec given an agent link) are offered.
 */
export function builtinKinds(
  config?: Config,
  logger?: Logger,
  agentLink?: AgentLink,
  wiring?: DiscoveryWiring,
  plugins: readonly PluginManifest[] = PLUGINS,
): JobKind[] {
  const ports: Record<string, unknown> = {};
  if (agentLink) ports[PortName.agentLink] = agentLink;
  if (wiring?.membershipLedger) ports[PortName.membershipLedger] = wiring.membershipLedger;
  if (config) {
    ports[PortName.resolveCredentials] = createCredentialResolver({
      env: wiring?.env ?? {},
      ...(config.discovery.credentialsDir ? { dir: config.discovery.credentialsDir } : {}),
    });
  }
  const kinds: JobKind[] = [];
  for (const plugin of plugins) {
    if (!config && Object.keys(plugin.settings ?? {}).length > 0) continue;
    const context = (kind: string): PluginContext => ({
      settings: config?.plugins[plugin.name] ?? {},
      ports,
      runtime: runtimeName,
      ...(logger ? { logger: logger.child({ kind }) } : {}),
    });
    for (const kind of plugin.kinds ?? []) {
      if ((kind.requires ?? []).some((port) => !(port in ports))) continue;
      kinds.push(lazyPluginKind(kind, context(kind.kind)));
    }
    if (!config || !wiring) continue;
    for (const kind of plugin.syncKinds ?? []) {
      const sink = kind.sink === "inventory" ? wiring.inventory : wiring.directory;
      if (!sink) continue;
      kinds.push(syncKind(kind, sink, context(kind.kind), config, wiring));
    }
  }
  return kinds;
}

function lazyPluginKind(kind: KindManifest, context: PluginContext): JobKind {
  const { load, requires: _requires, ...descriptor } = kind;
  return lazyKind(descriptor, () => load(context)) as unknown as JobKind;
}

function syncKind(
  kind: SyncKindManifest,
  sink: SyncSink<unknown, unknown>,
  context: PluginContext,
  config: Config,
  wiring: DiscoveryWiring,
): JobKind {
  return createSyncKind({
    kind: kind.kind,
    description: kind.description,
    schema: kind.schema as z.ZodType<SyncPayload>,
    provider: kind.provider,
    openProvider: () => kind.open(context),
    sink,
    resolveCredentials: context.ports[PortName.resolveCredentials] as (
      ref: string,
    ) => Promise<Record<string, unknown>>,
    concurrency: config.discovery.concurrency,
    ...(wiring.metrics ? { metrics: wiring.metrics } : {}),
    ...(context.logger ? { logger: context.logger } : {}),
  }) as unknown as JobKind;
}
