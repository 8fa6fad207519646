/**
 * The Google Cloud clients of one target, all on the target's auth client:
 * Compute Engine (`InstancesClient`, `ZonesClient`, `NetworksClient`,
 * `SubnetworksClient`) and GKE (`ClusterManagerClient`) through google-gax's
 * REST transport (`fallback: true`: JSON over HTTP/1.1), and Cloud Storage.
 *
 * Endpoint: `apiEndpoint` (`http://127.0.0.1:8080`, `https://private.googleapis.com`)
 * is split into the gax clients' `apiEndpoint`/`port`/`protocol` and given whole
 * to Storage (with `useAuthWithCustomEndpoint`, so requests stay authenticated).
 * Unset: Google's endpoints (Storage itself honours `STORAGE_EMULATOR_HOST`).
 * Retries: none in the clients (gax calls pass `retry: null`; Storage's
 * `autoRetry: false`).
 *
 * @module
 */
import { InstancesClient, NetworksClient, SubnetworksClient, ZonesClient } from "@google-cloud/compute";
import { ClusterManagerClient } from "@google-cloud/container";
import { Storage } from "@google-cloud/storage";
import type { AuthClient } from "google-auth-library";

/** The clients of one target. */
export interface GcpClients {
  instances: InstancesClient;
  zones: ZonesClient;
  networks: NetworksClient;
  subnetworks: SubnetworksClient;
  clusters: ClusterManagerClient;
  storage: Storage;
  close(): Promise<void>;
}

/** Settings shared by every client of the provider. */
export interface ClientSettings {
  /** One base URL for Compute, GKE and Storage (a stand-in, a private endpoint); unset: Google's. */
  apiEndpoint?: string | undefined;
  /** Per-request time limit in milliseconds (default 60 s). */
  timeoutMs?: number | undefined;
}

/** The gax options of an endpoint URL: host, port and protocol. */
export function gaxEndpoint(apiEndpoint: string | undefined): Record<string, unknown> {
  if (!apiEndpoint) return {};
  const url = new URL(apiEndpoint);
  const protocol = url.protocol.replace(":", "");
  return {
    apiEndpoint: url.hostname,
    port: Number(url.port || (protocol === "http" ? 80 : 443)),
    protocol,
  };
}

/** Builds the clients of a project on an auth client. */
export function createClients(project: string, authClient: AuthClient, settings: ClientSettings): GcpClients {
  const gax = { authClient, fallback: true, ...gaxEndpoint(settings.apiEndpoint) };
  const instances = new InstancesClient(gax);
  const zones = new ZonesClient(gax);
  const networks = new NetworksClient(gax);
  const subnetworks = new SubnetworksClient(gax);
  const clusters = new ClusterManagerClient(gax);
  // The GKE client switches its auth client to self-signed JWTs; every client here uses the OAuth access
  // token instead (one token exchange at the key's token_uri, accepted by every API).
  if ("useJWTAccessWithScope" in authClient) authClient.useJWTAccessWithScope = false;
  const storage = new Storage({
    projectId: project,
    authClient,
    retryOptions: { autoRetry: false, maxRetries: 0 },
    timeout: settings.timeoutMs ?? 60_000,
    ...(settings.apiEndpoint ? { apiEndpoint: settings.apiEndpoint, useAuthWithCustomEndpoint: true } : {}),
  });
  return {
    instances,
    zones,
    networks,
    subnetworks,
    clusters,
    storage,
    async close() {
      await Promise.allSettled([
        instances.close(),
        zones.close(),
        networks.close(),
        subnetworks.close(),
        clusters.close(),
      ]);
    },
  };
}
