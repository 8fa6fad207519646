/**
 * One process per data folder: the embedded database (PGlite) may be opened by
 * one process only, or a second `troupe start` in the same folder accepts jobs
 * that are gone after a restart. The lock is a file `<dir>/troupe.lock` holding
 * the holder's pid, created atomically (written aside, then hard-linked into
 * place). A lock whose process is gone (killed, crashed) is taken over; one whose
 * process runs refuses with the folder and the pid (a `ConfigError`: exit 5).
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfigError } from "../../machines/errors.ts";
import { pid as ownPid, processAlive } from "./runtime.ts";

/** A held lock; `release()` removes the file if it is still this process's. */
export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

const LOCK_FILE = "troupe.lock";

async function holderOf(path: string): Promise<number | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  const pid = Number(text?.split("\n")[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes the lock of `dir` (created if missing), or throws a ConfigError naming
 * the folder and the pid that holds it.
 *
 * @example
 * ```ts
 * const lock = await lockDataDir(".troupe");
 * // ... open PGlite ...
 * await lock.release();
 * ```
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const mine = `${ownPid}\n${randomUUID()}\n`;
  const aside = join(dir, `.${LOCK_FILE}.${ownPid}.${randomUUID()}`);
  await writeFile(aside, mine, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(aside, path);
        return {
          path,
          async release() {
            if ((await readFile(path, "utf8").catch(() => "")) === mine) await unlink(path).catch(() => {});
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await holderOf(path);
      if (holder !== undefined && holder !== ownPid && processAlive(holder)) {
        throw new ConfigError(
          `Data folder "${resolve(dir)}" is in use by process ${holder}: one process per TROUPE_DATA_DIR; ` +
            "stop that one, or give this one another TROUPE_DATA_DIR",
        );
      }
      // Left by a process that is gone: move it out of the way (rename is atomic, so of two
      // processes taking over the same stale lock only one moves it), then try again.
      await rename(path, `${aside}.stale`).then(() => unlink(`${aside}.stale`), () => {});
    }
    throw new ConfigError(`Cannot take the lock of data folder "${resolve(dir)}": it keeps changing hands`);
  } finally {
    await unlink(aside).catch(() => {});
  }
}
