/**
 * Throwaway nats-server processes for tests: JetStream on, a free loopback port,
 * a temporary store directory; stop, kill and restart (same port and store).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { exitOf, freePort, waitForPort, waitForPortFree } from "./free-port.ts";

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

function natsBinary(): string {
  if (existsSync("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
  const which = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(
    "nats-server is not installed: install the Debian package nats-server (apt-get install nats-server)",
  );
}

/**
 * Starts nats-server on a free loopback port. `args` are appended to the command
 * line (e.g. `["-c", file]`); `env` is added to the server's environment (the
 * `$VARIABLE` references of a configuration file).
 */
export async function startNatsServer(
  options: { jetstream?: boolean; args?: string[]; env?: Record<string, string> } = {},
): Promise<NatsServer> {
  const binary = natsBinary();
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), "troupe-nats-"));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const args = [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      ...(options.jetstream === false ? [] : jetstreamArgs(storeDir, options.args ?? [])),
      ...(options.args ?? []),
    ];
    child = spawn(binary, args, {
      stdio: "ignore",
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    await waitForPort(port);
  };
  await launch();
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async kill(signal = "SIGKILL") {
      if (!child) return;
      child.kill(signal);
      await exitOf(child);
      // Deno reports "exit" when the signal is sent; wait until the port is really free.
      await waitForPortFree(port);
    },
    async stop() {
      await server.kill("SIGTERM");
      child = undefined;
      rmSync(storeDir, { recursive: true, force: true });
    },
    async restart() {
      await server.kill("SIGTERM");
      await launch();
    },
  };
  return server;
}

let shared: Promise<NatsServer> | undefined;

/** The shared test server's URL (from the test runner), or one started for this process. */
export function testNatsUrl(): Promise<string> {
  const fromRunner = process.env.TROUPE_TEST_NATS_URL;
  if (fromRunner) return Promise.resolve(fromRunner);
  shared ??= startNatsServer().then((s) => {
    process.once("exit", () => void s.kill("SIGKILL"));
    return s;
  });
  return shared.then((s) => s.url);
}

/** Stops the per-process server, if one was started. */
export async function stopSharedNats(): Promise<void> {
  if (shared) await (await shared).stop();
  shared = undefined;
}

/**
 * JetStream on `storeDir`. A stream's `max_bytes` is reserved against the server's
 * `max_file_store` (by default 75% of the free disk), and every test namespace
 * makes its own bounded events and logs streams (1 GiB each by default): on the
 * shared server of a whole run the reservations ran out after ~28 namespaces
 * ("insufficient storage resources available"). Test servers therefore get a
 * nominal store limit far above what any run writes, unless the caller brings its
 * own configuration file.
 */
function jetstreamArgs(storeDir: string, extra: readonly string[]): string[] {
  if (extra.includes("-c")) return ["-js", "-sd", storeDir];
  const file = join(storeDir, "jetstream.conf");
  writeFileSync(file, `jetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n  max_file_store: 100TB\n}\n`);
  return ["-js", "-c", file];
}
