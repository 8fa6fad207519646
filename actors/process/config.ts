/**
 * Configuration from the environment, validated at start: fail fast and name the
 * bad variable, never echo a value that may hold a secret.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../../machines/errors.ts";
import type { BusOptions } from "../../bus/bus.ts";
import { parseApiTokens, type TokenTable } from "../gateway/auth.ts";
import { parseAllowedHosts, parseAllowedOrigins } from "../gateway/request-guard.ts";
import { bool, url } from "../../adapters/setting-values.ts";
import type { DefaultSchedule } from "../../adapters/plugin.ts";
import { PLUGINS } from "../plugins/manifests.ts";
import { loadPluginSettings, pluginVariables } from "../plugins/plugin-settings.ts";

const schema = z.object({
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  DB_URL: url(["postgres:", "postgresql:"]).optional(),
  DB_READ_URL: url(["postgres:", "postgresql:"]).optional(),
  NATS_URL: z.string().min(1).optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  TROUPE_NAMESPACE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "use 1-64 letters, digits, _ or -").default(
    "troupe",
  ),
  TROUPE_DATA_DIR: z.string().min(1).default(".troupe"),
  TROUPE_URL: url(["http:", "https:"]).default("http://127.0.0.1:8000"),
  TROUPE_TOKEN: z.string().optional(),
  TROUPE_API_TOKENS: z.string().optional(),
  TROUPE_ALLOWED_HOSTS: z.string().optional(),
  TROUPE_ALLOWED_ORIGINS: z.string().optional(),
  TROUPE_CREDENTIALS_DIR: z.string().min(1).optional(),
  TROUPE_DISCOVERY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  TROUPE_SCHEDULER_TICK_MS: z.coerce.number().int().min(50).default(1000),
  TROUPE_AGENT_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "use 1-64 letters, digits, _ or -").default(
    "local",
  ),
  TROUPE_AGENT_LABELS: z.string().regex(
    /^([A-Za-z0-9_.\/-]+=[^,]*)(,[A-Za-z0-9_.\/-]+=[^,]*)*$/,
    "use k=v,k2=v2",
  ).optional(),
  TROUPE_AGENT_WORK_ROOT: z.string().min(1).optional(),
  TROUPE_AGENT_ISOLATION: bool.default(true),
  TROUPE_AGENT_MAX_OUTPUT_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  TROUPE_AGENT_HOST_NETWORK: bool.default(false),
  TROUPE_AGENT_BLOCKED_NETWORKS: z.string().regex(
    /^\s*\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?\s*(,\s*\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?\s*)*$/,
    "use IPv4 addresses or CIDRs separated by commas",
  ).optional(),
  TROUPE_AGENT_MAX_PIDS: z.coerce.number().int().min(0).max(4_194_304).default(512),
  TROUPE_AGENT_MAX_MEMORY_MB: z.coerce.number().int().min(0).max(1_048_576).refine(
    (n) => n === 0 || n >= 4,
    "use 0 (no ceiling) or at least 4",
  ).default(1024),
  TROUPE_AGENT_MAX_DISK_MB: z.coerce.number().int().min(0).max(1_048_576).default(512),
  TLS_CERT: z.string().optional(),
  TLS_KEY: z.string().optional(),
  TLS_CLIENT_CA: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().default("127.0.0.1"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  METRICS_ENABLED: bool.default(true),
  TROUPE_CONCURRENCY: z.coerce.number().int().min(1).max(100_000).default(256),
  TROUPE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(256),
  TROUPE_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
  TROUPE_ACK_WAIT_MS: z.coerce.number().int().min(100).optional(),
  TROUPE_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(256 * 1024),
  TROUPE_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(3),
  TROUPE_BACKOFF_BASE_MS: z.coerce.number().int().min(0).default(1000),
  TROUPE_BACKOFF_MAX_MS: z.coerce.number().int().min(0).default(300_000),
  TROUPE_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(10).default(5000),
  TROUPE_RECONCILE_GRACE_MS: z.coerce.number().int().min(10).default(30_000),
  TROUPE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  TROUPE_DUPLICATE_WINDOW_MS: z.coerce.number().int().min(1000).default(120_000),
  TROUPE_MAX_JOB_MESSAGES: z.coerce.number().int().min(1).default(1_000_000),
  TROUPE_LOGS_MAX_BYTES: z.coerce.number().int().min(65_536).optional(),
  TROUPE_LOGS_MAX_CHUNKS_PER_JOB: z.coerce.number().int().min(1).optional(),
  TROUPE_EVENTS_MAX_BYTES: z.coerce.number().int().min(65_536).optional(),
});

/** Every variable the configuration reads (besides the standard OTEL_* ones, read by the SDK). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(schema.shape),
  ...pluginVariables(PLUGINS),
];

/** The validated configuration. */
export interface Config {
  databaseUrl: string | undefined;
  databaseReadUrl: string | undefined;
  natsUrl: string | undefined;
  nats: { user?: string; pass?: string; token?: string };
  namespace: string;
  dataDir: string;
  troupeUrl: string;
  troupeToken: string | undefined;
  /** Bearer tokens of the HTTP API; undefined: the local admin token file (admin-token.ts), loopback only. */
  apiTokens: TokenTable | undefined;
  /** Host names the gateway serves besides localhost and IP literals (TROUPE_ALLOWED_HOSTS). */
  allowedHosts: string[];
  /** Origins (besides the request's own) that may write through the gateway (TROUPE_ALLOWED_ORIGINS). */
  allowedOrigins: string[];
  /** The exec agent of this process (`troupe agent`, and the local one of `troupe start`). */
  agent: {
    name: string;
    labels: Record<string, string>;
    workRoot: string;
    isolation: boolean;
    maxOutputBytes: number;
    /** Jobs may ask for network "host" (TROUPE_AGENT_HOST_NETWORK, `--host-network`). */
    hostNetwork: boolean;
    /** Networks `outbound` commands may not reach besides the host's own addresses (TROUPE_AGENT_BLOCKED_NETWORKS). */
    blockedNetworks: string[];
    /** The most a job may ask, and its default: TROUPE_AGENT_MAX_PIDS, _MAX_MEMORY_MB, _MAX_DISK_MB (0: no ceiling). */
    maxLimits: { pids: number; memoryMB: number; diskMB: number };
  };
  /** HTTPS material (file paths or inline PEM); `clientCa` turns on mutual TLS. */
  tls: { cert: string; key: string; clientCa: string | undefined } | undefined;
  port: number;
  host: string;
  logLevel: string;
  metricsEnabled: boolean;
  concurrency: number;
  batchSize: number;
  leaseMs: number;
  ackWaitMs: number;
  maxPayloadBytes: number;
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  reconcileIntervalMs: number;
  reconcileGraceMs: number;
  shutdownGraceMs: number;
  duplicateWindowMs: number;
  maxJobMessages: number;
  /**
   * Bounds of the events and logs streams (TROUPE_LOGS_MAX_BYTES, TROUPE_EVENTS_MAX_BYTES: unset, the
   * bus's own defaults; TROUPE_LOGS_MAX_CHUNKS_PER_JOB: unset, the agent's output cap / 64, as a stored
   * chunk takes more than 64 bytes).
   */
  streams: Pick<BusOptions, "logsMaxBytes" | "logsMaxChunksPerJob" | "eventsMaxBytes">;
  /** Syncs (discovery and directories): credentials references, concurrency, default schedules. */
  discovery: {
    /** Where `<ref>.json` credentials files are (TROUPE_CREDENTIALS_DIR). */
    credentialsDir: string | undefined;
    /** Sources read at once per scope (TROUPE_DISCOVERY_CONCURRENCY). */
    concurrency: number;
    schedulerTickMs: number;
    /** Schedules `<NAME>_ENABLED` asks for (enabled or explicitly disabled). */
    schedules: DefaultSchedule[];
  };
  /** Each plugin's own settings (its manifest's variables, parsed), by plugin name. */
  plugins: Record<string, Record<string, unknown>>;
}

/** Parses `k=v,k2=v2` labels. */
export function parseLabels(spec: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (spec ?? "").split(",").filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at > 0) labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return labels;
}

/** Reads and validates the configuration; throws {@link ConfigError} naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value !== "") cleaned[key] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  const plugins = loadPluginSettings(cleaned, PLUGINS);
  const e = parsed.data;
  if (Boolean(e.TLS_CERT) !== Boolean(e.TLS_KEY)) {
    throw new ConfigError("Invalid configuration: TLS_CERT and TLS_KEY go together: set both or neither");
  }
  if (e.TLS_CLIENT_CA && !e.TLS_CERT) {
    throw new ConfigError(
      "Invalid configuration: TLS_CLIENT_CA needs TLS_CERT and TLS_KEY (mutual TLS runs over HTTPS)",
    );
  }
  const leaseMs = e.TROUPE_LEASE_MS;
  const nats: Config["nats"] = {};
  if (e.NATS_USER) nats.user = e.NATS_USER;
  if (e.NATS_PASSWORD) nats.pass = e.NATS_PASSWORD;
  if (e.NATS_TOKEN) nats.token = e.NATS_TOKEN;
  return {
    databaseUrl: e.DATABASE_URL ?? e.DB_URL,
    databaseReadUrl: e.DB_READ_URL,
    natsUrl: e.NATS_URL,
    nats,
    namespace: e.TROUPE_NAMESPACE,
    dataDir: e.TROUPE_DATA_DIR,
    troupeUrl: e.TROUPE_URL,
    troupeToken: e.TROUPE_TOKEN,
    apiTokens: parseApiTokens(e.TROUPE_API_TOKENS),
    allowedHosts: parseAllowedHosts(e.TROUPE_ALLOWED_HOSTS),
    allowedOrigins: parseAllowedOrigins(e.TROUPE_ALLOWED_ORIGINS),
    agent: {
      name: e.TROUPE_AGENT_NAME,
      labels: parseLabels(e.TROUPE_AGENT_LABELS),
      workRoot: e.TROUPE_AGENT_WORK_ROOT ?? `${e.TROUPE_DATA_DIR}/exec`,
      isolation: e.TROUPE_AGENT_ISOLATION,
      maxOutputBytes: e.TROUPE_AGENT_MAX_OUTPUT_BYTES,
      hostNetwork: e.TROUPE_AGENT_HOST_NETWORK,
      blockedNetworks: (e.TROUPE_AGENT_BLOCKED_NETWORKS ?? "").split(",").map((n) => n.trim()).filter(
        Boolean,
      ),
      maxLimits: {
        pids: e.TROUPE_AGENT_MAX_PIDS,
        memoryMB: e.TROUPE_AGENT_MAX_MEMORY_MB,
        diskMB: e.TROUPE_AGENT_MAX_DISK_MB,
      },
    },
    tls: e.TLS_CERT && e.TLS_KEY
      ? { cert: e.TLS_CERT, key: e.TLS_KEY, clientCa: e.TLS_CLIENT_CA }
      : undefined,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    metricsEnabled: e.METRICS_ENABLED,
    concurrency: e.TROUPE_CONCURRENCY,
    batchSize: e.TROUPE_BATCH_SIZE,
    leaseMs,
    ackWaitMs: e.TROUPE_ACK_WAIT_MS ?? leaseMs,
    maxPayloadBytes: e.TROUPE_MAX_PAYLOAD_BYTES,
    maxAttempts: e.TROUPE_MAX_ATTEMPTS,
    backoff: { baseMs: e.TROUPE_BACKOFF_BASE_MS, maxMs: e.TROUPE_BACKOFF_MAX_MS },
    reconcileIntervalMs: e.TROUPE_RECONCILE_INTERVAL_MS,
    reconcileGraceMs: e.TROUPE_RECONCILE_GRACE_MS,
    shutdownGraceMs: e.TROUPE_SHUTDOWN_GRACE_MS,
    duplicateWindowMs: e.TROUPE_DUPLICATE_WINDOW_MS,
    maxJobMessages: e.TROUPE_MAX_JOB_MESSAGES,
    streams: {
      logsMaxChunksPerJob: e.TROUPE_LOGS_MAX_CHUNKS_PER_JOB ??
        Math.ceil(e.TROUPE_AGENT_MAX_OUTPUT_BYTES / 64),
      ...(e.TROUPE_LOGS_MAX_BYTES === undefined ? {} : { logsMaxBytes: e.TROUPE_LOGS_MAX_BYTES }),
      ...(e.TROUPE_EVENTS_MAX_BYTES === undefined ? {} : { eventsMaxBytes: e.TROUPE_EVENTS_MAX_BYTES }),
    },
    discovery: {
      credentialsDir: e.TROUPE_CREDENTIALS_DIR,
      concurrency: e.TROUPE_DISCOVERY_CONCURRENCY,
      schedulerTickMs: e.TROUPE_SCHEDULER_TICK_MS,
      schedules: plugins.schedules,
    },
    plugins: plugins.values,
  };
}
