/**
 * Finds the block device (as `major:minor`) holding a path, which is what the
 * blkio/io controllers throttle. A partition resolves to its whole disk, where
 * the kernel's throttling applies. Filesystems without one backing disk (tmpfs,
 * overlay, btrfs's anonymous devices) have none, and an I/O limit there cannot
 * be enforced.
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** Options of `findBlockDevice()`. */
export interface FindBlockDeviceOptions {
  /** Where sysfs is mounted. Default `/sys`. */
  sysRoot?: string;
}

/** Splits a Linux `dev_t` into `major:minor` (glibc's encoding). */
export function deviceNumber(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * The `major:minor` of the disk holding `path`, or `undefined` when it is not
 * on a block device.
 *
 * @example
 * ```ts
 * findBlockDevice("/var/lib/troupe"); // "254:0"
 * ```
 */
export function findBlockDevice(path: string, options: FindBlockDeviceOptions = {}): string | undefined {
  const sys = options.sysRoot ?? "/sys";
  const number = deviceNumber(BigInt(statSync(path).dev));
  const entry = join(sys, "dev", "block", number);
  if (!existsSync(entry)) return undefined;
  if (!existsSync(join(entry, "partition"))) return number;
  try {
    return readFileSync(join(dirname(realpathSync(entry)), "dev"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
