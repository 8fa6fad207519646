/**
 * Throwaway PostgreSQL clusters for tests: initdb in a temporary directory, a free
 * loopback port, trust auth. PostgreSQL refuses to run as root, so as root both
 * run as the `postgres` OS user through `setpriv` (which execs: the child pid is
 * postgres itself, so kill() reaches it).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import postgres from "postgres";
import { exitOf, freePort, waitForPortFree } from "./free-port.ts";

export interface PostgresServer {
  /** Superuser URL of database `postgres`. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  /** Creates a database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
}

function binDir(): string {
  try {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) =>
      existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)
    );
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return `/usr/lib/postgresql/${versions[0]}/bin`;
  } catch { /* not Debian's layout */ }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim().replace(/\/initdb$/, "");
  throw new Error(
    "PostgreSQL is not installed: install the Debian package postgresql (apt-get install postgresql)",
  );
}

function asPostgresUser(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0) {
    throw new Error(
      "Running as root needs the OS user postgres (from the postgresql package) to run PostgreSQL",
    );
  }
  return { prefix: ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"], uid, gid };
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  const user = asPostgresUser();
  const root = mkdtempSync(join(tmpdir(), "troupe-pg-"));
  const dataDir = join(root, "data");
  if (user) chownSync(root, user.uid, user.gid);
  const run = (cmd: string, args: string[]) => {
    const argv = user ? [...user.prefix, cmd, ...args] : [cmd, ...args];
    return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: root });
  };
  const init = run(`${bin}/initdb`, [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = "";
  const launch = async () => {
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-k",
      root,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=300",
      "-c",
      "shared_buffers=128MB",
    ];
    const argv = user ? [...user.prefix, `${bin}/postgres`, ...args] : [`${bin}/postgres`, ...args];
    child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], cwd: root });
    child.stderr!.on("data", (d) => (log = (log + d).slice(-4000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, {
        max: 1,
        onnotice: () => {},
        connect_timeout: 2,
      });
      try {
        await sql`select 1`;
        await sql.end();
        return;
      } catch {
        await sql.end({ timeout: 0 }).catch(() => {});
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`PostgreSQL did not start: ${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await launch();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let counter = 0;
  const server: PostgresServer = {
    url,
    port,
    dataDir,
    async kill(signal = "SIGKILL") {
      if (!child) return;
      child.kill(signal);
      await exitOf(child);
      await waitForPortFree(port);
    },
    async stop() {
      await server.kill("SIGINT");
      child = undefined;
      rmSync(root, { recursive: true, force: true });
    },
    async restart() {
      await server.kill("SIGINT");
      await launch();
    },
    async createDatabase(name) {
      const db = name ?? `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`CREATE DATABASE "${db}"`);
      } finally {
        await sql.end();
      }
      return url.replace(/\/postgres$/, `/${db}`);
    },
  };
  return server;
}

let shared: Promise<PostgresServer> | undefined;

/** A fresh database on the shared cluster (from the test runner), or on one started for this process. */
export async function testDatabaseUrl(): Promise<string> {
  const fromRunner = process.env.TROUPE_TEST_PG_URL;
  if (fromRunner) {
    const db = `t_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
    const sql = postgres(fromRunner, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`CREATE DATABASE "${db}"`);
    } finally {
      await sql.end();
    }
    return fromRunner.replace(/\/[^/]*$/, `/${db}`);
  }
  shared ??= startPostgres().then((s) => {
    process.once("exit", () => void s.kill("SIGKILL"));
    return s;
  });
  return (await shared).createDatabase();
}

/** Stops the per-process cluster, if one was started. */
export async function stopSharedPostgres(): Promise<void> {
  if (shared) await (await shared).stop();
  shared = undefined;
}
