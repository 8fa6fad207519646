/**
 * One job's cgroup: made under `<hierarchy>/<parent>/<job id>` in every v1
 * hierarchy the job needs (or once in the v2 tree), holding its limits, its
 * accounting (CPU time, peak memory, OOM kills) and its processes, so that all
 * of them can be signalled, killed and counted, then removed.
 *
 * A limit that cannot be enforced (no controller, a directory or file that is
 * not writable, an I/O limit without a device) is refused with a
 * `PermanentError` coded `LIMIT_UNAVAILABLE`; nothing is silently dropped.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ErrorCode, PermanentError } from "../../machines/errors.ts";
import type { CgroupLayout, V1Hierarchy } from "./cgroup-layout.ts";
import type { CgroupLimits } from "./command-spec.ts";
import { writeV1Limits, writeV2Limits } from "./cgroup-limits.ts";
import type { AppliedLimits } from "./cgroup-limits.ts";
import { readCgroupStats } from "./cgroup-stats.ts";
import { limitUnavailable, systemCode } from "./exec-errors.ts";
import type { CgroupStats } from "./cgroup-stats.ts";

/** Options of `JobCgroup.create()`. */
export interface CreateJobCgroupOptions {
  layout: CgroupLayout;
  /** The job's directory name; validated by the caller. */
  name: string;
  /** Directory (in every hierarchy) under which job cgroups are made. Default `troupe`. */
  parent?: string;
  limits?: CgroupLimits;
  /** `major:minor` of the device to throttle; needed when `limits.ioBps` is set. */
  ioDevice?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const v1Needs: Record<keyof CgroupLimits, V1Hierarchy> = {
  cpuPercent: "cpu",
  memoryMB: "memory",
  ioBps: "blkio",
  pids: "pids",
};
const v2Needs = { cpuPercent: "cpu", memoryMB: "memory", ioBps: "io", pids: "pids" } as const;

/** A job's cgroup (one directory per v1 hierarchy, or one v2 directory). */
export class JobCgroup {
  /** Each requested limit and the file that enforces it. */
  readonly applied: AppliedLimits;
  readonly version: "v1" | "v2";
  readonly #dirs: Partial<Record<string, string>>;

  private constructor(version: "v1" | "v2", dirs: Partial<Record<string, string>>, applied: AppliedLimits) {
    this.version = version;
    this.#dirs = dirs;
    this.applied = applied;
  }

  /**
   * Makes the job's cgroup and writes its limits, or refuses. Returns
   * `undefined` when the host has no cgroups and no limit was asked for.
   */
  static create(options: CreateJobCgroupOptions): JobCgroup | undefined {
    const { layout, name, limits = {} } = options;
    const parent = options.parent ?? "troupe";
    const asked = (Object.keys(v1Needs) as (keyof CgroupLimits)[]).filter((k) => limits[k] !== undefined);
    if (asked.includes("ioBps") && options.ioDevice === undefined) {
      throw limitUnavailable("ioBps", "the work dir is not on a block device the kernel can throttle");
    }
    if (layout.version === "none") {
      if (asked.length > 0) throw limitUnavailable(asked[0] as string, layout.reason);
      return undefined;
    }
    const dirs: Partial<Record<string, string>> = {};
    const made = new JobCgroup(layout.version, dirs, {});
    try {
      if (layout.version === "v2") {
        for (const limit of asked) {
          if (!layout.controllers.includes(v2Needs[limit])) {
            throw limitUnavailable(
              limit,
              `cgroup v2 at "${layout.root}" does not offer the ${v2Needs[limit]} controller`,
            );
          }
        }
        const required = asked.map((limit) => v2Needs[limit]);
        for (const dir of [layout.root, join(layout.root, parent)]) {
          mkdirSync(dir, { recursive: true });
          for (const controller of layout.controllers) {
            try {
              writeFileSync(join(dir, "cgroup.subtree_control"), `+${controller}`);
            } catch (error) {
              if (required.includes(controller)) {
                throw limitUnavailable(
                  asked[required.indexOf(controller)] as string,
                  `cannot enable the ${controller} controller in "${dir}" (${systemCode(error)})`,
                  error,
                );
              }
            }
          }
        }
        dirs.v2 = join(layout.root, parent, name);
        mkdirSync(dirs.v2, { recursive: true });
        made.#assertVacant(name);
        Object.assign(made.applied, writeV2Limits(dirs.v2, limits, options.ioDevice));
      } else {
        for (const limit of asked) {
          const hierarchy = v1Needs[limit];
          const root = layout.hierarchies[hierarchy];
          if (root === undefined) {
            throw limitUnavailable(limit, `no cgroup v1 ${hierarchy} hierarchy under "${layout.root}"`);
          }
          try {
            dirs[hierarchy] = join(root, parent, name);
            mkdirSync(dirs[hierarchy], { recursive: true });
          } catch (error) {
            delete dirs[hierarchy];
            throw limitUnavailable(
              limit,
              `cannot create a cgroup in "${join(root, parent)}" (${systemCode(error)})`,
              error,
            );
          }
        }
        // Accounting and the freezer are welcome but optional.
        for (const [hierarchy, root] of Object.entries(layout.hierarchies)) {
          if (dirs[hierarchy] !== undefined) continue;
          try {
            mkdirSync(join(root, parent, name), { recursive: true });
            dirs[hierarchy] = join(root, parent, name);
          } catch { /* accounting for this hierarchy stays unknown */ }
        }
        made.#assertVacant(name);
        Object.assign(made.applied, writeV1Limits(dirs, limits, options.ioDevice));
      }
    } catch (error) {
      made.#removeNow(); // rmdir refuses a cgroup that still has processes: a running job's stays
      throw error;
    }
    return made;
  }

  /** `cgroup.procs` files the job's first process writes its pid into before it execs. */
  get procsFiles(): string[] {
    return Object.values(this.#dirs).map((dir) => join(dir as string, "cgroup.procs"));
  }

  /** Directory per hierarchy (`v2` for the unified one), e.g. for tests and diagnostics. */
  get dirs(): Readonly<Partial<Record<string, string>>> {
    return this.#dirs;
  }

  /** Pids of every process in the cgroup. */
  pids(): number[] {
    const all = new Set<number>();
    for (const file of this.procsFiles) {
      try {
        for (const line of readFileSync(file, "utf8").split("\n")) if (line) all.add(Number(line));
      } catch { /* removed or never made */ }
    }
    return [...all];
  }

  /** Sends `signal` to every process in the cgroup but `except`; returns how many were signalled. */
  signalAll(signal: NodeJS.Signals, except?: number): number {
    let count = 0;
    for (const pid of this.pids()) {
      if (pid === except) continue;
      try {
        process.kill(pid, signal);
        count++;
      } catch { /* already gone */ }
    }
    return count;
  }

  /**
   * SIGKILLs every process and waits (up to `waitMs`) until none is left:
   * `cgroup.kill` on v2; on v1 the freezer stops forks while the pids are
   * killed, so a fork bomb cannot outrun the loop.
   */
  async killAll(waitMs = 3000): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    const kill = this.#dirs.v2 === undefined ? undefined : join(this.#dirs.v2, "cgroup.kill");
    const freezer = this.#dirs.freezer === undefined ? undefined : join(this.#dirs.freezer, "freezer.state");
    while (this.pids().length > 0) {
      if (Date.now() > deadline) return false;
      try {
        if (kill !== undefined && existsSync(kill)) {
          writeFileSync(kill, "1");
        } else if (freezer !== undefined) {
          writeFileSync(freezer, "FROZEN");
          for (let i = 0; i < 50 && !readFileSync(freezer, "utf8").startsWith("FROZEN"); i++) await sleep(5);
          this.signalAll("SIGKILL");
          writeFileSync(freezer, "THAWED");
        } else {
          this.signalAll("SIGKILL");
        }
      } catch (error) {
        // The last process exited and the exit path removed the cgroup meanwhile: nothing is left to kill.
        if ((error as { code?: string }).code === "ENOENT") return true;
        throw error;
      }
      await sleep(10);
    }
    return true;
  }

  /** CPU time, peak memory and whether the kernel OOM-killed a process; read before `remove()`. */
  stats(): CgroupStats {
    return readCgroupStats(this.#dirs);
  }

  /** Removes the job's directories, waiting (up to `waitMs`) for exiting processes to leave. */
  async remove(waitMs = 3000): Promise<boolean> {
    const deadline = Date.now() + waitMs;
    while (!this.#removeNow()) {
      if (Date.now() > deadline) return false;
      await sleep(5);
    }
    return true;
  }

  /** Refuses to share a cgroup (and its limits) with a job of the same id still running. */
  #assertVacant(name: string): void {
    if (this.pids().length > 0) {
      throw new PermanentError(
        `Job "${name}" is already running in cgroup "${Object.values(this.#dirs)[0]}"`,
        { code: ErrorCode.conflict },
      );
    }
  }

  #removeNow(): boolean {
    let done = true;
    for (const dir of Object.values(this.#dirs)) {
      try {
        rmdirSync(dir as string);
      } catch (error) {
        if (systemCode(error) !== "ENOENT") done = false;
      }
    }
    return done;
  }
}
