/**
 * The local admin token: a gateway started without `TROUPE_API_TOKENS` (and
 * without a client CA) is still never anonymous. On first start it writes a random
 * token (32 bytes, base64url) to `<TROUPE_DATA_DIR>/admin-token`, mode 0600, and
 * reuses it on later starts; the CLI on the same machine reads the same file when
 * `TROUPE_TOKEN` is unset. Whoever can read the file is admin, exactly like whoever
 * can read the data folder's database.
 *
 * The file appears complete or not at all: the token is written to a private
 * temporary file (`wx`, i.e. O_EXCL) that is then hard-linked into place, and a
 * link never replaces an existing file, so two processes starting at once agree
 * on one token.
 *
 * @module
 */
import { randomBytes, randomUUID } from "node:crypto";
import { link, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../machines/errors.ts";

/** The file name inside the data folder. */
export const ADMIN_TOKEN_FILE = "admin-token";

/** Where the admin token of `dataDir` lives. */
export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** The admin token in use and its file. */
export interface AdminToken {
  token: string;
  path: string;
  /** True when this call wrote the file. */
  created: boolean;
}

const errorCode = (error: unknown) => (error as { code?: string } | null)?.code;

/** Reads a token file; the error names the file, never its content. */
async function readTokenFile(path: string): Promise<string> {
  const token = (await readFile(path, "utf8")).trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new ConfigError(
      `The admin token file "${path}" holds no usable token (one line, at least 16 characters): delete it to get a new one`,
    );
  }
  return token;
}

/**
 * Returns the admin token of `dataDir`, creating the file on first use. Refuses
 * (ConfigError) a file that other users may read or write.
 *
 * @example
 * ```ts
 * const { path, created } = await ensureAdminToken(".troupe"); // ".troupe/admin-token", true once
 * ```
 */
export async function ensureAdminToken(dataDir: string): Promise<AdminToken> {
  const path = adminTokenPath(dataDir);
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(32).toString("base64url");
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${token}\n`, { flag: "wx", mode: 0o600 });
  try {
    await link(temporary, path);
    return { token, path, created: true };
  } catch (error) {
    if (errorCode(error) === "EEXIST") {
      // Somebody made it first (an earlier start): use theirs.
    } else if (["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"].includes(errorCode(error) ?? "")) {
      // A file system without hard links: exclusive create (O_EXCL) in place.
      try {
        await writeFile(path, `${token}\n`, { flag: "wx", mode: 0o600 });
        return { token, path, created: true };
      } catch (inner) {
        if (errorCode(inner) !== "EEXIST") throw inner;
      }
    } else {
      throw error;
    }
  } finally {
    await unlink(temporary).catch(() => {});
  }
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `The admin token file "${path}" is open to other users (mode ${
        mode.toString(8).padStart(4, "0")
      }): run chmod 600 on it`,
    );
  }
  return { token: await readTokenFile(path), path, created: false };
}

/** Host names that mean "this machine" in `TROUPE_URL`. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The token the CLI sends: `TROUPE_TOKEN` when set, else the local admin token of
 * `dataDir` when `troupeUrl` points at this machine and the file is readable, else
 * undefined. The local token is never sent to another host.
 */
export async function cliToken(
  options: { token: string | undefined; dataDir: string; troupeUrl: string },
): Promise<string | undefined> {
  if (options.token) return options.token;
  if (!LOOPBACK.test(new URL(options.troupeUrl).hostname)) return undefined;
  try {
    return await readTokenFile(adminTokenPath(options.dataDir));
  } catch (error) {
    if (["ENOENT", "EACCES", "EPERM", "ENOTDIR"].includes(errorCode(error) ?? "")) return undefined;
    throw error;
  }
}
