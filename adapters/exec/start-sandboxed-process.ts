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
import { mkdirSync } from "node:fs";
import process from "node:process";
import { ErrorCode, PermanentError, ValidationError } from "../../machines/errors.ts";
import { findBlockDevice } from "./block-device.ts";
import { JobCgroup } from "./cgroup.ts";
import { detectCgroupLayout } from "./cgroup-layout.ts";
import { parseCommandSpec } from "./command-spec.ts";
import { ExecErrorCode } from "./exec-errors.ts";
import { dropPrivileges, probeBwrap } from "./isolation-probe.ts";
import { createJobRoot, removeJobRoot, resolveWorkCwd } from "./job-root.ts";
import type { JobRoot } from "./job-root.ts";
import { planLaunch } from "./launch-plan.ts";
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
}

const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Starts a command and resolves once it runs inside its cgroup; refuses with a
 * `ValidationError` (bad spec or job id) or a `PermanentError` (no bubblewrap,
 * a limit that cannot be enforced, a failed spawn), leaving nothing behind.
 */
export async function startSandboxedProcess(input: unknown, options: SandboxOptions): Promise<SandboxedProcess> {
  const spec = parseCommandSpec(input);
  const { jobId } = options;
  if (!jobIdPattern.test(jobId)) {
    throw new ValidationError(`Job id ${JSON.stringify(jobId)} cannot name a sandbox: use up to 128 letters, digits, ".", "_" or "-"`, { field: "jobId" });
  }
  if (options.signal?.aborted) throw new PermanentError(`Job "${jobId}" was stopped before it started`, { code: ErrorCode.cancelled });
  const isolation = options.isolation ?? true;
  const uid = options.sandboxUid ?? 65534;
  let sandbox;
  if (isolation) {
    const bwrap = await probeBwrap({ sandboxUid: uid, ...(options.bwrapPath === undefined ? {} : { bwrapPath: options.bwrapPath }) });
    if (!bwrap.usable || bwrap.path === undefined) {
      throw new PermanentError(`Cannot isolate job "${jobId}": ${bwrap.reason}`, { code: ExecErrorCode.isolationUnavailable });
    }
    const systemPaths = describeSystemPaths(options.systemPaths === undefined ? {} : { paths: options.systemPaths });
    sandbox = { bwrapPath: bwrap.path, dropPrivileges: dropPrivileges(bwrap.setprivPath, uid), uid, systemPaths };
  }
  const owner = sandbox !== undefined && process.getuid?.() === 0 ? uid : undefined;
  mkdirSync(options.workRoot, { recursive: true, mode: 0o711 });
  // The cgroup first: it refuses a job id that is still running before its root is touched.
  const ioDevice = spec.limits?.ioBps === undefined ? undefined : findBlockDevice(options.workRoot);
  const cgroup = JobCgroup.create({
    layout: detectCgroupLayout(options.cgroupRoot === undefined ? {} : { root: options.cgroupRoot }),
    name: jobId,
    limits: spec.limits ?? {},
    ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    ...(ioDevice === undefined ? {} : { ioDevice }),
  });
  let jobRoot: JobRoot | undefined;
  let child: ChildProcess | undefined;
  try {
    jobRoot = createJobRoot({ workRoot: options.workRoot, jobId, ...(owner === undefined ? {} : { owner }) });
    const cwd = resolveWorkCwd(jobRoot.work, spec.cwd ?? "", owner);
    const plan = planLaunch({
      jobId, argv: spec.command, env: spec.env ?? {}, cwd: cwd.relative, hostCwd: cwd.host,
      network: spec.network ?? true, jobRoot, procsFiles: cgroup?.procsFiles ?? [],
      ...(sandbox === undefined ? {} : { sandbox }),
    });
    const started = performance.now();
    child = spawn(plan.file, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      detached: true,
      stdio: [spec.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", "pipe", ...(plan.fd4 === undefined ? [] : ["pipe" as const])],
    });
    const spawned = child;
    const exit = new Promise<[number | null, string | null]>((resolve) => spawned.once("exit", (code, signal) => resolve([code, signal])));
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
    return new SandboxedProcess({
      child, exit, closed, jobId, jobRoot, cgroup, capture, started, isolated: sandbox !== undefined,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
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
