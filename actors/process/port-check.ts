/**
 * The HTTP API's address, checked before a process does any work: a port in
 * use (or one this user may not bind, or an address not on this host) is bad
 * configuration (exit 5), said at once, instead of after migrations ran and a
 * worker took jobs. The check listens on the address and closes again; another
 * process may still take the port in between, so binding the real server goes
 * through {@link listenError} too.
 *
 * @module
 */
import { createServer } from "node:net";
import { ConfigError } from "../../machines/errors.ts";

/** Why an address cannot be listened on, by socket error code (Deno's error class names too). */
const reasons: Record<string, string> = {
  EADDRINUSE: "the port is in use by another process (EADDRINUSE); set PORT to a free one",
  AddrInUse: "the port is in use by another process (EADDRINUSE); set PORT to a free one",
  EACCES: "permission denied (EACCES): ports below 1024 need privileges; set PORT to 1024 or more",
  PermissionDenied: "permission denied (EACCES): ports below 1024 need privileges; set PORT to 1024 or more",
  EADDRNOTAVAIL: "no such address on this host (EADDRNOTAVAIL); check HOST",
  AddrNotAvailable: "no such address on this host (EADDRNOTAVAIL); check HOST",
  ENOTFOUND: "no such host (ENOTFOUND); check HOST",
};

/** `host:port`, with brackets around an IPv6 host. */
function addressOf(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Turns an error of listening on `host:port` into a {@link ConfigError}
 * `Cannot listen on host:port: <reason>` when it is about the address (in use,
 * privileged, not on this host); anything else comes back unchanged.
 */
export function listenError(error: unknown, host: string, port: number): unknown {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  const reason = (typeof code === "string" ? reasons[code] : undefined) ??
    (typeof name === "string" ? reasons[name] : undefined);
  if (!reason) return error;
  return new ConfigError(`Cannot listen on ${addressOf(host, port)}: ${reason}`, { cause: error });
}

/**
 * Listens on `host:port` and closes at once; throws what {@link listenError}
 * makes of a refusal. Port 0 (any free port) needs no check.
 *
 * @example
 * ```ts
 * await checkListenAddress("127.0.0.1", 8000); // throws ConfigError "Cannot listen on 127.0.0.1:8000: the port is in use ..."
 * ```
 */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
  } catch (error) {
    throw listenError(error, host, port);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * The host the HTTP API listens on: the configured `HOST` with API tokens or a
 * client CA, else loopback only (the local admin token file is the only way in,
 * so nothing beyond this machine may reach it).
 */
export function apiListenHost(config: {
  host: string;
  apiTokens: unknown;
  tls?: { clientCa?: string | undefined } | undefined;
}): string {
  return config.apiTokens || config.tls?.clientCa ? config.host : "127.0.0.1";
}
