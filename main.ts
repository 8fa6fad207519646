/**
 * CLI entry: `troupe <command>`. The same on Node (`npx troupe`) and Deno
 * (`deno task troupe`).
 *
 * Exit codes: 0 done (a waited-for job succeeded), 1 a waited-for job failed or
 * was cancelled, 2 bad usage or input, 3 not found, 4 cannot reach NATS, the
 * database or the API, 5 configuration error, 70 internal error.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import type { Config } from "./actors/process/config.ts";
import type { Logger } from "./actors/observability/logger.ts";
import type { Core, Roles } from "./actors/process/system.ts";
import { addExecCommands, hostNetworkHelp } from "./actors/cli/exec-commands.ts";
import { addInventoryCommands } from "./actors/cli/inventory-commands.ts";
import { addDirectoryCommands } from "./actors/cli/directory-commands.ts";
import { duration, positiveInt } from "./actors/cli/options.ts";
import { serviceHelp } from "./actors/cli/service-help.ts";
import { cliToken } from "./actors/gateway/admin-token.ts";
import { Role, singleToken } from "./actors/gateway/auth.ts";
import {
  type ApiCall,
  type EventJson,
  httpCall,
  httpClient,
  type JobJson,
  type JobsClient,
} from "./actors/cli/jobs-client.ts";
import { args, environment, exit, onShutdownSignal, writeErr, writeOut } from "./actors/process/runtime.ts";
import { printable, printableJson } from "./actors/cli/printable.ts";
import { ConfigError, ErrorCode, PermanentError, TroupeError } from "./machines/errors.ts";
import { isFinalStatus } from "./machines/job-status.ts";

import { VERSION } from "./actors/process/version.ts";

/**
 * The configuration, and the logger factory: imported when a command needs them, not at start, so
 * `troupe --help` and the HTTP commands' parsing load neither zod with every plugin's schemas nor pino.
 */
async function config(overrides: Record<string, string> = {}): Promise<Config> {
  const { loadConfig } = await import("./actors/process/config.ts");
  return loadConfig({ ...environment(), ...overrides });
}

async function createLogger(options: { level: string }): Promise<Logger> {
  return (await import("./actors/observability/logger.ts")).createLogger(options);
}

function print(value: unknown): void {
  // Ids, kinds, names and errors come from others: no control character reaches the terminal.
  writeOut(`${typeof value === "string" ? printable(value) : printableJson(value)}\n`);
}

/** Runs `fn` on a local core (NATS + PostgreSQL directly), quiet unless LOG_LEVEL asks for more, and closes it. */
async function withCore<T>(cfg: Config, fn: (core: Core) => Promise<T>): Promise<T> {
  // Loaded on demand: a command that talks HTTP never loads the bus, the database drivers or the kinds.
  const { openCore } = await import("./actors/process/system.ts");
  const core = await openCore(cfg, {
    logger: await createLogger({ level: cfg.logLevel === "info" ? "warn" : cfg.logLevel }),
  });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

/** The CLI's bearer token: TROUPE_TOKEN, else the local admin token file when TROUPE_URL is this machine. */
function tokenOf(cfg: Config): Promise<string | undefined> {
  return cliToken({ token: cfg.troupeToken, dataDir: cfg.dataDir, troupeUrl: cfg.troupeUrl });
}

/** Runs `fn` with a jobs client: direct when NATS_URL is set, else HTTP. */
async function withClient<T>(fn: (client: JobsClient) => Promise<T>): Promise<T> {
  const cfg = await config();
  if (!cfg.natsUrl) return await fn(httpClient(cfg.troupeUrl, await tokenOf(cfg)));
  const { directClient } = await import("./actors/cli/jobs-client.ts");
  return await withCore(cfg, (core) => fn(directClient(core)));
}

/** Runs `fn` with an API caller: the HTTP API at TROUPE_URL, or with NATS_URL the same routes in-process on a local core. */
async function withApi<T>(fn: (call: ApiCall) => Promise<T>): Promise<T> {
  const cfg = await config();
  if (!cfg.natsUrl) return await fn(httpCall(cfg.troupeUrl, await tokenOf(cfg)));
  const { createGateway } = await import("./actors/gateway/gateway.ts");
  return await withCore(cfg, (core) => {
    // The routes check a token even in-process: a throwaway one, known to this call only.
    const token = crypto.randomUUID();
    const app = createGateway({
      jobs: core.jobs,
      store: core.store,
      bus: core.bus,
      logger: core.logger,
      maxBodyBytes: cfg.maxPayloadBytes,
      inventory: { schedules: core.schedules, resources: core.inventory },
      directory: core.directory,
      tokens: singleToken(Role.admin, token),
    });
    return fn(httpCall("http://localhost", token, (url, init) => app.request(url, init)));
  });
}

function formatEvent(event: EventJson): string {
  const error = (event.data.error as { message?: string } | undefined)?.message;
  const attempt = event.data.attempt === undefined ? "" : ` attempt=${event.data.attempt}`;
  return `${event.at}  ${event.status.padEnd(9)}${attempt}${error ? `  ${error}` : ""}`;
}

/** Prints the history then follows it until the job is final; returns the final job. */
async function follow(
  client: JobsClient,
  id: string,
  options: { print: boolean; timeoutMs?: number },
): Promise<JobJson> {
  let lastId = 0;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (;;) {
    const events = await client.history(id);
    for (const event of events) {
      if (event.id <= lastId) continue;
      lastId = event.id;
      if (options.print) print(formatEvent(event));
    }
    const job = await client.get(id);
    if (isFinalStatus(job.status)) {
      for (const event of await client.history(id)) {
        if (event.id <= lastId) continue;
        lastId = event.id;
        if (options.print) print(formatEvent(event));
      }
      return job;
    }
    if (Date.now() > deadline) {
      throw new TroupeError(`Timed out waiting for job "${id}" (status ${job.status})`, {
        code: ErrorCode.timeout,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function parseJsonArg(text: string | undefined, what: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PermanentError(`Invalid JSON for ${what}: ${(error as Error).message}`, { code: "BAD_USAGE" });
  }
}

/** Where the local admin token is and a curl line that uses it (never the token itself). */
function adminTokenBanner(file: { path: string; created: boolean }, scheme: string, port: number): string {
  const path = /^[\w./-]+$/.test(file.path) ? file.path : `'${file.path.replaceAll("'", `'\\''`)}'`;
  return [
    `Admin token ${
      file.created ? "created in" : "read from"
    } ${path} (TROUPE_API_TOKENS unset); the CLI on this machine reads it. Try:`,
    `  curl -H "Authorization: Bearer $(cat ${path})" -H 'Content-Type: application/json' ${scheme}://localhost:${port}/jobs/noop -d '{}'`,
    "",
  ].join("\n");
}

async function runService(roles: Roles, name: string, overrides: Record<string, string> = {}): Promise<void> {
  const cfg = await config(overrides);
  if (roles.gateway) {
    // A port in use is said now (exit 5), not after migrations ran and a worker took jobs. Without
    // API tokens or a client CA the gateway listens on loopback only (startSystem), so that is checked.
    const { apiListenHost, checkListenAddress } = await import("./actors/process/port-check.ts");
    await checkListenAddress(apiListenHost(cfg), cfg.port);
  }
  const logger: Logger = await createLogger({ level: cfg.logLevel });
  const embedded = !cfg.natsUrl && !cfg.databaseUrl;
  logger.info({
    bus: cfg.natsUrl ? "nats" : "memory",
    database: cfg.databaseUrl ? "postgres" : `pglite (${cfg.dataDir})`,
    namespace: cfg.namespace,
  }, `Starting troupe ${name}${embedded ? " (embedded: in-memory bus, PGlite)" : ""}`);
  const { startTelemetry } = await import("./actors/observability/telemetry.ts");
  const telemetry = await startTelemetry(environment(), { logger, serviceName: `troupe-${name}` });
  const { openCore, startSystem } = await import("./actors/process/system.ts");
  const core: Core = await openCore(cfg, { logger, env: environment() });
  const system = await startSystem(core, roles);
  if (system.adminToken && system.server) {
    writeErr(adminTokenBanner(system.adminToken, cfg.tls ? "https" : "http", system.server.port));
  }
  await new Promise<void>((resolve) => {
    onShutdownSignal((signal) => {
      logger.info({ signal }, "Shutting down: finishing in-flight jobs");
      system.stop().then(() => telemetry.shutdown()).then(() => {
        logger.info("Stopped");
        resolve();
      }, (error) => {
        logger.error({ err: error }, "Error while stopping");
        resolve();
      });
    });
  });
}

function buildProgram(connectors: readonly string[]): Command {
  const program = new Command();
  program
    .name("troupe")
    .description("Durable infrastructure jobs over NATS JetStream and PostgreSQL")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut, writeErr })
    .showHelpAfterError();

  program.command("start")
    .description(
      "Run everything in one process: gateway, worker, reconciler, scheduler, local agent (embedded default without NATS_URL and DATABASE_URL)",
    )
    .option("--host-network", `for the local agent: ${hostNetworkHelp}`)
    .addHelpText(
      "after",
      serviceHelp(["storage", "api", "worker", "agent", "discovery", "observability"], connectors),
    )
    .action((flags: { hostNetwork?: boolean }) =>
      runService(
        { worker: true, gateway: true, reconciler: true, agent: true, scheduler: true },
        "start",
        flags.hostNetwork ? { TROUPE_AGENT_HOST_NETWORK: "true" } : {},
      )
    );

  program.command("scheduler")
    .description("Run a scheduler: fires due schedules (several may run; they never fire a slot twice)")
    .addHelpText("after", serviceHelp(["storage", "discovery", "observability"], connectors))
    .action(() => runService({ scheduler: true }, "scheduler"));

  program.command("worker")
    .description("Run a worker (and a reconciler): pulls jobs and runs them")
    .addHelpText("after", serviceHelp(["storage", "worker", "discovery", "observability"], connectors))
    .action(() => runService({ worker: true, reconciler: true }, "worker"));

  program.command("gateway")
    .description("Run the HTTP API only")
    .addHelpText("after", serviceHelp(["storage", "api", "observability"]))
    .action(() => runService({ gateway: true }, "gateway"));

  program.command("migrate")
    .description("Apply database migrations and exit")
    .action(async () => {
      const cfg = await config();
      const logger = await createLogger({ level: cfg.logLevel });
      const { migrateDatabase } = await import("./actors/process/migrate.ts");
      const applied = await migrateDatabase(cfg);
      logger.info({ versions: applied }, applied.length ? "Applied migrations" : "Database is up to date");
      print(applied.length ? `Applied migrations ${applied.join(", ")}` : "Database is up to date");
    });

  program.command("submit")
    .description("Submit a job: troupe submit noop '{\"sleepMs\":100}'")
    .argument("<kind>", "job kind, e.g. noop")
    .argument("[payload]", "the payload as JSON")
    .option("--id <id>", "job id (resubmitting an id is a no-op)")
    .option("--max-attempts <n>", "most attempts", (v) => positiveInt(v, "--max-attempts"))
    .option(
      "--timeout <duration>",
      "per-attempt time limit, like 30s, 2m or 1h",
      (v) => duration(v, "--timeout"),
    )
    .option("--run-at <date>", "ISO 8601 date before which it does not run")
    .option("--wait", "follow the job until it ends; exit 1 unless it succeeds")
    .action(
      async (
        kind: string,
        payload: string | undefined,
        opts: { id?: string; maxAttempts?: number; timeout?: number; runAt?: string; wait?: boolean },
      ) => {
        await withClient(async (client) => {
          const request = {
            kind,
            payload: parseJsonArg(payload, "payload") ?? {},
            ...(opts.id ? { id: opts.id } : {}),
            ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
            ...(opts.timeout ? { timeoutMs: opts.timeout } : {}),
            ...(opts.runAt ? { runAt: opts.runAt } : {}),
          };
          const result = await client.submit(request);
          if (!opts.wait) {
            print(result.duplicate ? `${result.id} (already submitted)` : result.id);
            return;
          }
          writeErr(`${printable(result.id)}${result.duplicate ? " (already submitted)" : ""}\n`);
          const job = await follow(client, result.id, { print: true });
          if (job.status !== "success") setExit(1);
        });
      },
    );

  program.command("status")
    .description("Show a job")
    .argument("<id>")
    .action(async (id: string) => {
      await withClient(async (client) => print(await client.get(id)));
    });

  program.command("list")
    .description("List jobs, newest first")
    .addOption(
      new Option("--status <status>").choices([
        "pending",
        "locked",
        "running",
        "success",
        "retry",
        "failed",
        "cancelled",
      ]),
    )
    .option("--kind <kind>")
    .option("--limit <n>", "at most", (v) => positiveInt(v, "--limit"), 50)
    .option("--json", "print JSON")
    .action(async (opts: { status?: string; kind?: string; limit: number; json?: boolean }) => {
      await withClient(async (client) => {
        const page = await client.list({
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.kind ? { kind: opts.kind } : {}),
          limit: opts.limit,
        });
        if (opts.json) return print(page);
        if (page.jobs.length === 0) return print("No jobs");
        for (const job of page.jobs) {
          print(
            `${String(job.id).padEnd(38)} ${String(job.kind).padEnd(16)} ${
              String(job.status).padEnd(9)
            } attempts=${job.attempts} ${job.createdAt}`,
          );
        }
      });
    });

  program.command("watch")
    .description("Print a job's transitions until it ends; exit 1 unless it succeeds")
    .argument("<id>")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const job = await follow(client, id, { print: true });
        if (job.status !== "success") setExit(1);
      });
    });

  program.command("cancel")
    .description("Cancel a job that has not ended")
    .argument("<id>")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const job = await client.cancel(id);
        print(`${job.id} ${job.status}`);
      });
    });

  program.command("retry")
    .description("Bring a failed or cancelled job back (attempts reset)")
    .argument("<id>")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const job = await client.retry(id);
        print(`${job.id} ${job.status}`);
      });
    });

  addInventoryCommands(program, { withApi, print, parseJson: parseJsonArg });
  addDirectoryCommands(program, { withApi, print });

  addExecCommands(program, {
    withClient,
    print,
    setExit,
    async runAgent(options) {
      if (!(await config()).natsUrl) {
        throw new ConfigError(
          "troupe agent needs NATS_URL (the embedded `troupe start` runs its own local agent)",
        );
      }
      const overrides: Record<string, string> = { TROUPE_AGENT_ISOLATION: String(options.isolation) };
      if (options.name) overrides.TROUPE_AGENT_NAME = options.name;
      if (options.labels) overrides.TROUPE_AGENT_LABELS = options.labels;
      if (options.workRoot) overrides.TROUPE_AGENT_WORK_ROOT = options.workRoot;
      if (options.hostNetwork) overrides.TROUPE_AGENT_HOST_NETWORK = "true";
      await runService({ agent: true }, "agent", overrides);
    },
  });

  return program;
}

let exitCode = 0;
function setExit(code: number): void {
  exitCode = code;
}

/** Maps an error to an exit code and a one-line message. */
function exitCodeFor(error: unknown): number {
  if (error instanceof ConfigError) return 5;
  if (error instanceof TroupeError) {
    const status = (error as { status?: number }).status;
    if (error.code === ErrorCode.notFound || status === 404) return 3;
    if (
      error.code === ErrorCode.unavailable || error.code === "UNAVAILABLE" ||
      (status !== undefined && status >= 500)
    ) return 4;
    return 2;
  }
  const message = String((error as Error)?.message ?? error);
  if (/ECONNREFUSED|CONNECTION_REFUSED|connect/i.test(message)) return 4;
  return 70;
}

/** The services whose --help lists the connectors (from the manifests: loaded only for that help). */
const CONNECTOR_HELP = new Set(["start", "worker", "scheduler"]);

/** Whether argv asks for the help text of a service that lists the connectors. */
function wantsConnectorHelp(argv: readonly string[]): boolean {
  const [first, second] = argv;
  if (first === "help") return CONNECTOR_HELP.has(second ?? "");
  return CONNECTOR_HELP.has(first ?? "") && argv.some((a) => a === "--help" || a === "-h");
}

async function main(): Promise<void> {
  const connectors = wantsConnectorHelp(args())
    ? (await import("./actors/plugins/connectors.ts")).CONNECTORS
    : [];
  const program = buildProgram(connectors);
  try {
    await program.parseAsync(args(), { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      exit(error.exitCode === 0 ? 0 : 2);
    }
    writeErr(`troupe: ${printable(String((error as Error)?.message ?? error))}\n`);
    exit(exitCodeFor(error));
  }
  exit(exitCode);
}

await main();
