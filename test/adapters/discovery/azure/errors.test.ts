/**
 * The Azure provider's typed errors against the stand-in: throttling and 5xx
 * are transient with `retryAfterMs` and the SDK does not retry them itself;
 * refused credentials and ARM 401/403/404 are permanent; nothing secret is in
 * any message; aborts and timeouts stop a page in flight, continuation pages
 * included.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createAzureDiscoveryProvider } from "../../../../adapters/discovery/azure/mod.ts";
import type { DiscoveryProvider, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";
import { armVm } from "./fixtures.ts";
import { type AzureStandIn, startAzureStandIn } from "./stand-in.ts";

const signal = () => new AbortController().signal;

describe("Azure discovery errors", () => {
  let standIn: AzureStandIn;
  let provider: DiscoveryProvider;
  const sub = randomUUID();
  const target = (credentials: Record<string, unknown> = { ...standIn.app }) => ({
    scope: sub,
    credentials,
    org: null,
  });
  const vmSource = async (): Promise<DiscoverySource> => {
    const source = (await provider.plan(target(), signal()))[0];
    assert.equal(source?.covers.types[0], "compute.virtual-machine");
    return source as DiscoverySource;
  };
  /** Asserts `promise` rejects with `type`, returns the error, and checks it holds no secret. */
  async function rejection<T extends Error>(
    promise: Promise<unknown>,
    type: new (...args: never[]) => T,
  ): Promise<T> {
    const error = await promise.then(() => assert.fail("expected a rejection"), (e: unknown) => e);
    assert.ok(error instanceof type, `${String(error)} is a ${type.name}`);
    const text = `${error.message} ${JSON.stringify(error)} ${String(error.cause)}`;
    assert.ok(!text.includes(standIn.app.clientSecret), "no client secret in the error");
    for (const token of standIn.issuedTokens()) assert.ok(!text.includes(token), "no token in the error");
    return error;
  }

  before(async () => {
    standIn = await startAzureStandIn({ pageSize: 2 });
    for (let i = 0; i < 5; i++) {
      standIn.items(sub, "virtualMachines").push(armVm(sub, "rg", `vm${i}`, "westeurope"));
    }
    provider = createAzureDiscoveryProvider({
      authorityHost: standIn.url,
      resourceManagerEndpoint: standIn.url,
      trustedCertificates: [standIn.ca],
      pageTimeoutMs: 1500,
    });
  });
  beforeEach(() => {
    standIn.requests.length = 0;
  });
  after(async () => {
    await provider.close?.();
    await standIn.close();
  });

  it("429 with Retry-After on a continuation page: TransientError with retryAfterMs, one request, the same token then succeeds", async () => {
    const source = await vmSource();
    const first = await source.fetchPage(undefined, signal());
    standIn.failNext("virtualMachines", {
      status: 429,
      code: "TooManyRequests",
      message: "Too many requests. Please retry.",
      retryAfter: "7",
    });
    const error = await rejection(source.fetchPage(first.next, signal()), TransientError);
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(error.code, "AZURE_TOO_MANY_REQUESTS");
    assert.match(error.message, /Microsoft\.Compute\/virtualMachines list .*HTTP 429 TooManyRequests/);
    assert.deepEqual(
      standIn.requestsOf("virtualMachines").map((r) => r.status),
      [200, 429],
      "the SDK did not retry",
    );
    const again = await source.fetchPage(first.next, signal());
    assert.deepEqual(again.items.map((r) => r.name), ["vm2", "vm3"]);
    assert.equal(
      standIn.requestsOf("virtualMachines").at(-1)?.query.$skiptoken,
      standIn.requestsOf("virtualMachines")[1]?.query.$skiptoken,
    );
  });

  it("429 on the first page carries ARM's code and message", async () => {
    const source = await vmSource();
    standIn.failNext("virtualMachines", {
      status: 429,
      code: "SubscriptionRequestsThrottled",
      message: "Number of 'read' requests for subscription exceeded the limit.",
      retryAfter: "17",
    });
    const error = await rejection(source.fetchPage(undefined, signal()), TransientError);
    assert.equal(error.retryAfterMs, 17000);
    assert.equal(error.code, "AZURE_SUBSCRIPTION_REQUESTS_THROTTLED");
    assert.match(error.message, /Number of 'read' requests for subscription exceeded the limit\./);
    assert.equal(standIn.requestsOf("virtualMachines").length, 1);
  });

  it("503 with an HTTP-date Retry-After, and 500 without one, are transient", async () => {
    const source = await vmSource();
    const at = new Date(Date.now() + 30_000).toUTCString();
    standIn.failNext("virtualMachines", { status: 503, code: "ServiceUnavailable", retryAfter: at }, {
      status: 500,
      code: "InternalServerError",
    });
    const unavailable = await rejection(source.fetchPage(undefined, signal()), TransientError);
    assert.equal(unavailable.code, "AZURE_SERVICE_UNAVAILABLE");
    assert.ok(
      unavailable.retryAfterMs !== undefined && unavailable.retryAfterMs > 25_000 &&
        unavailable.retryAfterMs <= 30_000,
      String(unavailable.retryAfterMs),
    );
    const internal = await rejection(source.fetchPage(undefined, signal()), TransientError);
    assert.equal(internal.code, "AZURE_INTERNAL_SERVER_ERROR");
    assert.equal(internal.retryAfterMs, undefined);
    assert.equal(standIn.requestsOf("virtualMachines").length, 2, "no SDK retry of 5xx");
    assert.equal((await source.fetchPage(undefined, signal())).items.length, 2);
  });

  it("ARM 401, 403 and 404 are permanent", async () => {
    const source = await vmSource();
    standIn.failNext(
      "virtualMachines",
      { status: 401, code: "InvalidAuthenticationToken", message: "The access token is invalid." },
      {
        status: 403,
        code: "AuthorizationFailed",
        message:
          "The client does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read'.",
      },
      { status: 404, code: "SubscriptionNotFound", message: `The subscription '${sub}' could not be found.` },
    );
    const unauthorized = await rejection(source.fetchPage(undefined, signal()), PermanentError);
    assert.equal(unauthorized.code, "AZURE_INVALID_AUTHENTICATION_TOKEN");
    const forbidden = await rejection(source.fetchPage(undefined, signal()), PermanentError);
    assert.equal(forbidden.code, "AZURE_AUTHORIZATION_FAILED");
    assert.match(forbidden.message, /HTTP 403 AuthorizationFailed: The client does not have authorization/);
    const missing = await rejection(source.fetchPage(undefined, signal()), PermanentError);
    assert.equal(missing.code, "AZURE_SUBSCRIPTION_NOT_FOUND");
  });

  it("a wrong client secret fails the plan with a PermanentError naming AADSTS7000215, not the secret", async () => {
    const wrong = `Zz9~${randomUUID()}`;
    const error = await rejection(
      provider.plan(target({ ...standIn.app, clientSecret: wrong }), signal()),
      PermanentError,
    );
    assert.equal(error.code, "AZURE_INVALID_CLIENT");
    assert.match(error.message, /AADSTS7000215: Invalid client secret provided/);
    assert.ok(!error.message.includes(wrong) && !JSON.stringify(error).includes(wrong));
    const tokens = standIn.requestsOf("token");
    assert.equal(tokens.length, 1, "the token request was not retried");
    assert.equal(tokens[0]?.secretMatched, false);
    assert.equal(tokens[0]?.status, 401);
    assert.equal(standIn.requestsOf("virtualMachines").length, 0);
  });

  it("an unknown tenant or client id is permanent", async () => {
    const tenant = await rejection(
      provider.plan(target({ ...standIn.app, tenantId: randomUUID() }), signal()),
      PermanentError,
    );
    assert.match(tenant.message, /AADSTS90002/);
    const client = await rejection(
      provider.plan(target({ ...standIn.app, clientId: randomUUID() }), signal()),
      PermanentError,
    );
    assert.equal(client.code, "AZURE_UNAUTHORIZED_CLIENT");
  });

  it("a throttled or unavailable token endpoint is transient", async () => {
    standIn.failNext("token", {
      status: 503,
      code: "temporarily_unavailable",
      message: "AADSTS90033: A transient error has occurred.",
    });
    const error = await rejection(provider.plan(target(), signal()), TransientError);
    assert.equal(standIn.requestsOf("token").length, 1);
    assert.match(
      error.message,
      new RegExp(
        `Azure token request for client ${standIn.app.clientId} in tenant ${standIn.app.tenantId} failed: HTTP 503 temporarily_unavailable`,
      ),
    );
    assert.equal(error.code, "AZURE_TEMPORARILY_UNAVAILABLE");
    assert.equal((await provider.plan(target(), signal())).length, 4);
  });

  it("malformed credentials and scopes are permanent and name the field, not the value", async () => {
    const fields = await rejection(
      provider.plan(target({ tenantId: standIn.app.tenantId, clientSecret: 42 }), signal()),
      PermanentError,
    );
    assert.equal(fields.message, "Azure credentials need non-empty strings clientId, clientSecret");
    await rejection(provider.plan({ ...target(), scope: "../../tenants" }, signal()), PermanentError);
    assert.equal(standIn.requests.length, 0);
  });

  it("an abort stops a continuation page in flight and rejects with the signal's reason", async () => {
    const source = await vmSource();
    const first = await source.fetchPage(undefined, signal());
    standIn.stallNext("virtualMachines");
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const page = source.fetchPage(first.next, controller.signal);
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await assert.rejects(page, (e) => e === reason);
    assert.ok(Date.now() - started < 1000, "aborted before the page timeout");
  });

  it("a page with no answer in time is a TransientError", async () => {
    const source = await vmSource();
    const first = await source.fetchPage(undefined, signal());
    standIn.stallNext("virtualMachines");
    const error = await rejection(source.fetchPage(first.next, signal()), TransientError);
    assert.equal(error.code, "AZURE_TIMEOUT");
    assert.deepEqual((await source.fetchPage(first.next, signal())).items.map((r) => r.name), [
      "vm2",
      "vm3",
    ]);
  });
});
