/**
 * The Microsoft Entra credential of a target: a `ClientSecretCredential` from
 * the target's `{ tenantId, clientId, clientSecret }`, or, when the target has
 * none, `EnvironmentCredential` (which reads `AZURE_TENANT_ID`,
 * `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET` and its other standard variables).
 * Instance discovery is off, so tokens come from the configured authority only
 * (no call to login.microsoftonline.com to validate it), and the SDK does not
 * retry.
 *
 * @module
 */
import type { Agent } from "node:https";
import { ClientSecretCredential, EnvironmentCredential, type TokenCredential } from "@azure/identity";
import { PermanentError } from "../../../machines/errors.ts";
import { classifyAzureError } from "./classify.ts";
import { pipelineOptions } from "./transport.ts";

/** The `credentials` a target carries for Azure. */
export interface AzureClientSecret {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** Checks a target's credentials; names missing fields, never values. */
export function parseCredentials(value: Record<string, unknown> | undefined): AzureClientSecret | undefined {
  if (value === undefined) return undefined;
  const missing = (["tenantId", "clientId", "clientSecret"] as const)
    .filter((key) => typeof value[key] !== "string" || value[key] === "");
  if (missing.length > 0) {
    throw new PermanentError(`Azure credentials need non-empty strings ${missing.join(", ")}`, {
      code: "AZURE_INVALID_CREDENTIALS",
    });
  }
  return value as unknown as AzureClientSecret;
}

/** Options of {@link createCredential}. */
export interface CredentialOptions {
  /** The Entra authority, `https://login.microsoftonline.com` unless set (the SDK reads AZURE_AUTHORITY_HOST otherwise). */
  authorityHost?: string | undefined;
  agent: Agent;
}

/** The credential for a target's secret, or the environment's. */
export function createCredential(
  secret: AzureClientSecret | undefined,
  options: CredentialOptions,
): TokenCredential {
  const common = {
    ...pipelineOptions(options.agent),
    disableInstanceDiscovery: true,
    ...(options.authorityHost ? { authorityHost: options.authorityHost } : {}),
  };
  return secret
    ? new ClientSecretCredential(secret.tenantId, secret.clientId, secret.clientSecret, common)
    : new EnvironmentCredential(common);
}

/**
 * Gets a token for `scope` once, so bad credentials fail the plan (one
 * `PermanentError`) instead of every source; the credential caches the token
 * for the sources' requests.
 */
export async function checkCredential(
  credential: TokenCredential,
  secret: AzureClientSecret | undefined,
  scope: string,
  signal: AbortSignal,
): Promise<void> {
  const operation = secret
    ? `Azure token request for client ${secret.clientId} in tenant ${secret.tenantId}`
    : "Azure token request (credentials from the environment)";
  try {
    // enableCae as the ARM clients' bearer policy asks, so both use the same cached token.
    const token = await credential.getToken(scope, { abortSignal: signal, enableCae: true });
    if (!token) throw new PermanentError("Azure token request returned no token", { code: "AZURE_NO_TOKEN" });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof PermanentError) throw error;
    throw classifyAzureError(error, { operation, secrets: secret ? [secret.clientSecret] : [] });
  }
}
