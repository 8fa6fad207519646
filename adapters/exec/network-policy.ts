/**
 * Which network a job's command gets, or why it is refused. A sandboxed
 * command gets `outbound` unless it asks otherwise; `host` (which exposes the
 * host's loopback services, Troupe's own API, NATS and PostgreSQL among them)
 * only on an agent started with `--host-network`; `outbound` only where
 * slirp4netns can run. A command run without a sandbox (`--no-isolation`)
 * always shares the host's network, so it may not ask for another.
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";
import type { CommandSpec, NetworkMode } from "./command-spec.ts";
import { networkModeOf } from "./command-spec.ts";
import { ExecErrorCode } from "./exec-errors.ts";
import { findOutboundTools } from "./outbound-network.ts";
import type { OutboundTools } from "./outbound-network.ts";

/** Options of `resolveNetwork()`. */
export interface NetworkPolicyOptions {
  jobId: string;
  /** The command runs under bubblewrap. */
  isolated: boolean;
  /** The agent allows `host` (`--host-network`). */
  allowHostNetwork: boolean;
  /** Default: slirp4netns on `PATH`. */
  slirp4netnsPath?: string;
}

/** The mode granted, and for `outbound` the tools that provide it. */
export interface NetworkGrant {
  mode: NetworkMode;
  tools?: OutboundTools;
}

function refuse(message: string): PermanentError {
  return new PermanentError(message, { code: ExecErrorCode.networkUnavailable });
}

/**
 * Grants the network a spec asks for (`network` absent: `outbound`), or
 * refuses with a `PermanentError` coded `NETWORK_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * resolveNetwork(undefined, { jobId: "j1", isolated: true, allowHostNetwork: false }); // { mode: "outbound", tools }
 * resolveNetwork("host", { jobId: "j1", isolated: true, allowHostNetwork: false }); // throws
 * ```
 */
export function resolveNetwork(network: CommandSpec["network"], options: NetworkPolicyOptions): NetworkGrant {
  const { jobId } = options;
  const mode = networkModeOf(network);
  if (!options.isolated) {
    if (network !== undefined && mode !== "host") {
      throw refuse(
        `Job "${jobId}" asks for network "${mode}", but this agent runs commands without a sandbox (--no-isolation): they share the host's network`,
      );
    }
    return { mode: "host" };
  }
  if (mode === "host" && !options.allowHostNetwork) {
    throw refuse(
      `Job "${jobId}" asks for host networking, which this agent does not allow: it would expose the host's loopback services ` +
        `(the API, NATS, PostgreSQL) to the command; start the agent with --host-network (TROUPE_AGENT_HOST_NETWORK=true) to allow it, ` +
        `or ask for network "outbound"`,
    );
  }
  if (mode !== "outbound") return { mode };
  const tools = findOutboundTools(options.slirp4netnsPath);
  if (!tools.usable) {
    throw refuse(
      `Job "${jobId}" needs outbound network, which this agent cannot give: ${tools.reason}; or run it with network "none"`,
    );
  }
  return { mode, tools };
}
