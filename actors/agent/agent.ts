/**
 * The exec agent: runs job commands on this host in sandboxes (bubblewrap and
 * cgroups, adapters/exec), serves `run`, `status` and `stop` on
 * `<ns>.agent.<name>.*`, publishes each command's output on `<ns>.logs.<jobId>`
 * and announces itself on `<ns>.agent.<name>.heartbeat`.
 *
 * No double runs: `run` for a job id that is running, or that ended and whose
 * outcome no worker has collected yet, re-attaches instead of starting it again,
 * so a redelivered job whose worker died picks up the command where it is (or
 * its outcome). The worker sends `forget` once it has the outcome, so a later
 * `troupe retry` of the job runs the command afresh.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, statSync } from "node:fs";
import type { Bus, Responder } from "../../bus/bus.ts";
import {
  type AgentInfo,
  type AgentJobState,
  decodeMessage,
  encodeMessage,
  type ExecOutcome,
  type JobRef,
  type RunRequest,
} from "../../bus/agent-protocol.ts";
import { encodeLogChunk, type LogChunk } from "../../bus/log-chunk.ts";
import { validateAgentName } from "../../bus/subjects.ts";
import {
  ceilingVariables,
  type IsolationReport,
  type LimitCeilings,
  probeIsolation,
  type SandboxedProcess,
  type SandboxResult,
  startSandboxedProcess,
} from "../../adapters/exec/mod.ts";
import { PermanentError, TroupeError } from "../../machines/errors.ts";
import type { CredentialSources } from "../../adapters/sync/credentials.ts";
import { type SecretReader, withEnvFrom } from "../../adapters/exec-job/mod.ts";
import { createSecretReader } from "./secret-reader.ts";
import type { Logger } from "../observability/logger.ts";

/** Options of {@link Agent}. */
export interface AgentOptions {
  bus: Bus;
  logger: Logger;
  name: string;
  host: string;
  labels?: Record<string, string>;
  /** Directory under which each job's filesystem root is made. */
  workRoot: string;
  /** False only when started with --no-isolation. Default true. */
  isolation?: boolean;
  heartbeatMs?: number;
  maxOutputBytes?: number;
  stopGraceMs?: number;
  /** How long an ended command's outcome is kept for a re-attaching worker. Default 15 minutes. */
  keepDoneMs?: number;
  /** Where `envFrom` references resolve (TROUPE_CREDENTIALS_<REF>, the secrets directory). Default: nowhere. */
  credentials?: CredentialSources;
  /**
   * Let a job ask for network "host" (`--host-network`), which exposes the host's loopback
   * services (the API, NATS, PostgreSQL) to its command. Default false.
   */
  hostNetwork?: boolean;
  /** Networks an `outbound` command may not reach besides the host's own addresses (IPv4 addresses or CIDRs). */
  blockedNetworks?: readonly string[];
  /** The most a job may ask of pids, memory and disk, and what it gets when it asks nothing. Default `defaultAgentLimits`. */
  maxLimits?: LimitCeilings;
}

/** An agent's ceilings when none are configured: 512 processes, 1024 MiB of memory, writable directories of 512 MiB. */
export const defaultAgentLimits: Readonly<Required<LimitCeilings>> = {
  pids: 512,
  memoryMB: 1024,
  diskMB: 512,
};

interface Finished {
  outcome: ExecOutcome;
  at: number;
}

const decoder = new TextDecoder();

/** A name for the job's sandbox (root dir, cgroup, hostname): the id itself when safe, else a digest of it. */
function sandboxName(jobId: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(jobId)) return jobId;
  return `j${createHash("sha256").update(jobId).digest("hex").slice(0, 40)}`;
}

export class Agent {
  readonly name: string;
  #o: Required<AgentOptions>;
  #running = new Map<string, SandboxedProcess>();
  #starting = new Map<string, Promise<AgentJobState>>();
  #done = new Map<string, Finished>();
  #responders: Responder[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #report: IsolationReport | undefined;
  #refusal: string | undefined;
  #startedAt = new Date().toISOString();
  #readSecret: SecretReader;

  constructor(options: AgentOptions) {
    this.name = validateAgentName(options.name);
    this.#readSecret = createSecretReader(options.credentials ?? { env: {} });
    this.#o = {
      labels: {},
      isolation: true,
      heartbeatMs: 2000,
      maxOutputBytes: 16 * 1024 * 1024,
      stopGraceMs: 5000,
      keepDoneMs: 15 * 60_000,
      credentials: { env: {} },
      hostNetwork: false,
      blockedNetworks: [],
      maxLimits: { ...defaultAgentLimits },
      ...options,
    };
  }

  /** What the host can do, as found at start. */
  get capabilities(): IsolationReport | undefined {
    return this.#report;
  }

  /** Probes isolation, serves the control subjects, starts heartbeats. */
  async start(): Promise<void> {
    const { bus, logger } = this.#o;
    // The sandbox runs as an unprivileged uid: it must be able to reach its own root below this one.
    mkdirSync(this.#o.workRoot, { recursive: true });
    chmodSync(this.#o.workRoot, statSync(this.#o.workRoot).mode | 0o711);
    this.#report = await probeIsolation({ workRoot: this.#o.workRoot, hostNetwork: this.#o.hostNetwork });
    // Without a sandbox a command shares the host's network, whatever it asks.
    if (!this.#o.isolation) this.#report.network = { ...this.#report.network, modes: ["host"] };
    if (this.#o.isolation && !this.#report.bwrap.usable) {
      this.#refusal = `Isolation is unavailable on agent "${this.name}": ${
        this.#report.bwrap.reason ?? "bubblewrap not usable"
      }; install bubblewrap, or run commands without a sandbox: \`troupe agent --no-isolation\`, or TROUPE_AGENT_ISOLATION=false for \`troupe start\``;
      logger.warn({ agent: this.name }, this.#refusal);
    }
    // A default ceiling the host cannot enforce refuses every job that does not lower it: say so now.
    for (
      const [limit, ceiling] of Object.entries(this.#o.maxLimits) as [
        keyof LimitCeilings,
        number | undefined,
      ][]
    ) {
      const probe = this.#report.limits[limit];
      if ((ceiling ?? 0) > 0 && !probe.usable && (limit !== "diskMB" || this.#o.isolation)) {
        logger.warn(
          { agent: this.name, limit, reason: probe.reason },
          `Agent "${this.name}" cannot enforce its default "${limit}" ceiling: jobs will be refused; set ${
            ceilingVariables[limit]
          }=0 to run them without it`,
        );
      }
    }
    if (this.#report.network.modes.includes("outbound") === false && this.#o.isolation) {
      logger.warn(
        { agent: this.name, reason: this.#report.network.outbound.reason },
        `Agent "${this.name}" offers no outbound network: jobs must ask for network "none"`,
      );
    }
    const subject = (verb: string) => bus.subjects.agent(this.name, verb);
    this.#responders.push(
      bus.serve(subject("run"), (data) => this.#answer(() => this.#run(decodeMessage<RunRequest>(data)))),
      bus.serve(
        subject("status"),
        (data) => this.#answer(() => Promise.resolve(this.#status(decodeMessage<JobRef>(data).jobId))),
      ),
      bus.serve(subject("stop"), (data) => this.#answer(() => this.#stop(decodeMessage<JobRef>(data)))),
      bus.serve(subject("forget"), (data) =>
        this.#answer(() => {
          const { jobId } = decodeMessage<JobRef>(data);
          this.#done.delete(jobId);
          return Promise.resolve(this.#status(jobId));
        })),
    );
    await this.#heartbeat();
    this.#timer = setInterval(() => void this.#heartbeat(), this.#o.heartbeatMs);
    logger.info(
      {
        agent: this.name,
        labels: this.#o.labels,
        isolation: !this.#o.isolation ? "off" : this.#refusal ? "unavailable" : "bwrap",
        cgroup: this.#report.cgroup.version,
      },
      this.#refusal
        ? `Agent "${this.name}" up, but refusing commands: no sandbox`
        : `Agent "${this.name}" ready`,
    );
  }

  async #answer(fn: () => Promise<AgentJobState>): Promise<Uint8Array> {
    try {
      return encodeMessage(await fn());
    } catch (error) {
      const permanent = error instanceof PermanentError;
      const code = error instanceof TroupeError ? error.code : "AGENT_ERROR";
      // A system error's message names host paths (the work root): it stays in the agent's log.
      let message = (error as Error).message;
      if (!(error instanceof TroupeError)) {
        this.#o.logger.warn({ err: error, agent: this.name }, "Agent request failed");
        const system = (error as { code?: unknown }).code;
        message = `Agent "${this.name}" failed${
          typeof system === "string" ? ` (${system})` : ""
        }: see its log`;
      }
      return encodeMessage({ state: "refused", error: { code, message, permanent } } satisfies AgentJobState);
    }
  }

  #status(jobId: string): AgentJobState {
    const proc = this.#running.get(jobId);
    if (proc) return { state: "running", reattached: true, applied: { ...proc.applied } };
    const done = this.#done.get(jobId);
    if (done) return { state: "done", reattached: true, outcome: done.outcome };
    return { state: "unknown" };
  }

  #run(request: RunRequest): Promise<AgentJobState> {
    const known = this.#status(request.jobId);
    if (known.state !== "unknown") return Promise.resolve(known);
    const starting = this.#starting.get(request.jobId);
    if (starting) return starting.then((s) => (s.state === "running" ? { ...s, reattached: true } : s));
    if (this.#refusal) throw new PermanentError(this.#refusal, { code: "ISOLATION_UNAVAILABLE" });
    const start = this.#start(request).finally(() => this.#starting.delete(request.jobId));
    this.#starting.set(request.jobId, start);
    return start;
  }

  async #start(request: RunRequest): Promise<AgentJobState> {
    const { bus, logger } = this.#o;
    const { jobId } = request;
    const publish = (seq: number, stream: "stdout" | "stderr" | "system", text: string) => {
      const { data, msgId } = encodeLogChunk({ jobId, seq, stream, text, at: new Date().toISOString() });
      bus.publishLog(jobId, data, { msgId }).catch((error) =>
        logger.warn({ err: error, jobId }, "Cannot publish a log chunk")
      );
    };
    let lastSeq = 0;
    // The cap counts chunks as stored (JSON, where a NUL byte takes six), the closing note included;
    // reaching it stops the command: its job fails with OUTPUT_LIMIT whatever it would have done.
    const limit = this.#o.maxOutputBytes;
    const note =
      `[troupe] output reached the cap of ${limit} bytes: the command is stopped and the rest dropped\n`;
    const sizeOf = (seq: number, stream: LogChunk["stream"], text: string) =>
      encodeLogChunk({ jobId, seq, stream, text, at: new Date().toISOString() }).data.byteLength;
    const capReached = new AbortController();
    const proc = await startSandboxedProcess(await withEnvFrom(request.spec, this.#readSecret), {
      jobId: sandboxName(jobId),
      workRoot: this.#o.workRoot,
      isolation: this.#o.isolation,
      allowHostNetwork: this.#o.hostNetwork,
      blockedNetworks: this.#o.blockedNetworks,
      maxLimits: this.#o.maxLimits,
      maxOutputBytes: Math.max(0, limit - sizeOf(Number.MAX_SAFE_INTEGER, "system", note)),
      measureOutput: (chunk) => sizeOf(chunk.seq + 1, chunk.stream, decoder.decode(chunk.data)),
      stopGraceMs: this.#o.stopGraceMs,
      onOutput: (chunk) => {
        lastSeq = chunk.seq + 1;
        publish(lastSeq, chunk.stream, decoder.decode(chunk.data));
      },
      onTruncated: () => {
        publish(++lastSeq, "system", note);
        capReached.abort();
      },
    });
    const stopAtCap = () => void proc.stop({ graceMs: this.#o.stopGraceMs });
    if (capReached.signal.aborted) stopAtCap();
    else capReached.signal.addEventListener("abort", stopAtCap, { once: true });
    this.#running.set(jobId, proc);
    logger.info({ jobId, agent: this.name, pid: proc.pid, applied: proc.applied }, "Command started");
    void proc.result.then((result) =>
      this.#finished(jobId, result, { limit, overCap: capReached.signal.aborted })
    );
    return { state: "running", reattached: false, applied: { ...proc.applied } };
  }

  #finished(jobId: string, result: SandboxResult, output: { limit: number; overCap: boolean }): void {
    this.#running.delete(jobId);
    // The protocol's copy of the result: what a job's result records (not the agent's own leftovers).
    const { leftovers: _leftovers, forwardedBytes: _forwarded, applied, ...rest } = result;
    const outcome: ExecOutcome = {
      ...rest,
      applied: { ...applied },
      agent: this.name,
      outputLimitBytes: output.limit,
    };
    if (output.overCap && outcome.stoppedBy !== "timeout") outcome.stoppedBy = "output-limit";
    this.#done.set(jobId, { outcome, at: Date.now() });
    this.#o.logger.info({
      jobId,
      agent: this.name,
      exitCode: result.exitCode,
      signal: result.signal,
      oomKilled: result.oomKilled,
      stoppedBy: outcome.stoppedBy,
    }, "Command ended");
  }

  async #stop(ref: JobRef): Promise<AgentJobState> {
    const proc = this.#running.get(ref.jobId) ??
      await this.#starting.get(ref.jobId)?.then(() => this.#running.get(ref.jobId));
    if (proc) await proc.stop({ graceMs: ref.graceMs ?? this.#o.stopGraceMs });
    return this.#status(ref.jobId);
  }

  async #heartbeat(): Promise<void> {
    const now = Date.now();
    for (const [jobId, done] of this.#done) if (now - done.at > this.#o.keepDoneMs) this.#done.delete(jobId);
    const info: AgentInfo = {
      name: this.name,
      host: this.#o.host,
      labels: this.#o.labels,
      isolation: this.#o.isolation,
      capabilities: { ...this.#report, maxLimits: this.#o.maxLimits } as unknown as Record<string, unknown>,
      running: this.#running.size,
      startedAt: this.#startedAt,
      at: new Date(now).toISOString(),
    };
    await this.#o.bus.publish(this.#o.bus.subjects.agent(this.name, "heartbeat"), encodeMessage(info)).catch(
      () => {},
    );
  }

  /** Stops serving and heartbeats, then stops running commands (SIGTERM, SIGKILL after the grace). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#responders.splice(0).map((r) => r.close()));
    await Promise.all([...this.#running.values()].map((proc) => proc.stop({ graceMs: this.#o.stopGraceMs })));
  }
}
