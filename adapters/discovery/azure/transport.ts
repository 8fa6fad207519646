/**
 * How the Azure SDK clients reach the network: one `https.Agent` per provider,
 * handed to the credential and every ARM client through the pipeline's
 * documented `agent` option (so extra trusted CAs and keep-alive are set in one
 * place and `close()` can destroy the sockets), the pipeline options that turn
 * the SDK's own retries off, and a policy that puts the current page's abort
 * signal on every request of a client.
 *
 * @module
 */
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { ComputeManagementClient } from "@azure/arm-compute";

/** The pipeline of an ARM client (every client shares the core-rest-pipeline type). */
export type ArmPipeline = ComputeManagementClient["pipeline"];
type PipelinePolicy = Parameters<ArmPipeline["addPolicy"]>[0];

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** PEM certificates trusted in addition to Node's bundled roots (a private CA, a test CA). */
  trustedCertificates?: readonly string[] | undefined;
  /** Reuse connections (default false: Deno 2.9 re-sends an aborted request on a kept-alive socket). */
  keepAlive?: boolean | undefined;
}

/** The agent every Azure request of one provider goes through. */
export function createAgent(options: AgentOptions): Agent {
  const extra = options.trustedCertificates ?? [];
  return new Agent({
    keepAlive: options.keepAlive ?? false,
    ...(extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {}),
  });
}

/**
 * Pipeline options shared by the credential and the ARM clients: our agent, and
 * no SDK retries (`maxRetries: 0` also disables the throttling strategy, which
 * runs inside the same retry policy), so the engine's retry is the only one.
 */
export function pipelineOptions(agent: Agent) {
  return { agent, retryOptions: { maxRetries: 0 } };
}

/** Where a source puts the signal of the page it is fetching. */
export interface SignalSlot {
  current: AbortSignal | undefined;
}

/**
 * Sets the slot's signal on every request. The paging helpers of the ARM
 * clients send `nextLink` requests without the caller's options, so without
 * this a continuation page (and its token request) could not be aborted.
 * Added in the Serialize phase, before the bearer token policy reads the signal.
 */
export function attachSignalPolicy(pipeline: ArmPipeline, slot: SignalSlot): void {
  const policy: PipelinePolicy = {
    name: "troupeDiscoveryAbortSignal",
    sendRequest(request, next) {
      if (slot.current) request.abortSignal = slot.current;
      return next(request);
    },
  };
  pipeline.addPolicy(policy, { phase: "Serialize" });
}
