/**
 * Reads what a job's cgroup accounted: CPU time, peak memory, and whether the
 * kernel's OOM killer struck inside it. Anything the host does not account is
 * `null`, never a guess.
 *
 * | stat | v1 | v2 |
 * |---|---|---|
 * | cpuSeconds | cpuacct.usage (ns) | cpu.stat usage_usec |
 * | peakMemoryBytes | memory.max_usage_in_bytes | memory.peak |
 * | oomKilled | memory.oom_control oom_kill (else memory.failcnt) | memory.events oom_kill |
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What the cgroup accounted for a job. */
export interface CgroupStats {
  cpuSeconds: number | null;
  peakMemoryBytes: number | null;
  oomKilled: boolean;
}

function read(dir: string | undefined, file: string): string | undefined {
  if (dir === undefined) return undefined;
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

/** The number after `key ` in a flat-keyed cgroup file (`cpu.stat`, `memory.events`...). */
export function keyedValue(text: string | undefined, key: string): number | undefined {
  const match = text?.match(new RegExp(`^${key} (\\d+)$`, "m"));
  return match ? Number(match[1]) : undefined;
}

function number(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

/** Reads stats from a job's cgroup dirs (by v1 hierarchy name, or `v2`). */
export function readCgroupStats(dirs: Partial<Record<string, string>>): CgroupStats {
  if (dirs.v2 !== undefined) {
    const usec = keyedValue(read(dirs.v2, "cpu.stat"), "usage_usec");
    return {
      cpuSeconds: usec === undefined ? null : usec / 1e6,
      peakMemoryBytes: number(read(dirs.v2, "memory.peak")),
      oomKilled: (keyedValue(read(dirs.v2, "memory.events"), "oom_kill") ?? 0) > 0,
    };
  }
  const ns = number(read(dirs.cpuacct, "cpuacct.usage"));
  const oomKills = keyedValue(read(dirs.memory, "memory.oom_control"), "oom_kill");
  return {
    cpuSeconds: ns === null ? null : ns / 1e9,
    peakMemoryBytes: number(read(dirs.memory, "memory.max_usage_in_bytes")),
    // Kernels before 4.13 lack the oom_kill counter; hitting the limit is the next best sign.
    oomKilled: oomKills !== undefined ? oomKills > 0 : (number(read(dirs.memory, "memory.failcnt")) ?? 0) > 0,
  };
}
