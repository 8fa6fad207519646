/**
 * How the Azure SDK clients reach the network: one `https.Agent` per provider,
 * handed to the credential and every ARM client through the pipeline's
 * documented `agent` option (so extra trusted CAs and keep-alive are set in one
 * place and `close()` can destroy the sockets), the pipeline options that turn
 * the SDK's own retries off, and a policy that ties a client to the page its
 * source is fetching.
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

/** What a source shares with its client's pipeline while it fetches one page. */
export interface PageSlot {
  /** The page's abort signal, set on every request. */
  signal: AbortSignal | undefined;
  /** The `error` of the last ARM error body seen. */
  armError: { code?: string; message?: string } | undefined;
}

function armErrorOf(body: string | undefined): PageSlot["armError"] {
  try {
    const error = (JSON.parse(body ?? "") as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      ...(typeof error?.code === "string" ? { code: error.code } : {}),
      ...(typeof error?.message === "string" ? { message: error.message } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Adds the policy that ties a client to its source's {@link PageSlot}: it sets
 * the page's abort signal on every request (the ARM clients' paging helpers
 * send `nextLink` requests without the caller's options, so a continuation
 * page, and its token request, could not be aborted otherwise), and keeps the
 * `{ code, message }` of ARM error bodies (the paging helpers throw a
 * `RestError` without ARM's message). Serialize phase: it runs before the
 * bearer token policy reads the signal.
 */
export function attachSlotPolicy(pipeline: ArmPipeline, slot: PageSlot): void {
  const policy: PipelinePolicy = {
    name: "troupeDiscoveryPageSlot",
    async sendRequest(request, next) {
      if (slot.signal) request.abortSignal = slot.signal;
      const response = await next(request);
      if (response.status >= 400) slot.armError = armErrorOf(response.bodyAsText ?? undefined);
      return response;
    },
  };
  pipeline.addPolicy(policy, { phase: "Serialize" });
}
