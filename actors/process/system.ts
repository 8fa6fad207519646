/**
 * System wiring: builds the bus, the store, the kinds and the actors from the
 * configuration, and stops them in order (stop pulling, finish or release
 * in-flight jobs, flush the outbox, close connections).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { type AgentJobState, decodeMessage, encodeMessage } from "../../bus/agent-protocol.ts";
import type { AgentLink } from "../../adapters/exec-job/mod.ts";
import { AgentDirectory } from "../agent/agent-directory.ts";
import { Agent } from "../agent/agent.ts";
import type { Bus } from "../../bus/bus.ts";
import type { Store } from "../../adapters/postgres/store.ts";
import { createMemoryBus } from "../../bus/memory-bus.ts";
import { SqlStore } from "../../adapters/postgres/sql-store.ts";
import type { SqlClient } from "../../adapters/postgres/store.ts";
import { SqlInventory } from "../../adapters/postgres/sql-inventory.ts";
import { SqlDirectory } from "../../adapters/postgres/sql-directory.ts";
import { SqlSchedules } from "../../adapters/postgres/sql-schedules.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { JobKind } from "../../machines/job-kind.ts";
import type { Config } from "./config.ts";
import { KindRegistry } from "../plugins/kind-registry.ts";
import type { Logger } from "../observability/logger.ts";
import { OutboxPublisher } from "../outbox/outbox-publisher.ts";
import { JobService } from "../jobs/job-service.ts";
import { Worker } from "../worker/worker.ts";
import { Reconciler } from "../outbox/reconciler.ts";
import { createGateway } from "../gateway/gateway.ts";
import { createMetrics, type Metrics } from "../observability/metrics.ts";
import { VERSION } from "./version.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { natsConnectError, parseNatsServers, probePostgres } from "./connect-errors.ts";
import { apiListenHost, listenError } from "./port-check.ts";
import { messagingAttributes, SpanKind, traced } from "../observability/tracing.ts";
import { loadTlsMaterial } from "../gateway/tls-material.ts";
import { type AdminToken, ensureAdminToken } from "../gateway/admin-token.ts";
import { Role, singleToken } from "../gateway/auth.ts";
import { environment, hostName, type HttpServer, pid, runtimeName, serve } from "./runtime.ts";

import { builtinKinds } from "../plugins/builtin-kinds.ts";
export { builtinKinds, type DiscoveryWiring } from "../plugins/builtin-kinds.ts";

/** Logs NATS connection changes: a lost connection is a warning, its return news. */
function logBusStatus(logger: Logger): (status: { type: string; server?: string }) => void {
  return ({ type, server }) => {
    if (type === "disconnect" || type === "reconnecting") {
      logger.warn({ server, status: type }, "NATS connection lost; reconnecting");
    } else if (type === "reconnect") logger.info({ server }, "NATS connection back");
    else if (type === "error") logger.warn({ server, status: type }, "NATS connection error");
    else logger.debug({ server, status: type }, "NATS connection status");
  };
}

/** Connections and services shared by every role. */
export interface Core {
  config: Config;
  logger: Logger;
  bus: Bus;
  store: Store;
  /** The SQL client under the store, the inventory and the schedules. */
  db: SqlClient;
  inventory: SqlInventory;
  /** Identities, groups and organizations of the directory syncs, and the write-back ledger. */
  directory: SqlDirectory;
  schedules: SqlSchedules;
  metrics: Metrics;
  kinds: KindRegistry;
  outbox: OutboxPublisher;
  jobs: JobService;
  /** Exec agents heard lately. */
  agents: AgentDirectory;
  close(): Promise<void>;
}

/** How the exec kind reaches agents: over the bus, chosen from the directory. */
function agentLinkOf(bus: Bus, agents: AgentDirectory): AgentLink {
  return {
    candidates: (selector) => agents.candidates(selector),
    request(agent, verb, body, timeoutMs) {
      const subject = bus.subjects.agent(agent, verb);
      const jobId = (body as { jobId?: string }).jobId;
      // A CLIENT span per agent request, under the job's `run exec` span.
      return traced(`request ${subject}`, {
        ...messagingAttributes("send", subject, jobId ? { jobId } : {}),
        "troupe.agent": agent,
      }, async () => {
        const reply = await bus.request(subject, encodeMessage(body), { timeoutMs });
        return decodeMessage<AgentJobState>(reply);
      }, SpanKind.CLIENT);
    },
  };
}

/** Opens the store (migrating it) and the bus (creating streams). */
export async function openCore(
  config: Config,
  options: { logger: Logger; kinds?: JobKind[]; migrate?: boolean; env?: Record<string, string | undefined> },
): Promise<Core> {
  const { logger } = options;
  // A NATS_URL that is no address is bad configuration (exit 5), said before any work.
  const natsServers = config.natsUrl ? parseNatsServers(config.natsUrl) : undefined;
  // The embedded database belongs to one process: a second one on the same folder is refused (exit 5).
  const lock = config.databaseUrl ? undefined : await lockDataDir(config.dataDir);
  const db = config.databaseUrl
    // Only the driver in use is loaded: a NATS + PostgreSQL process never loads PGlite.
    ? (await import("../../adapters/postgres/postgres-client.ts")).createPostgresClient({
      url: config.databaseUrl,
    })
    : await (await import("../../adapters/postgres/pglite-client.ts")).createPgliteClient({
      dataDir: join(config.dataDir, "pgdata"),
    }).catch(async (error) => {
      await lock?.release();
      throw error;
    });
  const store = new SqlStore(db);
  const inventory = new SqlInventory(db);
  const directory = new SqlDirectory(db);
  const schedules = new SqlSchedules(db);
  const metrics = createMetrics({ enabled: config.metricsEnabled });
  try {
    // The first round trip says whether PostgreSQL is unreachable (exit 4) or refuses us (exit 5).
    const url = config.databaseUrl;
    if (url) await probePostgres(db, url);
    if (options.migrate !== false) {
      const applied = await store.migrate();
      if (applied.length > 0) logger.info({ versions: applied }, "Applied database migrations");
    }
    const busOptions = {
      namespace: config.namespace,
      ackWaitMs: config.ackWaitMs,
      duplicateWindowMs: config.duplicateWindowMs,
      maxJobMessages: config.maxJobMessages,
      ...config.streams,
    };
    const bus = natsServers
      ? await (await import("../../bus/nats-bus.ts")).createNatsBus({
        ...busOptions,
        servers: natsServers,
        name: "troupe",
        ...config.nats,
        onStatus: logBusStatus(logger),
      }).catch((error) => Promise.reject(natsConnectError(error, natsServers)))
      : createMemoryBus(busOptions);
    await bus.init();
    const agents = new AgentDirectory(bus);
    agents.start();
    const kinds = new KindRegistry(
      options.kinds ??
        builtinKinds(config, logger, agentLinkOf(bus, agents), {
          inventory,
          directory,
          membershipLedger: directory,
          metrics,
          ...(options.env ? { env: options.env } : {}),
        }),
    );
    const outbox = new OutboxPublisher({ bus, store, logger });
    const jobs = new JobService({
      bus,
      store,
      kinds,
      outbox,
      logger,
      maxAttempts: config.maxAttempts,
      maxPayloadBytes: config.maxPayloadBytes,
      backoff: config.backoff,
      metrics,
    });
    return {
      config,
      logger,
      bus,
      store,
      db,
      inventory,
      directory,
      schedules,
      metrics,
      kinds,
      outbox,
      jobs,
      agents,
      async close() {
        await outbox.close();
        await agents.close();
        await bus.close();
        await store.close();
        for (const kind of kinds.list()) await (kind as { close?: () => void | Promise<void> }).close?.();
        await lock?.release();
      },
    };
  } catch (error) {
    await store.close().catch(() => {});
    await lock?.release();
    throw error;
  }
}

/** Which actors a process runs. */
export interface Roles {
  worker?: boolean;
  gateway?: boolean;
  reconciler?: boolean;
  /** An exec agent (config.agent) in this process. */
  agent?: boolean;
  /** Fires schedules (several schedulers may run: they share due slots). */
  scheduler?: boolean;
}

/** A running Troupe process. */
export interface RunningSystem {
  core: Core;
  metrics: Metrics;
  worker: Worker | undefined;
  reconciler: Reconciler | undefined;
  agent: Agent | undefined;
  scheduler: Scheduler | undefined;
  server: HttpServer | undefined;
  /** The local admin token file, when the gateway runs without TROUPE_API_TOKENS or a client CA. */
  adminToken: Omit<AdminToken, "token"> | undefined;
  stop(): Promise<void>;
}

/** Starts the actors of `roles` on an open core. */
export async function startSystem(core: Core, roles: Roles): Promise<RunningSystem> {
  const { config, logger, bus, store, kinds, outbox } = core;
  let worker: Worker | undefined;
  let reconciler: Reconciler | undefined;
  let server: HttpServer | undefined;
  let agent: Agent | undefined;
  let scheduler: Scheduler | undefined;
  let adminToken: Omit<AdminToken, "token"> | undefined;
  const { metrics } = core;
  if (roles.worker) {
    worker = new Worker({
      metrics,
      bus,
      store,
      kinds,
      outbox,
      logger,
      workerId: `${await hostName()}:${pid}:${crypto.randomUUID().slice(0, 8)}`,
      concurrency: config.concurrency,
      batchSize: config.batchSize,
      leaseMs: config.leaseMs,
      maxPayloadBytes: config.maxPayloadBytes,
      maxAttempts: config.maxAttempts,
      backoff: config.backoff,
    });
    worker.start();
    const running = worker;
    metrics.setInFlightSource(() => running.inFlight);
    logger.info(
      { workerId: worker.id, kinds: kinds.names(), concurrency: config.concurrency },
      "Worker started",
    );
  }
  if (roles.reconciler) {
    reconciler = new Reconciler({
      bus,
      store,
      outbox,
      logger,
      intervalMs: config.reconcileIntervalMs,
      graceMs: config.reconcileGraceMs,
    });
    reconciler.start();
  }
  if (roles.agent) {
    const made = new Agent({
      bus,
      logger,
      name: config.agent.name,
      host: await hostName(),
      labels: config.agent.labels,
      workRoot: resolve(config.agent.workRoot),
      isolation: config.agent.isolation,
      maxOutputBytes: config.agent.maxOutputBytes,
      hostNetwork: config.agent.hostNetwork,
      blockedNetworks: config.agent.blockedNetworks,
      maxLimits: config.agent.maxLimits,
      // `envFrom` resolves here, on the agent's host: TROUPE_CREDENTIALS_<REF> or the secrets directory.
      credentials: {
        env: environment(),
        ...(config.discovery.credentialsDir ? { dir: config.discovery.credentialsDir } : {}),
      },
    });
    try {
      await made.start();
      agent = made;
    } catch (error) {
      // `troupe agent` must fail; the local agent of `troupe start` is a convenience.
      if (!roles.worker && !roles.gateway) throw error;
      logger.warn({ err: error }, "The local exec agent could not start; exec jobs need another agent");
    }
  }
  if (roles.scheduler) {
    scheduler = new Scheduler({
      schedules: core.schedules,
      jobs: core.jobs,
      logger: logger.child({ actor: "scheduler" }),
      tickMs: config.discovery.schedulerTickMs,
      defaults: config.discovery.schedules,
    });
    await scheduler.start();
  }
  if (roles.gateway) {
    const tls = config.tls ? loadTlsMaterial(config.tls) : undefined;
    let tokens = config.apiTokens;
    if (!tokens && !tls?.clientCa) {
      // Never anonymous, even on loopback: a local admin token that the CLI here reads.
      const local = await ensureAdminToken(config.dataDir);
      tokens = singleToken(Role.admin, local.token);
      adminToken = { path: local.path, created: local.created };
    }
    const app = createGateway({
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      clientCa: tls?.clientCa,
      agents: () => core.agents.list(),
      inventory: { schedules: core.schedules, resources: core.inventory },
      directory: core.directory,
      jobs: core.jobs,
      store,
      bus,
      logger,
      maxBodyBytes: config.maxPayloadBytes,
      metrics,
      tokens,
      version: VERSION,
      status: () => ({
        version: VERSION,
        runtime: runtimeName,
        bus: config.natsUrl ? "nats" : "memory",
        database: config.databaseUrl ? "postgres" : "pglite",
        worker: worker ? { id: worker.id, inFlight: worker.inFlight, ...worker.stats } : null,
      }),
    });
    const host = apiListenHost(config);
    if (!config.apiTokens && !config.tls?.clientCa) {
      if (!["127.0.0.1", "localhost", "::1"].includes(config.host)) {
        logger.warn({ requested: config.host }, "No TROUPE_API_TOKENS: refusing to listen beyond loopback");
      }
      logger.info(
        { tokenFile: adminToken?.path, created: adminToken?.created },
        "TROUPE_API_TOKENS and TLS_CLIENT_CA unset: the HTTP API listens on 127.0.0.1 only and takes the admin token in the token file",
      );
    }
    try {
      server = await serve(app.fetch, { port: config.port, hostname: host, tls: tls?.serve });
    } catch (error) {
      throw listenError(error, host, config.port); // a port taken since main's check: still exit 5
    }
    const scheme = tls ? "https" : "http";
    logger.info(
      { port: server.port, host, mtls: Boolean(tls?.clientCa) },
      `HTTP API listening on ${scheme}://${host}:${server.port}`,
    );
  }
  return {
    core,
    metrics,
    worker,
    reconciler,
    server,
    agent,
    scheduler,
    adminToken,
    async stop() {
      await server?.close();
      await scheduler?.stop();
      await reconciler?.stop();
      await worker?.stop({ graceMs: config.shutdownGraceMs });
      await agent?.stop();
      await core.close();
    },
  };
}
