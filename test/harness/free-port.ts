/** Ports and processes of the test servers. */
import type { ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";

/** A free loopback TCP port (listen on 0, read it, close). */

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Polls until `accepts(port)` equals `wanted`, or throws after `timeoutMs`. */
async function waitUntil(port: number, wanted: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await accepts(port)) !== wanted) {
    if (Date.now() > deadline) {
      throw new Error(
        wanted
          ? `Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`
          : `127.0.0.1:${port} is still in use after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once something accepts TCP connections on `port`. */
export function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  return waitUntil(port, true, timeoutMs);
}

/** Resolves once nothing accepts TCP connections on `port` (a stopped server really let go of it). */
export function waitForPortFree(port: number, timeoutMs = 30_000): Promise<void> {
  return waitUntil(port, false, timeoutMs);
}

/** Resolves when `child` has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}
