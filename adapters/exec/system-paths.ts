/**
 * Which of the host's system paths a sandbox shows, read-only: `/usr`, `/etc`
 * and the top-level `bin`/`lib` directories, recreated as symlinks where the
 * host has merged them into `/usr`. Never `/root`, `/home`, `/var`, `/run` or
 * `/opt`. An `/etc/resolv.conf` that points elsewhere (systemd-resolved's
 * `/run/...`) is bound as the file it points to, so DNS works.
 *
 * @module
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { SystemPath } from "./sandbox-args.ts";

/** The paths shown when none are given. */
export const defaultSystemPaths = [
  "/usr",
  "/etc",
  "/bin",
  "/sbin",
  "/lib",
  "/lib64",
  "/lib32",
  "/libx32",
] as const;

/** Options of `describeSystemPaths()`. */
export interface DescribeSystemPathsOptions {
  /** Absolute host paths to show read-only. Default `defaultSystemPaths`. */
  paths?: readonly string[];
}

/**
 * Describes the host's system paths for `buildSandboxArgs()`: directories are
 * bound read-only, symlinks recreated, missing paths left out.
 *
 * @example
 * ```ts
 * describeSystemPaths(); // [{ kind: "ro-bind", source: "/usr", dest: "/usr" }, { kind: "symlink", target: "usr/bin", dest: "/bin" }, ...]
 * ```
 */
export function describeSystemPaths(options: DescribeSystemPathsOptions = {}): SystemPath[] {
  const out: SystemPath[] = [];
  for (const path of options.paths ?? defaultSystemPaths) {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) out.push({ kind: "symlink", target: readlinkSync(path), dest: path });
    else out.push({ kind: "ro-bind", source: path, dest: path });
  }
  const resolv = "/etc/resolv.conf";
  if (out.some((p) => p.dest === "/etc") && existsSync(resolv) && lstatSync(resolv).isSymbolicLink()) {
    const real = realpathSync(resolv);
    if (!real.startsWith(join("/etc", "/"))) out.push({ kind: "ro-bind", source: real, dest: resolv });
  }
  return out;
}
