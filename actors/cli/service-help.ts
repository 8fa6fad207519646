/**
 * The environment section of `troupe start|worker|gateway|scheduler|agent --help`:
 * the variables each long-running command reads, grouped, with their defaults.
 * Every name here is one `loadConfig()` validates (a test holds them to it); the
 * README's configuration table has the rest.
 *
 * @module
 */

/** Where the connectors' names go in a line (they come from the manifests, which only service help loads). */
const CONNECTORS_MARK = "<connectors>";

/** Groups of variables by what they configure. */
export type ServiceVariableGroup = "storage" | "api" | "worker" | "agent" | "discovery" | "observability";

const GROUPS: Record<ServiceVariableGroup, { title: string; lines: [string, string][] }> = {
  storage: {
    title: "Bus and database (both unset: the embedded default)",
    lines: [
      ["NATS_URL", "NATS servers, comma-separated (unset: in-memory bus)"],
      ["DATABASE_URL", "PostgreSQL URL, alias DB_URL (unset: PGlite under TROUPE_DATA_DIR)"],
      ["TROUPE_DATA_DIR", "data folder: PGlite, the admin token, exec work roots (default ./.troupe)"],
      ["TROUPE_NAMESPACE", "subject root and stream names (default troupe)"],
    ],
  },
  api: {
    title: "HTTP API",
    lines: [
      ["PORT", "port (default 8000)"],
      ["HOST", "address (default 127.0.0.1; beyond loopback needs tokens or TLS_CLIENT_CA)"],
      ["TROUPE_API_TOKENS", "admin:TOKEN,viewer:TOKEN (unset: a local admin token in TROUPE_DATA_DIR)"],
      ["TROUPE_ALLOWED_HOSTS", "Host names served besides localhost and IP addresses"],
      ["TROUPE_ALLOWED_ORIGINS", "origins that may write besides the API's own"],
      ["TLS_CERT", "with TLS_KEY: serve HTTPS; TLS_CLIENT_CA: require client certificates"],
    ],
  },
  worker: {
    title: "Worker",
    lines: [
      ["TROUPE_CONCURRENCY", "jobs in flight (default 256)"],
      ["TROUPE_MAX_ATTEMPTS", "attempts unless the job or kind says (default 3)"],
      ["TROUPE_MAX_PAYLOAD_BYTES", "largest job message (default 256 KiB)"],
      ["TROUPE_LEASE_MS", "lease of a locked job (default 30000)"],
    ],
  },
  agent: {
    title: "Exec agent",
    lines: [
      ["TROUPE_AGENT_NAME", "agent name (default local)"],
      ["TROUPE_AGENT_ISOLATION", "bubblewrap sandbox (default true)"],
      ["TROUPE_AGENT_HOST_NETWORK", "let jobs use the host's network (default false)"],
      ["TROUPE_AGENT_MAX_PIDS", "ceilings a job may lower: also _MAX_MEMORY_MB, _MAX_DISK_MB"],
      ["TROUPE_AGENT_MAX_OUTPUT_BYTES", "output stored per job (default 16 MiB)"],
    ],
  },
  discovery: {
    title: "Schedules and credentials",
    lines: [
      ["TROUPE_CREDENTIALS_DIR", "folder of <ref>.json credentials (or TROUPE_CREDENTIALS_<REF>)"],
      [
        "AWS_ENABLED",
        `a default schedule per connector${CONNECTORS_MARK}: <NAME>_ENABLED, _SYNC_INTERVAL, _SCOPE, _CREDENTIALS`,
      ],
    ],
  },
  observability: {
    title: "Logs, metrics, traces",
    lines: [
      ["LOG_LEVEL", "trace, debug, info (default), warn, error, silent"],
      ["METRICS_ENABLED", "serve /metrics (default true)"],
    ],
  },
};

/** The variable names a help text mentions (for the test that holds them to the configuration). */
export function serviceHelpVariables(groups: readonly ServiceVariableGroup[]): string[] {
  return groups.flatMap((group) => GROUPS[group].lines.map(([name]) => name));
}

/** The help text: one block per group, then where the rest is documented. */
export function serviceHelp(
  groups: readonly ServiceVariableGroup[],
  /** The connectors' prefixes (actors/plugins/connectors.ts), when this help is being shown. */
  connectors: readonly string[] = [],
): string {
  const named = connectors.length > 0 ? ` (${connectors.join(", ")})` : "";
  const blocks = groups.map((group) => {
    const { title, lines } = GROUPS[group];
    return [
      `${title}:`,
      ...lines.map(([name, text]) => `  ${name.padEnd(30)} ${text.replace(CONNECTORS_MARK, named)}`),
    ].join("\n");
  });
  return `\nEnvironment (validated at start; a bad value names the variable, exit 5):\n${
    blocks.join("\n")
  }\n` +
    "  OTEL_EXPORTER_OTLP_ENDPOINT and the other standard OTEL_* variables send traces.\n" +
    "Every variable: the README's configuration table.\n";
}
