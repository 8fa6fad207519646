/**
 * Errors of the Kubernetes discovery provider against the API stand-in:
 * throttling and 5xx are transient (with `Retry-After`), a retried page
 * succeeds with the same token, bad credentials and forbidden lists are
 * permanent, an expired continue token is transient, aborts and timeouts stop
 * the call in flight — and no message carries the token.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";
import type { DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import {
  createKubernetesDiscoveryProvider,
  type KubernetesDiscoveryOptions,
} from "../../../../adapters/discovery/kubernetes/mod.ts";
import { kubeconfigFor, type KubeStandIn, type RecordedRequest, startKubeStandIn } from "./stand-in.ts";
import { sampleCluster } from "./fixtures.ts";

const signal = () => new AbortController().signal;
const rejects = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, "rejects with an Error");
    return error;
  }
  assert.fail("expected a rejection");
};

describe("kubernetes discovery: errors", () => {
  let k8s: KubeStandIn;
  before(async () => {
    k8s = await startKubeStandIn(sampleCluster());
  });
  after(() => k8s.close());
  beforeEach(() => {
    k8s.requests.length = 0;
  });

  async function source(
    type: string,
    options: KubernetesDiscoveryOptions = {},
    token = k8s.token,
  ): Promise<DiscoverySource> {
    const target = { scope: "prod", org: null, credentials: { kubeconfig: kubeconfigFor(k8s.url, token) } };
    const sources = await createKubernetesDiscoveryProvider(options).plan(target, signal());
    const found = sources.find((s) => s.name === type);
    assert.ok(found, type);
    return found;
  }
  const second = (path: string) => (r: RecordedRequest) => r.path === path && r.continue !== null;
  const noSecret = (error: Error, secret: string) => {
    assert.ok(!error.message.includes(secret), "message has no token");
    assert.ok(!String(error.stack).includes(secret), "stack has no token");
    assert.ok(!JSON.stringify(error).includes(secret), "JSON has no token");
  };

  it("429 with Retry-After: 2 on page 2 is transient (2000 ms); the same token then succeeds", async () => {
    const pods = await source("pod", { pageSize: 3 });
    const first = await pods.fetchPage(undefined, signal());
    assert.equal(first.items.length, 3);
    assert.ok(first.next);
    k8s.fail({
      match: second("/api/v1/pods"),
      status: 429,
      reason: "TooManyRequests",
      message: "Too many requests, please try again later.",
      retryAfter: "2",
    });
    const error = await rejects(pods.fetchPage(first.next, signal()));
    assert.ok(error instanceof TransientError, error.name);
    assert.equal(error.retryAfterMs, 2000);
    assert.equal(error.code, "K8S_THROTTLED");
    assert.equal(
      error.message,
      'Kubernetes CoreV1Api.listPodForAllNamespaces (context "prod"): HTTP 429: TooManyRequests: Too many requests, please try again later.',
    );
    noSecret(error, k8s.token);

    const retried = await pods.fetchPage(first.next, signal());
    assert.deepEqual(retried.items.map((r) => r.externalId), [
      "shop/web-3",
      "billing/api-0",
      "billing/api-1",
    ]);
    const last = await pods.fetchPage(retried.next, signal());
    assert.deepEqual(last.items.map((r) => r.externalId), ["kube-system/coredns-0"]);
    assert.equal(last.next, undefined);
    const continues = k8s.requests.map((r) => r.continue);
    assert.deepEqual(k8s.requests.map((r) => r.status), [200, 429, 200, 200]);
    assert.equal(continues[1], first.next);
    assert.equal(continues[2], first.next, "the retry sends the same continue token");
  });

  it("503 is transient, with Retry-After in seconds or as an HTTP date; 500 without one", async () => {
    const deployments = await source("deployment");
    const isDeployments = (r: RecordedRequest) => r.path === "/apis/apps/v1/deployments";
    k8s.fail({
      match: isDeployments,
      status: 503,
      reason: "ServiceUnavailable",
      message: "etcd leader changed",
      retryAfter: "1",
    });
    const e503 = await rejects(deployments.fetchPage(undefined, signal()));
    assert.ok(e503 instanceof TransientError);
    assert.equal(e503.code, "K8S_UNAVAILABLE");
    assert.equal(e503.retryAfterMs, 1000);
    assert.match(
      e503.message,
      /AppsV1Api\.listDeploymentForAllNamespaces .*HTTP 503: ServiceUnavailable: etcd leader changed$/,
    );

    const now = Date.parse("2025-01-01T00:00:00Z");
    const dated = await source("deployment", { now: () => now });
    k8s.fail({
      match: isDeployments,
      status: 503,
      reason: "ServiceUnavailable",
      retryAfter: "Wed, 01 Jan 2025 00:00:07 GMT",
    });
    const eDate = await rejects(dated.fetchPage(undefined, signal()));
    assert.ok(eDate instanceof TransientError);
    assert.equal(eDate.retryAfterMs, 7000);

    k8s.fail({ match: isDeployments, status: 500, reason: "InternalError", message: "boom" });
    const e500 = await rejects(deployments.fetchPage(undefined, signal()));
    assert.ok(e500 instanceof TransientError);
    assert.equal(e500.code, "K8S_SERVER_ERROR");
    assert.equal(e500.retryAfterMs, undefined);

    const ok = await deployments.fetchPage(undefined, signal());
    assert.equal(ok.items.length, 3);
  });

  it("a wrong token is permanent (401) and its message does not carry the token", async () => {
    const wrong = "wrong-token-0123456789abcdef";
    const namespaces = await source("namespace", {}, wrong);
    const error = await rejects(namespaces.fetchPage(undefined, signal()));
    assert.ok(error instanceof PermanentError, error.name);
    assert.equal(error.code, "K8S_UNAUTHORIZED");
    assert.equal(
      error.message,
      'Kubernetes CoreV1Api.listNamespace (context "prod"): HTTP 401: Unauthorized',
    );
    assert.equal(k8s.requests[0]?.authorization, `Bearer ${wrong}`, "the SDK sent the wrong token");
    assert.equal(k8s.requests[0]?.status, 401);
    noSecret(error, wrong);
    noSecret(error, k8s.token);
  });

  it("403 Forbidden is permanent and keeps the API's message", async () => {
    const bindings = await source("cluster-role-binding");
    const message =
      'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:troupe:reader" cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope';
    k8s.fail({ match: () => true, status: 403, reason: "Forbidden", message });
    const error = await rejects(bindings.fetchPage(undefined, signal()));
    assert.ok(error instanceof PermanentError);
    assert.equal(error.code, "K8S_FORBIDDEN");
    assert.ok(error.message.endsWith(`HTTP 403: Forbidden: ${message}`), error.message);
  });

  it("an expired continue token (410 Expired) is transient", async () => {
    const pvs = await source("persistent-volume", { pageSize: 2 });
    const first = await pvs.fetchPage(undefined, signal());
    k8s.expireContinueTokens();
    const error = await rejects(pvs.fetchPage(first.next, signal()));
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "PAGE_TOKEN_EXPIRED");
    assert.match(error.message, /HTTP 410: Expired: The provided continue parameter is too old/);
    assert.equal(k8s.requests.at(-1)?.status, 410);
  });

  it("an abort stops the call in flight, and the request is not sent again", async () => {
    const services = await source("service");
    k8s.hang((r) => r.path === "/api/v1/services");
    const controller = new AbortController();
    const pending = services.fetchPage(undefined, controller.signal);
    while (k8s.requests.length === 0) await sleep(5);
    const reason = new Error("job cancelled");
    const started = Date.now();
    controller.abort(reason);
    const error = await rejects(pending);
    assert.equal(error, reason, "rejects with the signal's reason");
    assert.ok(Date.now() - started < 1000);
    await sleep(300);
    assert.equal(k8s.requests.length, 1, "an aborted list is not re-sent");

    const aborted = new AbortController();
    aborted.abort(new Error("already"));
    await rejects(services.fetchPage(undefined, aborted.signal));
    assert.equal(k8s.requests.length, 1, "an aborted signal sends nothing");
  });

  it("a call that outlives timeoutMs is transient (K8S_TIMEOUT)", async () => {
    const accounts = await source("service-account", { timeoutMs: 150 });
    k8s.hang((r) => r.path === "/api/v1/serviceaccounts");
    const error = await rejects(accounts.fetchPage(undefined, signal()));
    assert.ok(error instanceof TransientError, error.name);
    assert.equal(error.code, "K8S_TIMEOUT");
  });

  it("a refused connection is transient (K8S_CONNECTION)", async () => {
    const closed = await startKubeStandIn(sampleCluster());
    await closed.close();
    const target = {
      scope: "prod",
      org: null,
      credentials: { kubeconfig: kubeconfigFor(closed.url, closed.token) },
    };
    const [namespaces] = await createKubernetesDiscoveryProvider().plan(target, signal());
    assert.ok(namespaces);
    const error = await rejects(namespaces.fetchPage(undefined, signal()));
    assert.ok(error instanceof TransientError, error.name);
    assert.equal(error.code, "K8S_CONNECTION");
    assert.match(error.message, /ECONNREFUSED/);
    noSecret(error, closed.token);
  });
});
