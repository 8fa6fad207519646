/**
 * The plugin shape: every kind of work Troupe can do (noop, exec, aws.iam.policy,
 * discovery.<cloud>, sync.<directory>, writeback.<directory>...) comes from a
 * plugin folder under adapters/ with the same files:
 *
 * - `manifest.ts`: this module's {@link PluginManifest}, cheap and static. Every
 *   process imports every manifest at start, so a manifest imports zod, types
 *   and the plugin's own schema file only: never its implementation, client or
 *   SDK. The gateway validates payloads and serves OpenAPI from manifests alone.
 * - `mod.ts`: the implementation, loaded by the manifest's `load()`/`open()`
 *   with a dynamic `import()` on the first job of one of its kinds.
 * - `client.ts` (talks to the provider), `classify.ts` (provider errors to
 *   `TransientError`/`PermanentError`), `schema.ts` (payload and credentials
 *   schemas), `README.md` (what it reads and writes, settings, permissions).
 *
 * Plugins never import each other; shared ports live in adapters/sync (the sync
 * engine, its port and the directory model) and machines/ (kinds, errors).
 * actors/plugins/ holds the one list of manifests and turns them into kinds.
 *
 * @module
 */
import type { z } from "zod";
import type { JobKind } from "../machines/job-kind.ts";
import type { SyncProvider } from "./sync/port.ts";

/** One environment variable a plugin reads, validated at start and listed in `troupe <service> --help`. */
export interface PluginSetting {
  /** A zod schema of the raw string (use `.optional()` for optional ones). */
  schema: z.ZodType;
  /** One sentence for --help. */
  help: string;
}

/** What a plugin's implementation gets when it loads. */
export interface PluginContext {
  /** The plugin's own settings, parsed by their schemas (absent ones undefined). */
  settings: Record<string, unknown>;
  /** A child logger named after the kind. */
  logger?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    debug(obj: object, msg: string): void;
  };
  /**
   * Ports a kind may need, wired by actors/plugins (the directory's membership
   * ledger for write-back, the agent link for exec, the credentials
   * resolver...). Keyed by port name; a kind names the ones it needs in
   * `requires` and casts them.
   */
  ports: Record<string, unknown>;
  /** `node 24.1.0`, `deno 2.9.5`: for runtime workarounds (keep-alive on Deno). */
  runtime: string;
}

/** The ports actors/plugins offers, by name. */
export const PortName = {
  /** The exec kind's way to agents (adapters/exec-job AgentLink); only where agents are reachable. */
  agentLink: "agentLink",
  /** The directory's write-back ledger (adapters/sync/directory-ledger.ts). */
  membershipLedger: "membershipLedger",
  /** `(ref: string) => Promise<Record<string, unknown>>`: resolves a credentials reference. */
  resolveCredentials: "resolveCredentials",
} as const;
export type PortName = (typeof PortName)[keyof typeof PortName];

/** A job kind declared by a manifest: its descriptor, and how to load its handler. */
export interface KindManifest extends Omit<JobKind, "run"> {
  /** Ports without which this process does not offer the kind (`agentLink` for exec). */
  requires?: PortName[];
  /** Imports the implementation (a dynamic `import()`) and returns the kind with its handler. */
  load(context: PluginContext): Promise<JobKind & { close?(): void | Promise<void> }>;
}

/**
 * A sync kind declared by a manifest (`discovery.<cloud>`, `sync.<directory>`):
 * the shared sync kind (adapters/sync/kind.ts) runs it; the plugin gives only
 * its provider.
 */
export interface SyncKindManifest {
  /** `discovery.aws`, `sync.ldap`. */
  kind: string;
  description: string;
  /** The `provider` column it writes. */
  provider: string;
  /** Which sink its items go to: `inventory` (resources) or `directory` (identities, groups). */
  sink: "inventory" | "directory";
  /**
   * The payload schema: discovery's (adapters/discovery/schema.ts: scope optional, regions) or the
   * directories' (adapters/sync/schema.ts: scope and credentials required).
   */
  schema: z.ZodType;
  /** Imports the implementation and opens the provider (on the first job of the kind). */
  open(context: PluginContext): Promise<SyncProvider<unknown, unknown>>;
}

/** A default schedule asked for by a plugin's settings (`<NAME>_ENABLED` and friends). */
export interface DefaultSchedule {
  id: string;
  kind: string;
  payload: { scope: string; regions?: string[]; credentials?: string };
  intervalSeconds: number;
  enabled: boolean;
}

/** A plugin's static face. */
export interface PluginManifest {
  /** The folder's name: `noop`, `exec`, `aws-iam`, `ldap`, `okta`. */
  name: string;
  /** One sentence. */
  description: string;
  /** The environment variables it reads, by name. */
  settings?: Record<string, PluginSetting>;
  /** Its job kinds. */
  kinds?: KindManifest[];
  /** Its sync kinds. */
  syncKinds?: SyncKindManifest[];
  /**
   * The default schedules its settings ask for; throws a `ConfigError` when a
   * setting contradicts another (`LDAP_ENABLED=true` without `LDAP_SCOPE`).
   */
  schedules?(settings: Record<string, unknown>): DefaultSchedule[];
}
