/**
 * The runtime seam: serving HTTP, signals, environment, arguments and exit. The
 * only module that touches `Deno.*` or `process.*`.
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno as
  | {
    serve(
      options: {
        port: number;
        hostname: string;
        onListen?: (addr: { port: number }) => void;
        signal?: AbortSignal;
      },
      handler: (r: Request) => Response | Promise<Response>,
    ): { finished: Promise<void>; addr: { port: number } };
    version: { deno: string };
  }
  | undefined;

/** Which runtime runs us. */
export const runtimeName: string = deno ? `deno ${deno.version.deno}` : `node ${process.versions.node}`;

/** A listening HTTP server. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** TLS material (PEM) for HTTPS; `ca` asks every client for a certificate. */
export interface ServeTls {
  cert: string;
  key: string;
  ca?: string;
}

/**
 * Serves `fetch` on `hostname:port` (port 0: any free port). With `tls`, HTTPS
 * through `node:https` on both runtimes (Deno.serve cannot read client
 * certificates); the request's `env.incoming.socket` is the TLS socket.
 */
export async function serve(
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>,
  options: { port: number; hostname: string; tls?: ServeTls | undefined },
): Promise<HttpServer> {
  if (deno && !options.tls) {
    const controller = new AbortController();
    let resolvePort: (port: number) => void;
    const listening = new Promise<number>((resolve) => (resolvePort = resolve));
    const server = deno.serve({
      port: options.port,
      hostname: options.hostname,
      signal: controller.signal,
      onListen: (addr) => resolvePort(addr.port),
    }, fetch);
    const port = await listening;
    return {
      port,
      close: async () => {
        controller.abort();
        await server.finished;
      },
    };
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  const tls = options.tls;
  const https = tls ? await import("node:https") : undefined;
  const secure = tls && https
    ? {
      createServer: https.createServer,
      serverOptions: {
        cert: tls.cert,
        key: tls.key,
        ...(tls.ca
          ? {
            ca: tls.ca,
            requestCert: true,
            // Every client completes the handshake (probes reach /healthz); the
            // gateway checks the certificate per request (client-certificate.ts).
            rejectUnauthorized: false,
          }
          : {}),
      },
    }
    : {};
  return await new Promise<HttpServer>((resolve, reject) => {
    const server = nodeServe({ fetch, port: options.port, hostname: options.hostname, ...secure }, (info) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
    server.on("error", reject);
  });
}

/** Runs `handler` once on the first SIGTERM or SIGINT; a second one exits at once. */
export function onShutdownSignal(handler: (signal: string) => void): () => void {
  let seen = false;
  const listener = (signal: string) => {
    if (seen) process.exit(130);
    seen = true;
    handler(signal);
  };
  const term = () => listener("SIGTERM");
  const int = () => listener("SIGINT");
  process.on("SIGTERM", term);
  process.on("SIGINT", int);
  const orphan = watchNpmParent(() => {
    if (!seen) listener("parent exited");
  });
  return () => {
    process.off("SIGTERM", term);
    process.off("SIGINT", int);
    if (orphan) clearInterval(orphan);
  };
}

/**
 * Under `npx`/`npm exec` Troupe runs as npm's grandchild (npm → sh → node), and a
 * SIGTERM to npm (what a supervisor or `timeout` sends) ends the shell but not
 * node, which would go on holding its port with parent 1. Started by npm, a
 * long-running command therefore watches its parent and shuts down when it goes.
 * Not otherwise: a `nohup troupe start &` outlives its shell on purpose.
 */
function watchNpmParent(onExit: () => void): ReturnType<typeof setInterval> | undefined {
  if (process.env.npm_command === undefined) return undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onExit();
    }
  }, 500);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** The environment as a plain object. */
export function environment(): Record<string, string | undefined> {
  return { ...process.env };
}

/** Command-line arguments after the script. */
export function args(): string[] {
  return process.argv.slice(2);
}

export function exit(code: number): never {
  process.exit(code);
}

export function setExitCode(code: number): void {
  process.exitCode = code;
}

export function writeOut(text: string): void {
  process.stdout.write(text);
}

export function writeErr(text: string): void {
  process.stderr.write(text);
}

/** The host name, for worker ids. */
export async function hostName(): Promise<string> {
  const os = await import("node:os");
  return os.hostname();
}

export const pid: number = process.pid;

/**
 * Whether a process with this pid runs (signal 0: no signal is sent; EPERM means
 * it runs under another user). On Linux a pid that now belongs to a program that
 * is not a Node or Deno process (the pid was reused) counts as gone.
 */
export function processAlive(target: number): boolean {
  try {
    process.kill(target, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== "EPERM") return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${target}/cmdline`, "utf8");
    return /node|deno|troupe|main\.ts/.test(cmdline);
  } catch {
    return true; // no /proc: trust the signal
  }
}
