/**
 * Finds a program on `PATH` and in the usual system directories, as the
 * sandbox's helpers (bwrap, setpriv, slirp4netns, nsenter, ip) are looked up.
 *
 * @module
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/**
 * The path of an executable named `name`, or `undefined`.
 *
 * @example
 * ```ts
 * findExecutable("bwrap"); // "/usr/bin/bwrap"
 * ```
 */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch { /* next */ }
  }
  return undefined;
}
