/**
 * The Kubernetes error table on its own: `ApiException`s as client-node 2.x
 * builds them (status code, lower-case headers, `Status` text body), network
 * errors as undici reports them, `Retry-After` parsing and redaction.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiException } from "@kubernetes/client-node";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";
import {
  classifyKubernetesError,
  parseRetryAfter,
  sanitize,
} from "../../../../adapters/discovery/kubernetes/classify.ts";

const ctx = { operation: "CoreV1Api.listNamespace", context: "prod", secrets: ["s3cret-token-value"] };
const status = (code: number, reason: string, message: string) =>
  JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });

describe("kubernetes error classification", () => {
  it("sorts HTTP statuses into transient and permanent codes", () => {
    const cases: [number, string, boolean][] = [
      [429, "K8S_THROTTLED", true],
      [503, "K8S_UNAVAILABLE", true],
      [502, "K8S_SERVER_ERROR", true],
      [504, "K8S_SERVER_ERROR", true],
      [410, "PAGE_TOKEN_EXPIRED", true],
      [401, "K8S_UNAUTHORIZED", false],
      [403, "K8S_FORBIDDEN", false],
      [404, "K8S_NOT_FOUND", false],
      [400, "K8S_HTTP_400", false],
      [422, "K8S_HTTP_422", false],
    ];
    for (const [code, stable, transient] of cases) {
      const error = classifyKubernetesError(new ApiException(code, "x", status(code, "R", "m"), {}), ctx);
      assert.equal(error.code, stable, String(code));
      assert.equal(error instanceof TransientError, transient, String(code));
      assert.equal(error instanceof PermanentError, !transient, String(code));
    }
  });

  it("keeps the Status reason and message, and redacts secrets and bearer tokens in them", () => {
    const body = status(
      500,
      "InternalError",
      "s3cret-token-value leaked; Authorization: Bearer abc.def; eyJhbGciOi.eyJzdWIi.sig",
    );
    const error = classifyKubernetesError(new ApiException(500, "x", body, {}), ctx);
    assert.equal(
      error.message,
      'Kubernetes CoreV1Api.listNamespace (context "prod"): HTTP 500: InternalError: [redacted] leaked; Authorization: Bearer [redacted] [redacted]',
    );
  });

  it("reads Retry-After from the exception's headers", () => {
    const error = classifyKubernetesError(
      new ApiException(429, "x", status(429, "TooManyRequests", "slow down"), { "retry-after": "3" }),
      ctx,
    );
    assert.ok(error instanceof TransientError);
    assert.equal(error.retryAfterMs, 3000);
  });

  it("parses Retry-After as seconds or an HTTP date, ignoring garbage", () => {
    const now = () => Date.parse("2025-06-01T12:00:00Z");
    assert.equal(parseRetryAfter("2", now), 2000);
    assert.equal(parseRetryAfter("0.5", now), 500);
    assert.equal(parseRetryAfter("Sun, 01 Jun 2025 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Sun, 01 Jun 2025 11:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter("-1", now), undefined);
  });

  it("network failures are transient K8S_CONNECTION; unknown errors transient K8S_UNKNOWN", () => {
    const reset = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("socket"), { code: "ECONNRESET" }),
    });
    const net = classifyKubernetesError(reset, ctx);
    assert.ok(net instanceof TransientError);
    assert.equal(net.code, "K8S_CONNECTION");
    assert.equal(
      net.message,
      'Kubernetes CoreV1Api.listNamespace (context "prod"): fetch failed (ECONNRESET)',
    );

    const odd = classifyKubernetesError(new Error("exec plugin failed for s3cret-token-value"), ctx);
    assert.ok(odd instanceof TransientError);
    assert.equal(odd.code, "K8S_UNKNOWN");
    assert.ok(!odd.message.includes("s3cret-token-value"));
  });

  it("sanitize caps long messages", () => {
    assert.equal(sanitize("x".repeat(600), []).length, 501);
  });
});
