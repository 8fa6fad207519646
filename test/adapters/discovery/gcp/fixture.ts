/**
 * What the GCP provider tests share: a service account with a real RSA key
 * (trusted by the stand-in, `token_uri` pointing at it), a project with
 * resources across zones and regions, and helpers to read sources to the end
 * and to check that no secret leaked.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import type { DiscoveredResource, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import { type GcpStandIn, StandInModel } from "./stand-in.ts";

export const PROJECT = "acme-prod-42";

/** A service account key JSON (as a key file holds it) and its public key. */
export function serviceAccount(tokenUri: string, email = `discovery@${PROJECT}.iam.gserviceaccount.com`) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const key = {
    type: "service_account",
    project_id: PROJECT,
    private_key_id: "5f1c0c7d9a2b4e6f8a0b1c2d3e4f5a6b7c8d9e0f",
    private_key: privateKey,
    client_email: email,
    client_id: "109876543210987654321",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUri,
    universe_domain: "googleapis.com",
  };
  return { key, publicKey };
}

/**
 * The project: 4 zones in 3 regions (asia-east1-a empty), 3 networks, 5
 * subnetworks, 7 instances, 5 buckets (2 multi-region), 3 clusters (regional
 * and zonal).
 */
export function sampleModel(): StandInModel {
  const m = new StandInModel(PROJECT)
    .addZone("us-central1-a", "us-central1")
    .addZone("us-central1-b", "us-central1")
    .addZone("europe-west1-b", "europe-west1")
    .addZone("asia-east1-a", "asia-east1");
  m.addNetwork("default");
  m.addNetwork("prod");
  m.addNetwork("dev");
  m.addSubnetwork("default", "us-central1", "default", "10.128.0.0/20");
  m.addSubnetwork("default", "europe-west1", "default", "10.132.0.0/20");
  m.addSubnetwork("prod-app", "us-central1", "prod", "10.10.0.0/24");
  m.addSubnetwork("prod-db", "europe-west1", "prod", "10.20.0.0/24");
  m.addSubnetwork("dev", "asia-east1", "dev", "10.30.0.0/24");
  m.addInstance("web-1", "us-central1-a", "prod-app", { natIP: "34.0.0.1", labels: { app: "web" } });
  m.addInstance("web-2", "us-central1-b", "prod-app", { natIP: "34.0.0.2", labels: { app: "web" } });
  m.addInstance("worker-1", "us-central1-a", "default");
  m.addInstance("db-1", "europe-west1-b", "prod-db", { status: "STOPPED" });
  m.addInstance("db-2", "europe-west1-b", "prod-db");
  m.addInstance("batch-1", "europe-west1-b", "default", { status: "TERMINATED" });
  m.addInstance("bastion", "us-central1-b", "default");
  m.addBucket("acme-logs", "US-CENTRAL1");
  m.addBucket("acme-assets", "US");
  m.addBucket("acme-backups", "EUROPE-WEST1");
  m.addBucket("acme-eu-archive", "EU");
  m.addBucket("acme-tmp", "US-CENTRAL1");
  m.addCluster("prod-gke", "us-central1", "prod", "prod-app");
  m.addCluster("edge-gke", "us-central1-a", "default", "default");
  m.addCluster("eu-gke", "europe-west1", "prod", "prod-db");
  return m;
}

/** Reads a source to its last page: the resources and the tokens each page was fetched with. */
export async function drain(source: DiscoverySource, signal = new AbortController().signal) {
  const resources: DiscoveredResource[] = [];
  const tokens: (string | undefined)[] = [];
  let token: string | undefined;
  do {
    tokens.push(token);
    const page = await source.fetchPage(token, signal);
    resources.push(...page.items);
    token = page.next;
  } while (token);
  return { resources, tokens };
}

/** The rejection of a promise (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

/** Asserts that `text` carries neither the key, nor its id, nor an access token the stand-in issued. */
export function assertNoSecrets(
  text: string,
  key: { private_key: string; private_key_id: string },
  standIn: GcpStandIn,
) {
  const keyBody = key.private_key.split("\n").slice(1, -2);
  assert.ok(keyBody.length > 5);
  for (const line of keyBody) assert.ok(!text.includes(line), "private key material leaked");
  assert.ok(!text.includes(key.private_key_id), "private key id leaked");
  assert.ok(!text.includes("PRIVATE KEY"), "PEM leaked");
  for (const token of standIn.issued) assert.ok(!text.includes(token), "access token leaked");
  assert.ok(!/ya29\./.test(text), "access token leaked");
}
