/**
 * Sandboxed processes for remote exec agents: run a command on this Linux host
 * isolated by bubblewrap (its own filesystem root, pid/ipc/uts/user
 * namespaces, a network namespace of its own with outbound connections only or
 * no network at all, an unprivileged uid), limited by cgroups
 * (CPU, memory, I/O, pids; v2, or v1 where that is what the host has) from its
 * first instruction, with live numbered output under a cap, stop and timeout.
 *
 * @example
 * ```ts
 * import { probeIsolation, startSandboxedProcess } from "./adapters/exec/mod.ts";
 *
 * const report = await probeIsolation({ workRoot: "/var/lib/troupe/jobs" }); // register with the agent
 * const proc = await startSandboxedProcess(
 *   { command: ["sh", "-c", "make && make test"], limits: { cpuPercent: 100, memoryMB: 512, pids: 256, diskMB: 256 }, network: "none" },
 *   { jobId: "j-42", workRoot: "/var/lib/troupe/jobs", onOutput: ({ seq, stream, data }) => publish(seq, stream, data) },
 * );
 * setTimeout(() => proc.stop({ graceMs: 5000 }), 60_000);
 * const { exitCode, oomKilled, cpuSeconds, outputTruncated } = await proc.result;
 * ```
 * @module
 */
export {
  commandSpecSchema,
  limitsSchema,
  networkModeOf,
  networkModes,
  parseCommandSpec,
} from "./command-spec.ts";
export type { CommandSpec, CommandSpecInput, Limits, NetworkMode } from "./command-spec.ts";
export { applyLimitCeilings, ceilingVariables } from "./limit-ceilings.ts";
export type { LimitCeilings } from "./limit-ceilings.ts";
export { startSandboxedProcess } from "./start-sandboxed-process.ts";
export type { SandboxOptions } from "./start-sandboxed-process.ts";
export { SandboxedProcess } from "./sandboxed-process.ts";
export type { SandboxResult } from "./sandboxed-process.ts";
export type { OutputChunk, OutputTotals, OutputTruncation } from "./output-capture.ts";
export type { AppliedLimit, AppliedLimits } from "./cgroup-limits.ts";
export { probeBwrap, probeIsolation } from "./isolation-probe.ts";
export type { BwrapStatus, IsolationReport, ProbeIsolationOptions } from "./isolation-probe.ts";
export { detectCgroupLayout } from "./cgroup-layout.ts";
export type { CgroupLayout } from "./cgroup-layout.ts";
export { ExecErrorCode } from "./exec-errors.ts";
export { buildSandboxArgs, sandboxHostname, sandboxPaths } from "./sandbox-args.ts";
