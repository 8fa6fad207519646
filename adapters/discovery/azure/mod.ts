/**
 * Azure discovery: inventories one subscription (the target's `scope`) with
 * the official SDK clients (@azure/arm-compute, -network, -storage,
 * -containerservice) authenticated by @azure/identity. See README.md.
 *
 * @module
 */
import type { DiscoveryProvider, DiscoveryTarget } from "../provider.ts";
import { PermanentError } from "../../../machines/errors.ts";
import { checkCredential, createCredential, parseCredentials } from "./credential.ts";
import { subscriptionSources } from "./sources.ts";
import { createAgent } from "./transport.ts";

export { AZURE_TYPES } from "./resources.ts";
export type { AzureClientSecret } from "./credential.ts";

/** Options of {@link createAzureDiscoveryProvider}; the caller reads the environment. */
export interface AzureDiscoveryOptions {
  /** Entra authority (AZURE_AUTHORITY_HOST); default `https://login.microsoftonline.com`. Must be https. */
  authorityHost?: string | undefined;
  /** ARM endpoint (AZURE_RESOURCE_MANAGER_ENDPOINT); default `https://management.azure.com`. */
  resourceManagerEndpoint?: string | undefined;
  /** Token audience for ARM; default the endpoint (`<endpoint>/.default` is requested). */
  resourceManagerAudience?: string | undefined;
  /** PEM CA certificates trusted besides the bundled roots (a TLS-inspecting proxy, a test stand-in). */
  trustedCertificates?: readonly string[] | undefined;
  /** Keep connections alive between requests (default false; see README). */
  keepAlive?: boolean | undefined;
  /** Most milliseconds one page (one HTTP request, plus a token request) may take; default 60000. */
  pageTimeoutMs?: number | undefined;
}

const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** The Azure discovery provider. */
export function createAzureDiscoveryProvider(options: AzureDiscoveryOptions = {}): DiscoveryProvider {
  const agent = createAgent(options);
  const endpoint = trimSlash(options.resourceManagerEndpoint ?? "https://management.azure.com");
  const scope = `${trimSlash(options.resourceManagerAudience ?? endpoint)}/.default`;
  return {
    provider: "azure",
    async plan(target: DiscoveryTarget, signal: AbortSignal) {
      if (!SUBSCRIPTION_ID.test(target.scope)) {
        throw new PermanentError(
          `Azure discovery scope must be a subscription id (a GUID), got "${target.scope}"`,
          {
            code: "AZURE_INVALID_SUBSCRIPTION",
          },
        );
      }
      const secret = parseCredentials(target.credentials);
      const secrets = secret ? [secret.clientSecret] : [];
      const credential = createCredential(secret, { authorityHost: options.authorityHost, agent });
      await checkCredential(credential, secret, scope, signal);
      return subscriptionSources({
        subscriptionId: target.scope,
        credential,
        agent,
        endpoint,
        scope,
        pageTimeoutMs: options.pageTimeoutMs ?? 60_000,
        secrets,
      }, target.regions);
    },
    close() {
      agent.destroy();
    },
  };
}
