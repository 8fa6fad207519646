/**
 * GCP provider failures against the REST stand-in: throttling (429, 503 with
 * `Retry-After` in seconds or as a date) is transient with `retryAfterMs` and
 * the same page token then succeeds, with no retry inside the SDK; refused
 * credentials (the token endpoint's `invalid_grant`, an API 401, a 403) are
 * permanent; no message carries the key, its id or a token.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createGcpDiscoveryProvider } from "../../../../adapters/discovery/gcp/mod.ts";
import { retryAfterMs, scrub } from "../../../../adapters/discovery/gcp/errors.ts";
import type { DiscoveryProvider, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";
import { assertNoSecrets, PROJECT, rejection, sampleModel, serviceAccount } from "./fixture.ts";
import { type GcpStandIn, startGcpStandIn } from "./stand-in.ts";

describe("GCP discovery: errors", () => {
  let gcp: GcpStandIn;
  let account: ReturnType<typeof serviceAccount>;
  let provider: DiscoveryProvider;
  const signal = new AbortController().signal;

  before(async () => {
    gcp = await startGcpStandIn(sampleModel());
    account = serviceAccount(gcp.tokenUrl);
    gcp.trustKey(account.key.client_email, account.publicKey);
  });
  after(async () => {
    await provider?.close?.();
    await gcp.close();
  });
  beforeEach(async () => {
    await provider?.close?.();
    provider = createGcpDiscoveryProvider({ apiEndpoint: gcp.url, pageSize: 2 });
    gcp.requests.length = 0;
    gcp.failures.length = 0;
  });

  const target = { scope: PROJECT, org: null, credentials: {} as Record<string, unknown> };
  async function source(
    name: string,
    credentials: Record<string, unknown> = account.key,
  ): Promise<DiscoverySource> {
    const sources = await provider.plan({ ...target, credentials }, signal);
    return sources.find((s) => s.name.startsWith(name))!;
  }
  const secretsOut = (error: unknown) =>
    assertNoSecrets(
      `${(error as Error).message} ${JSON.stringify(error)} ${String((error as Error).stack)}`,
      account.key,
      gcp,
    );

  it("429 with Retry-After on a Compute page: transient with retryAfterMs; the same token then succeeds", async () => {
    const instances = await source("compute.instance");
    const first = await instances.fetchPage(undefined, signal);
    assert.ok(first.next);
    gcp.fail({
      route: "instances.aggregated",
      status: 429,
      retryAfter: "7",
      message: "Quota exceeded for quota metric 'Read requests'",
    });
    const error = await rejection(instances.fetchPage(first.next, signal));
    assert.ok(error instanceof TransientError, String(error));
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(error.code, "GCP_RESOURCE_EXHAUSTED");
    assert.match(
      error.message,
      /compute\.instances\.aggregatedList project acme-prod-42 failed: HTTP 429 RESOURCE_EXHAUSTED/,
    );
    assert.match(error.message, /Quota exceeded for quota metric 'Read requests'/);
    secretsOut(error);

    const again = await instances.fetchPage(first.next, signal);
    const seen = gcp.requestsOf("instances.aggregated");
    assert.deepEqual(seen.map((r) => [r.status, r.query.pageToken]), [
      [200, undefined],
      [429, first.next],
      [200, first.next],
    ], "no retry inside the SDK; the retried page carries the same token");
    assert.equal(again.items.length, 2);
    const firstNames = first.items.map((r) => r.name);
    assert.ok(
      again.items.every((r) => !firstNames.includes(r.name)),
      "the second page, not the first again",
    );
  });

  it("Retry-After as an HTTP date on the networks list", async () => {
    const networks = await source("compute.network");
    const at = new Date(Date.now() + 30_000).toUTCString();
    gcp.fail({ route: "networks.list", status: 429, retryAfter: at });
    const error = await rejection(networks.fetchPage(undefined, signal));
    assert.ok(error instanceof TransientError);
    assert.ok(error.retryAfterMs! > 25_000 && error.retryAfterMs! <= 30_000, String(error.retryAfterMs));
  });

  it("503 from Storage and GKE, 500 from Compute: transient, one request each", async () => {
    const buckets = await source("storage.bucket");
    gcp.fail({ route: "buckets.list", status: 503, retryAfter: "3", message: "Backend Error" });
    const storageError = await rejection(buckets.fetchPage(undefined, signal));
    assert.ok(storageError instanceof TransientError, String(storageError));
    assert.equal(storageError.retryAfterMs, 3000);
    assert.equal(storageError.code, "GCP_UNAVAILABLE");
    assert.match(
      storageError.message,
      /storage\.buckets\.list project acme-prod-42 failed: HTTP 503 UNAVAILABLE \(backendError\): Backend Error/,
    );
    assert.equal(gcp.requestsOf("buckets.list").length, 1, "Storage did not retry");

    const clusters = await source("container.cluster");
    gcp.fail({ route: "clusters.list", status: 503, retryAfter: "2" });
    const gkeError = await rejection(clusters.fetchPage(undefined, signal));
    assert.ok(gkeError instanceof TransientError);
    assert.equal(gkeError.retryAfterMs, 2000);
    assert.equal(gcp.requestsOf("clusters.list").length, 1, "GKE did not retry");

    const subnetworks = await source("compute.subnetwork");
    gcp.fail({
      route: "subnetworks.aggregated",
      status: 500,
      googleStatus: "INTERNAL",
      reason: "backendError",
    });
    const computeError = await rejection(subnetworks.fetchPage(undefined, signal));
    assert.ok(computeError instanceof TransientError);
    assert.equal(computeError.retryAfterMs, undefined);
    assert.equal(computeError.code, "GCP_INTERNAL");
    assert.equal(gcp.requestsOf("subnetworks.aggregated").length, 1, "Compute did not retry");
    for (const error of [storageError, gkeError, computeError]) secretsOut(error);
  });

  it("the token endpoint refuses the key (invalid_grant): permanent, naming the account, not the key", async () => {
    const stranger = serviceAccount(gcp.tokenUrl, account.key.client_email);
    const instances = await source("compute.instance", stranger.key);
    const error = await rejection(instances.fetchPage(undefined, signal));
    assert.ok(error instanceof PermanentError, String(error));
    assert.equal(error.code, "GCP_INVALID_GRANT");
    assert.match(
      error.message,
      /OAuth token exchange for service account discovery@acme-prod-42\.iam\.gserviceaccount\.com/,
    );
    assert.match(error.message, /Invalid JWT Signature/);
    assert.equal(gcp.requestsOf("token")[0]!.assertion!.signatureValid, false);
    assert.equal(gcp.requestsOf("instances.aggregated").length, 0);
    assertNoSecrets(`${error.message} ${error.stack}`, stranger.key, gcp);

    // With regions, planning lists zones, so the plan itself fails the same way.
    const planError = await rejection(
      provider.plan({ ...target, credentials: stranger.key, regions: ["us-central1"] }, signal),
    );
    assert.ok(planError instanceof PermanentError);
    assert.equal(planError.code, "GCP_INVALID_GRANT");
  });

  it("the token endpoint throttled: transient", async () => {
    const networks = await source("compute.network");
    gcp.fail({ route: "token", status: 503, retryAfter: "4", oauthError: "temporarily_unavailable" });
    const error = await rejection(networks.fetchPage(undefined, signal));
    assert.ok(error instanceof TransientError, String(error));
    assert.equal(error.retryAfterMs, 4000);
    assert.equal(gcp.requestsOf("token").length, 1, "the token request is not retried by the auth library");
    assert.equal((await networks.fetchPage(undefined, signal)).items.length, 2);
  });

  it("an API 401 (token revoked) and a 403: permanent, no token in the message", async () => {
    const networks = await source("compute.network");
    await networks.fetchPage(undefined, signal);
    gcp.revokeAll();
    const unauthenticated = await rejection(networks.fetchPage(undefined, signal));
    assert.ok(unauthenticated instanceof PermanentError, String(unauthenticated));
    assert.equal(unauthenticated.code, "GCP_UNAUTHENTICATED");
    assert.match(
      unauthenticated.message,
      /networks\.list project acme-prod-42 failed: HTTP 401 UNAUTHENTICATED: Request had invalid authentication credentials/,
    );
    secretsOut(unauthenticated);

    await provider.close?.();
    provider = createGcpDiscoveryProvider({ apiEndpoint: gcp.url, pageSize: 2 });
    const buckets = await source("storage.bucket");
    gcp.fail({
      route: "buckets.list",
      status: 403,
      googleStatus: "PERMISSION_DENIED",
      reason: "forbidden",
      message:
        `${account.key.client_email} does not have storage.buckets.list access to the Google Cloud project.`,
    });
    const denied = await rejection(buckets.fetchPage(undefined, signal));
    assert.ok(denied instanceof PermanentError, String(denied));
    assert.equal(denied.code, "GCP_PERMISSION_DENIED");
    assert.match(denied.message, /does not have storage\.buckets\.list access/);
    secretsOut(denied);
  });

  it("GKE missingZones makes the cluster listing fail (transient): an incomplete list must not delete", async () => {
    gcp.model.missingZones = ["us-central1-b"];
    try {
      const clusters = await source("container.cluster");
      const error = await rejection(clusters.fetchPage(undefined, signal));
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "GCP_UNREACHABLE");
      assert.match(error.message, /unreachable: us-central1-b/);
    } finally {
      gcp.model.missingZones = [];
    }
  });

  it("bad targets fail at plan time: not a project id, unsupported or incomplete credentials", async () => {
    const badScope = await rejection(
      provider.plan({ ...target, scope: "projects/x", credentials: account.key }, signal),
    );
    assert.ok(badScope instanceof PermanentError);
    const badType = await rejection(
      provider.plan({ ...target, credentials: { type: "external_account" } }, signal),
    );
    assert.ok(badType instanceof PermanentError);
    assert.match(badType.message, /unsupported type "external_account"/);
    const { private_key: _omitted, ...noKey } = account.key;
    const incomplete = await rejection(provider.plan({ ...target, credentials: noKey }, signal));
    assert.ok(incomplete instanceof PermanentError);
    assert.match(incomplete.message, /private_key/);
    secretsOut(incomplete);
  });

  it("a refused connection is transient, for the gax clients and for Storage", async () => {
    const closed = await startGcpStandIn(sampleModel());
    const key = { ...account.key, token_uri: closed.tokenUrl };
    await closed.close();
    const offline = createGcpDiscoveryProvider({ apiEndpoint: closed.url });
    try {
      const sources = await offline.plan({ ...target, credentials: key }, signal);
      for (const source of [sources[1]!, sources[3]!]) {
        const error = await rejection(source.fetchPage(undefined, signal));
        assert.ok(error instanceof TransientError, `${source.name}: ${error}`);
      }
    } finally {
      await offline.close?.();
    }
  });

  it("an aborted page rejects with the abort reason", async () => {
    const networks = await source("compute.network");
    const controller = new AbortController();
    const reason = new Error("sync cancelled");
    controller.abort(reason);
    assert.equal(await rejection(networks.fetchPage(undefined, controller.signal)), reason);
  });

  it("scrub and retryAfterMs", () => {
    assert.equal(
      scrub("Bearer ya29.abc-def and eyJhbGciOi.eyJpc3Mi.c2ln done"),
      "Bearer [redacted] and [redacted jwt] done",
    );
    assert.equal(
      scrub("key -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- end"),
      "key [redacted key] end",
    );
    assert.equal(scrub("assertion=abc.def&grant_type=x"), "assertion=[redacted]&grant_type=x");
    assert.equal(scrub("id 5f1c0c7d9a2b", ["5f1c0c7d9a2b"]), "id [redacted]");
    assert.equal(retryAfterMs("12"), 12_000);
    assert.equal(retryAfterMs("Thu, 01 Jan 2037 00:00:10 GMT", Date.parse("2037-01-01T00:00:00Z")), 10_000);
    assert.equal(retryAfterMs("soon"), undefined);
  });
});
