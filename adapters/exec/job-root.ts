/**
 * A job's own filesystem root on the host, `<workRoot>/<jobId>/` holding
 * `work/`, `tmp/` and `home/` (the sandbox's `/work`, `/tmp`, `/home/troupe`),
 * owned by the sandbox uid; and the resolution of a job's working directory
 * inside its work dir, refusing any path that would leave it, through `..` or
 * through a symlink.
 *
 * @module
 */
import { chownSync, lstatSync, mkdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { PermanentError, ValidationError } from "../../machines/errors.ts";
import { ExecErrorCode, systemCode } from "./exec-errors.ts";

/** Host directories of one job. */
export interface JobRoot {
  root: string;
  work: string;
  tmp: string;
  home: string;
}

/** Options of `createJobRoot()`. */
export interface CreateJobRootOptions {
  workRoot: string;
  jobId: string;
  /** Owner of work, tmp and home (the sandbox uid); unset leaves them to the caller's uid. */
  owner?: number;
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Refuses a work root the sandbox uid could not reach: bwrap, running as that
 * uid, must search every directory above the job's.
 */
function assertReachable(workRoot: string, owner: number): void {
  for (let dir = workRoot;; dir = dirname(dir)) {
    const stat = statSync(dir);
    const searchable = stat.uid === owner ? (stat.mode & 0o100) !== 0 : (stat.mode & 0o001) !== 0;
    if (!searchable) {
      // No host path in the message: job results and the API show it.
      throw new PermanentError(
        `The agent's work root is out of reach of the sandbox uid ${owner}: a directory above it is not searchable by others (chmod o+x)`,
        { code: ExecErrorCode.isolationUnavailable },
      );
    }
    if (dir === dirname(dir)) return;
  }
}

/** Makes (or reuses) the job's root with its work, tmp and home directories. */
export function createJobRoot(options: CreateJobRootOptions): JobRoot {
  const root = join(options.workRoot, options.jobId);
  const dirs: JobRoot = { root, work: join(root, "work"), tmp: join(root, "tmp"), home: join(root, "home") };
  if (options.owner !== undefined) assertReachable(options.workRoot, options.owner);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  for (const dir of [dirs.work, dirs.tmp, dirs.home]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (options.owner !== undefined) chownSync(dir, options.owner, options.owner);
  }
  return dirs;
}

/** Removes the job's root and everything in it. */
export function removeJobRoot(root: JobRoot): void {
  rmSync(root.root, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Resolves a validated relative `cwd` inside `workDir`, making missing
 * directories (owned by `owner`). A component that is a symlink is followed on
 * the host and must land inside the work dir; the answer is the real path and
 * its path relative to the work dir (which is what the sandbox sees).
 */
export function resolveWorkCwd(
  workDir: string,
  cwd: string,
  owner?: number,
): { host: string; relative: string } {
  const realWork = realpathSync(workDir);
  let current = realWork;
  for (const part of cwd.split("/").filter((p) => p !== "" && p !== ".")) {
    const next = join(current, part);
    let stat;
    try {
      stat = lstatSync(next);
    } catch (error) {
      if (systemCode(error) !== "ENOENT") throw error;
      mkdirSync(next, { mode: 0o755 });
      if (owner !== undefined) chownSync(next, owner, owner);
      current = next;
      continue;
    }
    if (stat.isSymbolicLink()) {
      let target;
      try {
        target = realpathSync(next);
      } catch {
        throw new ValidationError(`Working directory "${cwd}" goes through a dangling symlink "${part}"`, {
          field: "cwd",
        });
      }
      if (!isInside(target, realWork)) {
        throw new ValidationError(
          `Working directory "${cwd}" leaves the work dir through symlink "${part}"`,
          { field: "cwd" },
        );
      }
      current = target;
    } else {
      current = next;
    }
    if (!statSync(current).isDirectory()) {
      throw new ValidationError(`Working directory "${cwd}" is not a directory`, { field: "cwd" });
    }
  }
  return { host: current, relative: relative(realWork, current) };
}
