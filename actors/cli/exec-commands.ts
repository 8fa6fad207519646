/**
 * The CLI's exec commands, with the flags users know from similar tools:
 * `troupe run [--agent NAME] [--label k=v] [--max-cpu=PCT] [--max-memory=MB]
 * [--max-iobps=BPS] [--max-pids=N] [--max-disk=MB] [--timeout=DURATION] [--env K=V] [--cwd DIR]
 * [--network none|outbound|host] [--no-network] [--detach] -- CMD ARGS...` (follows the output, exits with the
 * command's exit code), `troupe logs [-f] ID`, `troupe stop ID`, `troupe agents`,
 * and `troupe agent` (serve commands on this host).
 *
 * @module
 */
import { type Command, Option } from "commander";
import { duration, keyValue, positiveInt } from "./options.ts";
import { serviceHelp } from "./service-help.ts";
import type { JobsClient } from "./jobs-client.ts";
import { writeErr, writeOut } from "../process/runtime.ts";
import { printable } from "./printable.ts";
import { ErrorCode, TroupeError } from "../../machines/errors.ts";
import type { ExecOutcome } from "../../bus/agent-protocol.ts";

/** What the commands need from main.ts. */
export interface ExecCommandDeps {
  withClient<T>(fn: (client: JobsClient) => Promise<T>): Promise<T>;
  /** Prints a line with its control characters escaped (printable.ts), or a value as JSON. */
  print(value: unknown): void;
  setExit(code: number): void;
  runAgent(
    options: { name?: string; labels?: string; isolation: boolean; workRoot?: string; hostNetwork?: boolean },
  ): Promise<void>;
}

const positive = (flag: string) => (value: string) => positiveInt(value, flag);

/** Help of `--host-network` (`troupe agent`, `troupe start`). */
export const hostNetworkHelp =
  'let jobs ask for the host\'s network (network "host", TROUPE_AGENT_HOST_NETWORK=true): ' +
  "this exposes the host's loopback services (the Troupe API, NATS, PostgreSQL) to every such command";

/**
 * The exit code `troupe run` ends with for a finished exec job, from the
 * command's structured outcome (the job's `result`, kept on failure too).
 */
export function exitCodeOfJob(job: { status: string; result?: unknown; lastError?: unknown }): number {
  if (job.status === "success") return 0;
  if (job.status === "cancelled") return 130;
  const outcome = (job.result ?? null) as Partial<ExecOutcome> | null;
  const code = (job.lastError as { code?: unknown } | null)?.code;
  if (outcome?.oomKilled) return 137;
  if (outcome?.stoppedBy === "timeout" || code === "TIMEOUT") return 124;
  if (typeof outcome?.exitCode === "number") return outcome.exitCode;
  return 1;
}

interface RunFlags {
  agent?: string;
  label?: Record<string, string>;
  maxCpu?: number;
  maxMemory?: number;
  maxIobps?: number;
  maxPids?: number;
  maxDisk?: number;
  timeout?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** A mode from --network, false from --no-network. */
  network?: string | false;
  detach?: boolean;
}

/** Adds run, logs, stop, agents and agent to `program`. */
export function addExecCommands(program: Command, deps: ExecCommandDeps): void {
  const { withClient, print, setExit } = deps;

  program.command("run")
    .description("Run a command on an agent, sandboxed; follows its output and exits with its exit code")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("--agent <name>", "the agent to run on")
    .option("--label <k=v>", "run on an agent with this label (repeatable)", keyValue("--label"))
    .option("--max-cpu <pct>", "CPU share in percent of one core", positive("--max-cpu"))
    .option("--max-memory <mb>", "memory limit in MiB (the kernel kills beyond it)", positive("--max-memory"))
    .option("--max-iobps <bps>", "disk read/write bytes per second", positive("--max-iobps"))
    .option("--max-pids <n>", "most processes at once", positive("--max-pids"))
    .option(
      "--max-disk <mb>",
      "size in MiB of each writable directory (/work, /tmp, home: kept in memory)",
      positive("--max-disk"),
    )
    .option(
      "--timeout <duration>",
      "stop the command after this long, like 30s, 2m or 1h",
      (v) => duration(v, "--timeout"),
    )
    .option("--env <K=V>", "environment variable (repeatable)", keyValue("--env"))
    .option("--cwd <dir>", "working directory inside the sandbox's work dir")
    .addOption(
      new Option(
        "--network <mode>",
        "none: loopback only; outbound (default): own network namespace, outbound connections only; host: the host's network (agents started with --host-network)",
      )
        .choices(["none", "outbound", "host"]),
    )
    .option("--no-network", "no network at all (--network none)")
    .option("--detach", "print the job id and return at once")
    .action(async (command: string[], flags: RunFlags) => {
      const limits = {
        ...(flags.maxCpu ? { cpuPercent: flags.maxCpu } : {}),
        ...(flags.maxMemory ? { memoryMB: flags.maxMemory } : {}),
        ...(flags.maxIobps ? { ioBps: flags.maxIobps } : {}),
        ...(flags.maxPids ? { pids: flags.maxPids } : {}),
        ...(flags.maxDisk ? { diskMB: flags.maxDisk } : {}),
      };
      const payload = {
        command,
        ...(flags.agent ? { agent: flags.agent } : {}),
        ...(flags.label ? { labels: flags.label } : {}),
        ...(Object.keys(limits).length ? { limits } : {}),
        ...(flags.timeout ? { timeoutMs: flags.timeout } : {}),
        ...(flags.env ? { env: flags.env } : {}),
        ...(flags.cwd ? { cwd: flags.cwd } : {}),
        ...(flags.network === false
          ? { network: "none" }
          : typeof flags.network === "string"
          ? { network: flags.network }
          : {}),
      };
      await withClient(async (client) => {
        if (flags.agent) await requireLiveAgent(client, flags.agent);
        const { id } = await client.submit({ kind: "exec", payload });
        if (flags.detach) return print(id);
        for await (const chunk of client.logs(id, { follow: true })) {
          (chunk.stream === "stdout" ? writeOut : writeErr)(chunk.text);
        }
        let job = await client.get(id);
        for (let i = 0; i < 50 && !["success", "failed", "cancelled"].includes(job.status); i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          job = await client.get(id);
        }
        if (job.status !== "success") {
          writeErr(
            `troupe: ${
              printable(
                `job ${id} ${job.status}: ${(job.lastError as { message?: string } | null)?.message ?? ""}`,
              )
            }\n`,
          );
        }
        setExit(exitCodeOfJob(job));
      });
    });

  program.command("logs")
    .description("Print a job's output; -f follows it until the job ends")
    .argument("<id>")
    .option("-f, --follow", "follow")
    .action(async (id: string, flags: { follow?: boolean }) => {
      await withClient(async (client) => {
        for await (const chunk of client.logs(id, { follow: Boolean(flags.follow) })) {
          (chunk.stream === "stdout" ? writeOut : writeErr)(chunk.text);
        }
      });
    });

  program.command("stop")
    .description("Stop a running command (cancels its job: SIGTERM, then SIGKILL after a grace)")
    .argument("<id>")
    .action(async (id: string) => {
      await withClient(async (client) => print(`${(await client.cancel(id)).id} cancelled`));
    });

  program.command("agents")
    .description("List the exec agents heard lately")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      await withClient(async (client) => {
        const agents = await client.agents();
        if (flags.json) return print(agents);
        if (agents.length === 0) return print("No agents");
        for (const a of agents) {
          const labels = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(",");
          const capabilities = a.capabilities as {
            cgroup?: { version?: string };
            network?: { modes?: string[] };
            bwrap?: { usable?: boolean };
          };
          const cgroup = capabilities.cgroup?.version ?? "?";
          const network = capabilities.network?.modes?.join(",") || "?";
          print(
            `${a.name.padEnd(20)} ${a.host.padEnd(20)} running=${a.running} isolation=${
              // What the agent can really do: asked for a sandbox it cannot make, it refuses every command.
              !a.isolation
                ? "off"
                : capabilities.bwrap?.usable === false
                ? "unavailable(refuses-jobs)"
                : "bwrap"} cgroup=${cgroup} network=${network} ${labels}`,
          );
        }
      });
    });

  program.command("agent")
    .description("Serve exec jobs on this host (needs NATS_URL): sandboxed by bubblewrap, limited by cgroups")
    .option("--name <name>", 'this agent\'s name (default TROUPE_AGENT_NAME, else "local")')
    .option("--labels <k=v,...>", "labels jobs may select it by")
    .option("--work-root <dir>", "where each job's filesystem root is made")
    .option("--no-isolation", "run commands without a sandbox (only where bubblewrap cannot run)")
    .option("--host-network", hostNetworkHelp)
    .addHelpText("after", serviceHelp(["storage", "agent", "observability"]))
    .action((
      flags: { name?: string; labels?: string; workRoot?: string; isolation: boolean; hostNetwork?: boolean },
    ) =>
      deps.runAgent({
        isolation: flags.isolation,
        ...(flags.hostNetwork ? { hostNetwork: true } : {}),
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.labels ? { labels: flags.labels } : {}),
        ...(flags.workRoot ? { workRoot: flags.workRoot } : {}),
      })
    );
}

/** Refuses at once (exit 3) an agent name no live agent has, naming the live ones, instead of waiting for the job to time out. */
async function requireLiveAgent(client: JobsClient, name: string): Promise<void> {
  const agents = await client.agents();
  if (agents.some((a) => a.name === name)) return;
  const live = agents.map((a) => `"${printable(a.name)}"`).join(", ");
  throw new TroupeError(
    `No agent named "${printable(name)}" is alive; live agents: ${live || "none"}`,
    { code: ErrorCode.notFound },
  );
}
