/**
 * Finds how this host exposes cgroups: a unified v2 hierarchy with usable
 * controllers, v1 hierarchies (one directory per controller), or neither.
 * Reads the filesystem only; writes nothing.
 *
 * Glossary: a *hierarchy* is one mounted cgroup tree; under v1 each controller
 * (cpu, memory, ...) has its own, under v2 one tree holds them all and a
 * controller is usable once listed in the root's `cgroup.controllers`.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The v1 hierarchies the sandbox uses: limits, accounting, and freezing for a clean kill. */
export const v1Hierarchies = ["cpu", "cpuacct", "memory", "blkio", "pids", "freezer"] as const;
/** A v1 hierarchy name. */
export type V1Hierarchy = (typeof v1Hierarchies)[number];

/** The v2 controllers the sandbox uses. */
export const v2Controllers = ["cpu", "memory", "io", "pids"] as const;
/** A v2 controller name. */
export type V2Controller = (typeof v2Controllers)[number];

/** How cgroups look on this host. */
export type CgroupLayout =
  | { version: "v2"; root: string; controllers: V2Controller[] }
  | { version: "v1"; root: string; hierarchies: Partial<Record<V1Hierarchy, string>> }
  | { version: "none"; root: string; reason: string };

/** Options of `detectCgroupLayout()`. */
export interface DetectCgroupLayoutOptions {
  /** Where cgroup filesystems are mounted; tests point it elsewhere. Default `/sys/fs/cgroup`. */
  root?: string;
}

function readWords(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Detects the layout: v2 when the unified hierarchy (at the root, or at
 * `unified/` on hybrid hosts) offers any of cpu, memory, io or pids; else v1
 * when any v1 hierarchy is mounted; else none, with the reason.
 *
 * @example
 * ```ts
 * const layout = detectCgroupLayout(); // { version: "v1", hierarchies: { memory: "/sys/fs/cgroup/memory", ... } }
 * ```
 */
export function detectCgroupLayout(options: DetectCgroupLayoutOptions = {}): CgroupLayout {
  const root = options.root ?? "/sys/fs/cgroup";
  if (!existsSync(root)) return { version: "none", root, reason: `No cgroup filesystem at "${root}"` };
  for (const unified of [root, join(root, "unified")]) {
    const offered = readWords(join(unified, "cgroup.controllers"));
    const controllers = v2Controllers.filter((c) => offered.includes(c));
    if (controllers.length > 0) return { version: "v2", root: unified, controllers };
  }
  const hierarchies: Partial<Record<V1Hierarchy, string>> = {};
  for (const name of v1Hierarchies) {
    const dir = join(root, name);
    if (existsSync(join(dir, "cgroup.procs"))) hierarchies[name] = dir;
  }
  if (Object.keys(hierarchies).length > 0) return { version: "v1", root, hierarchies };
  return {
    version: "none",
    root,
    reason: `No usable cgroup controllers under "${root}" (v2 offers none of ${
      v2Controllers.join(", ")
    }, no v1 hierarchy is mounted)`,
  };
}
