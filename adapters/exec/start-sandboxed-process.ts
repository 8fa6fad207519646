/**
 * Runs one job's command: validated, in its own filesystem root under
 * bubblewrap, inside its cgroup from its first instruction, its output
 * numbered and capped, stoppable (SIGTERM, then SIGKILL of every process after
 * a grace), with a timeout, and a result that says how it ended and what it
 * used. When it ends, whatever it left running is killed and its cgroup and
 * filesystem root are removed.
 *
 * @example
 * ```ts
 * const proc = await startSandboxedProcess(
 *   { command: ["make", "test"], cwd: "src", limits: { memoryMB: 512, pids: 256 }, timeoutMs: 60_000 },
 *   { jobId: "j-42", workRoot: "/var/lib/troupe/jobs", onOutput: (chunk) => publish(chunk) },
 * );
 * const result = await proc.result; // { exitCode: 0, oomKilled: false, cpuSeconds: 3.2, ... }
 * ```
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { Readable } from "node:stream";
import { ErrorCode, PermanentError, ValidationError } from "../../machines/errors.ts";
import { findBlockDevice } from "./block-device.ts";
import { JobCgroup } from "./cgroup.ts";
import { detectCgroupLayout } from "./cgroup-layout.ts";
import { parseCommandSpec } from "./command-spec.ts";
import { ExecErrorCode } from "./exec-errors.ts";
import { dropPrivileges, probeBwrap } from "./isolation-probe.ts";
import { createJobRoot, removeJobRoot, resolveWorkCwd } from "./job-root.ts";
import type { JobRoot } from "./job-root.ts";
import { planLaunch, setupFds } from "./launch-plan.ts";
import { applyLimitCeilings } from "./limit-ceilings.ts";
import type { LimitCeilings } from "./limit-ceilings.ts";
import { resolveNetwork } from "./network-policy.ts";
import {
  hostAddresses,
  ipv4Network,
  outboundResolvConf,
  prepareOutbound,
  readSandboxPid,
} from "./outbound-network.ts";
import type { OutboundNetwork } from "./outbound-network.ts";
import { OutputCapture } from "./output-capture.ts";
import type { OutputChunk, OutputTruncation } from "./output-capture.ts";
import { SandboxedProcess } from "./sandboxed-process.ts";
import { describeSystemPaths } from "./system-paths.ts";
import { waitForJoin } from "./wait-for-join.ts";

/** Options of `startSandboxedProcess()`. */
export interface SandboxOptions {
  /** Names the job's root, cgroup and hostname: letters, digits, `.`, `_`, `-`. */
  jobId: string;
  /** Directory under which the job's own root (`<workRoot>/<jobId>`) is made. */
  workRoot: string;
  /** Run under bubblewrap (default). `false` only for an agent started with `--no-isolation`. */
  isolation?: boolean;
  onOutput?: (chunk: OutputChunk) => void;
  /** Called once when output passes `maxOutputBytes`. */
  onTruncated?: (truncation: OutputTruncation) => void;
  /** Cap on forwarded output, stdout and stderr together, as `measureOutput` counts it. Default 16 MiB. */
  maxOutputBytes?: number;
  /** What a chunk costs against `maxOutputBytes` (its stored size). Default: its byte length. */
  measureOutput?: (chunk: OutputChunk) => number;
  /** Time between SIGTERM and SIGKILL when stopping. Default 10 s. */
  stopGraceMs?: number;
  /** Aborting it stops the command. */
  signal?: AbortSignal;
  /** Where cgroup filesystems are mounted. Default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  /** Directory in each hierarchy for job cgroups. Default `troupe`. */
  cgroupParent?: string;
  /** Default: `bwrap` on `PATH`. */
  bwrapPath?: string;
  /** The uid and gid the command runs as (inside and, when the agent is root, outside). Default 65534. */
  sandboxUid?: number;
  /** Host paths shown read-only in the sandbox. Default `defaultSystemPaths`. */
  systemPaths?: readonly string[];
  /** Allow a job to ask for network `host` (the agent's `--host-network`). Default false. */
  allowHostNetwork?: boolean;
  /**
   * Networks an `outbound` command may not reach besides the host's own addresses
   * (IPv4 addresses or CIDRs, e.g. a control plane's subnet, `169.254.169.254`). Default none.
   */
  blockedNetworks?: readonly string[];
  /** For network `outbound`. Default: `slirp4netns` on `PATH`. */
  slirp4netnsPath?: string;
  /** The most a job may ask of pids, memory and disk, and what it gets when it asks nothing. Default: no ceilings. */
  maxLimits?: LimitCeilings;
}

const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Starts a command and resolves once it runs inside its cgroup; refuses with a
 * `ValidationError` (bad spec or job id) or a `PermanentError` (no bubblewrap,
 * a limit that cannot be enforced, a failed spawn), leaving nothing behind.
 */
export async function startSandboxedProcess(
  input: unknown,
  options: SandboxOptions,
): Promise<SandboxedProcess> {
  const spec = parseCommandSpec(input);
  const { jobId } = options;
  if (!jobIdPattern.test(jobId)) {
    throw new ValidationError(
      `Job id ${JSON.stringify(jobId)} cannot name a sandbox: use up to 128 letters, digits, ".", "_" or "-"`,
      { field: "jobId" },
    );
  }
  if (options.signal?.aborted) {
    throw new PermanentError(`Job "${jobId}" was stopped before it started`, { code: ErrorCode.cancelled });
  }
  const isolation = options.isolation ?? true;
  const uid = options.sandboxUid ?? 65534;
  let sandbox;
  if (isolation) {
    const bwrap = await probeBwrap({
      sandboxUid: uid,
      ...(options.bwrapPath === undefined ? {} : { bwrapPath: options.bwrapPath }),
    });
    if (!bwrap.usable || bwrap.path === undefined) {
      throw new PermanentError(`Cannot isolate job "${jobId}": ${bwrap.reason}`, {
        code: ExecErrorCode.isolationUnavailable,
      });
    }
    const systemPaths = describeSystemPaths(
      options.systemPaths === undefined ? {} : { paths: options.systemPaths },
    );
    sandbox = {
      bwrapPath: bwrap.path,
      dropPrivileges: dropPrivileges(bwrap.setprivPath, uid),
      uid,
      systemPaths,
    };
  }
  const network = resolveNetwork(spec.network, {
    jobId,
    isolated: sandbox !== undefined,
    allowHostNetwork: options.allowHostNetwork ?? false,
    ...(options.slirp4netnsPath === undefined ? {} : { slirp4netnsPath: options.slirp4netnsPath }),
  });
  const limits = applyLimitCeilings(spec.limits ?? {}, options.maxLimits ?? {}, {
    isolated: sandbox !== undefined,
  });
  const owner = sandbox !== undefined && process.getuid?.() === 0 ? uid : undefined;
  mkdirSync(options.workRoot, { recursive: true, mode: 0o711 });
  // The cgroup first: it refuses a job id that is still running before its root is touched.
  const ioDevice = limits.ioBps === undefined ? undefined : findBlockDevice(options.workRoot);
  const cgroup = JobCgroup.create({
    layout: detectCgroupLayout(options.cgroupRoot === undefined ? {} : { root: options.cgroupRoot }),
    name: jobId,
    limits,
    ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    ...(ioDevice === undefined ? {} : { ioDevice }),
  });
  let jobRoot: JobRoot | undefined;
  let child: ChildProcess | undefined;
  let outbound: OutboundNetwork | undefined;
  try {
    jobRoot = createJobRoot({ workRoot: options.workRoot, jobId, ...(owner === undefined ? {} : { owner }) });
    // With a disk limit the sandbox's /work is an empty tmpfs: its cwd is made there, not on the host.
    const diskBytes = sandbox === undefined || limits.diskMB === undefined
      ? undefined
      : limits.diskMB * 1024 * 1024;
    const cwd = diskBytes === undefined
      ? resolveWorkCwd(jobRoot.work, spec.cwd ?? "", owner)
      : { relative: spec.cwd ?? "", host: jobRoot.work };
    const bad = options.blockedNetworks?.find((entry) => !ipv4Network.test(entry));
    if (bad !== undefined) {
      throw new PermanentError(`Barred network ${JSON.stringify(bad)} is not an IPv4 address or CIDR`, {
        code: ExecErrorCode.networkUnavailable,
      });
    }
    const own = network.mode === "outbound" ? hostAddresses() : [];
    const blocked = [...own, ...(network.mode === "outbound" ? options.blockedNetworks ?? [] : [])];
    const resolvText = network.mode === "outbound" ? outboundResolvConf("/etc/resolv.conf", own) : undefined;
    const resolvConf = resolvText === undefined ? undefined : join(jobRoot.root, "resolv.conf");
    if (resolvConf !== undefined) writeFileSync(resolvConf, resolvText as string, { mode: 0o644 });
    const plan = planLaunch({
      jobId,
      argv: spec.command,
      env: spec.env ?? {},
      cwd: cwd.relative,
      hostCwd: cwd.host,
      network: network.mode,
      jobRoot,
      procsFiles: cgroup?.procsFiles ?? [],
      ...(diskBytes === undefined ? {} : { diskBytes }),
      ...(resolvConf === undefined ? {} : { resolvConf }),
      ...(sandbox === undefined ? {} : { sandbox }),
    });
    const started = performance.now();
    child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      detached: true,
      stdio: [
        spec.stdin === undefined ? "ignore" : "pipe",
        "pipe",
        "pipe",
        "pipe",
        ...(plan.fd4 === undefined ? [] : ["pipe" as const]),
        ...(plan.networkSetup ? ["pipe" as const, "pipe" as const] : []),
      ],
    });
    // bwrap's report of the sandbox's pid (outbound): listened to from the start, awaited once joined.
    const sandboxPid = plan.networkSetup
      ? readSandboxPid((child.stdio as unknown[])[setupFds.info] as Readable, jobId)
      : undefined;
    sandboxPid?.catch(() => {});
    // Its network helper now, while bwrap sets the sandbox up: it waits for the sandbox's pid.
    if (sandboxPid !== undefined && network.tools !== undefined) {
      outbound = prepareOutbound(network.tools, jobId);
    }
    const spawned = child;
    const exit = new Promise<[number | null, string | null]>((resolve) =>
      spawned.once("exit", (code, signal) => resolve([code, signal]))
    );
    const closed = new Promise<void>((resolve) => spawned.once("close", () => resolve()));
    const capture = new OutputCapture({
      maxBytes: options.maxOutputBytes ?? 16 * 1024 * 1024,
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      ...(options.onTruncated === undefined ? {} : { onTruncated: options.onTruncated }),
      ...(options.measureOutput === undefined ? {} : { measure: options.measureOutput }),
    });
    child.stdout?.on("data", (data: Uint8Array) => capture.push("stdout", data));
    child.stderr?.on("data", (data: Uint8Array) => capture.push("stderr", data));
    if (plan.fd4 !== undefined) {
      const args = child.stdio[4] as NodeJS.WritableStream;
      args.on("error", () => {});
      args.end(plan.fd4);
    }
    if (spec.stdin !== undefined) {
      child.stdin?.on("error", () => {}); // a command that does not read its stdin is no error
      child.stdin?.end(spec.stdin);
    }
    await waitForJoin(child, jobId);
    if (sandboxPid !== undefined && outbound !== undefined) {
      await outbound.connect(await sandboxPid, blocked);
      const block = (child.stdio as unknown[])[setupFds.block] as NodeJS.WritableStream;
      block.on("error", () => {});
      block.end("1");
    }
    const applied = diskBytes === undefined ? {} : {
      diskMB: {
        value: limits.diskMB as number,
        via:
          "tmpfs size of /work, /tmp, /home/troupe and /dev/shm (kept in memory, counted in the memory limit)",
      },
    };
    return new SandboxedProcess({
      child,
      exit,
      closed,
      jobId,
      jobRoot,
      cgroup,
      capture,
      started,
      isolated: sandbox !== undefined,
      network: network.mode,
      applied,
      ...(outbound === undefined ? {} : { outbound }),
      stopGraceMs: options.stopGraceMs ?? 10_000,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    outbound?.stop();
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await cgroup?.killAll();
    await cgroup?.remove();
    if (jobRoot !== undefined) removeJobRoot(jobRoot);
    throw error;
  }
}
