/**
 * Writes a job's limits into its cgroup files, v1 or v2, and says which file
 * enforces each one. A write the kernel refuses becomes a `LIMIT_UNAVAILABLE`
 * refusal naming the limit and the file.
 *
 * | limit | v1 | v2 |
 * |---|---|---|
 * | cpuPercent | cpu.cfs_quota_us over cpu.cfs_period_us | cpu.max |
 * | memoryMB | memory.limit_in_bytes (+ memory.memsw.limit_in_bytes) | memory.max (+ memory.swap.max 0) |
 * | ioBps | blkio.throttle.read_bps_device and write_bps_device | io.max rbps and wbps |
 * | pids | pids.max | pids.max |
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { limitUnavailable, systemCode } from "./exec-errors.ts";
import type { CgroupLimits, Limits } from "./command-spec.ts";

/** How one limit was applied: its value and the cgroup file(s) that enforce it. */
export interface AppliedLimit {
  value: number;
  via: string;
}

/** The limits a job runs under, by name. */
export type AppliedLimits = { -readonly [K in keyof Limits]?: AppliedLimit };

function write(limit: string, dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (error) {
    throw limitUnavailable(
      limit,
      `writing "${value}" to "${join(dir, file)}" failed (${systemCode(error)})`,
      error,
    );
  }
}

const mib = 1024 * 1024;

/** Writes limits into v1 hierarchies (`dirs` by hierarchy name, made by the caller). */
export function writeV1Limits(
  dirs: Partial<Record<string, string>>,
  limits: CgroupLimits,
  ioDevice?: string,
): AppliedLimits {
  const applied: AppliedLimits = {};
  if (limits.cpuPercent !== undefined && dirs.cpu !== undefined) {
    const period = Number(readFileSync(join(dirs.cpu, "cpu.cfs_period_us"), "utf8")) || 100_000;
    const quota = Math.max(1000, Math.round((period * limits.cpuPercent) / 100));
    write("cpuPercent", dirs.cpu, "cpu.cfs_quota_us", String(quota));
    applied.cpuPercent = {
      value: limits.cpuPercent,
      via: `cgroup v1 cpu.cfs_quota_us ${quota} per cpu.cfs_period_us ${period}`,
    };
  }
  if (limits.memoryMB !== undefined && dirs.memory !== undefined) {
    const bytes = String(limits.memoryMB * mib);
    write("memoryMB", dirs.memory, "memory.limit_in_bytes", bytes);
    let via = "cgroup v1 memory.limit_in_bytes";
    // Without swap accounting, swap would let the job grow past its limit.
    if (existsSync(join(dirs.memory, "memory.memsw.limit_in_bytes"))) {
      write("memoryMB", dirs.memory, "memory.memsw.limit_in_bytes", bytes);
      via += " and memory.memsw.limit_in_bytes";
    }
    applied.memoryMB = { value: limits.memoryMB, via };
  }
  if (limits.ioBps !== undefined && dirs.blkio !== undefined && ioDevice !== undefined) {
    write("ioBps", dirs.blkio, "blkio.throttle.read_bps_device", `${ioDevice} ${limits.ioBps}`);
    write("ioBps", dirs.blkio, "blkio.throttle.write_bps_device", `${ioDevice} ${limits.ioBps}`);
    applied.ioBps = {
      value: limits.ioBps,
      via:
        `cgroup v1 blkio.throttle.read_bps_device and write_bps_device on ${ioDevice} (direct I/O; v1 cannot throttle buffered writeback)`,
    };
  }
  if (limits.pids !== undefined && dirs.pids !== undefined) {
    write("pids", dirs.pids, "pids.max", String(limits.pids));
    applied.pids = { value: limits.pids, via: "cgroup v1 pids.max" };
  }
  return applied;
}

/** Writes limits into a v2 cgroup directory whose controllers the caller enabled. */
export function writeV2Limits(dir: string, limits: CgroupLimits, ioDevice?: string): AppliedLimits {
  const applied: AppliedLimits = {};
  if (limits.cpuPercent !== undefined) {
    const period = 100_000;
    const quota = Math.max(1000, Math.round((period * limits.cpuPercent) / 100));
    write("cpuPercent", dir, "cpu.max", `${quota} ${period}`);
    applied.cpuPercent = { value: limits.cpuPercent, via: `cgroup v2 cpu.max ${quota} ${period}` };
  }
  if (limits.memoryMB !== undefined) {
    write("memoryMB", dir, "memory.max", String(limits.memoryMB * mib));
    let via = "cgroup v2 memory.max";
    if (existsSync(join(dir, "memory.swap.max"))) {
      write("memoryMB", dir, "memory.swap.max", "0");
      via += " and memory.swap.max 0";
    }
    applied.memoryMB = { value: limits.memoryMB, via };
  }
  if (limits.ioBps !== undefined && ioDevice !== undefined) {
    write("ioBps", dir, "io.max", `${ioDevice} rbps=${limits.ioBps} wbps=${limits.ioBps}`);
    applied.ioBps = { value: limits.ioBps, via: `cgroup v2 io.max rbps and wbps on ${ioDevice}` };
  }
  if (limits.pids !== undefined) {
    write("pids", dir, "pids.max", String(limits.pids));
    applied.pids = { value: limits.pids, via: "cgroup v2 pids.max" };
  }
  return applied;
}
