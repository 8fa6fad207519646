/**
 * classifyAzureError() on error shapes the Azure SDK throws (RestError, identity
 * and MSAL errors, network errors), Retry-After parsing and message scrubbing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  azureCode,
  classifyAzureError,
  retryAfterMs,
  sanitizeMessage,
} from "../../../../adapters/discovery/azure/classify.ts";
import { PermanentError, TransientError } from "../../../../machines/errors.ts";

const headers = (values: Record<string, string>) => ({ headers: { get: (name: string) => values[name] } });
const restError = (
  statusCode: number | undefined,
  code: string | undefined,
  values: Record<string, string> = {},
) =>
  Object.assign(new Error(`Pagination failed with unexpected statusCode ${statusCode}`), {
    name: "RestError",
    statusCode,
    code,
    response: headers(values),
  });
const serverError = (status: number, errorCode: string, errorMessage: string) =>
  Object.assign(new Error("wrapped"), {
    name: "AuthenticationRequiredError",
    cause: { name: "ServerError", status, errorCode, errorMessage },
  });
const context = { operation: "Azure test list", secrets: ["s3cr3t~value"] };

describe("classifyAzureError()", () => {
  const table: [string, unknown, typeof TransientError | typeof PermanentError, string][] = [
    ["ARM 429", restError(429, "TooManyRequests"), TransientError, "AZURE_TOO_MANY_REQUESTS"],
    ["ARM 503", restError(503, "ServiceUnavailable"), TransientError, "AZURE_SERVICE_UNAVAILABLE"],
    ["ARM 502 without a code", restError(502, undefined), TransientError, "AZURE_HTTP_502"],
    ["ARM 408", restError(408, "RequestTimeout"), TransientError, "AZURE_REQUEST_TIMEOUT"],
    ["ARM 401", restError(401, "AuthenticationFailed"), PermanentError, "AZURE_AUTHENTICATION_FAILED"],
    ["ARM 403", restError(403, "AuthorizationFailed"), PermanentError, "AZURE_AUTHORIZATION_FAILED"],
    ["ARM 404", restError(404, "SubscriptionNotFound"), PermanentError, "AZURE_SUBSCRIPTION_NOT_FOUND"],
    [
      "ARM 400",
      restError(400, "InvalidApiVersionParameter"),
      PermanentError,
      "AZURE_INVALID_API_VERSION_PARAMETER",
    ],
    [
      "token 401 invalid_client",
      serverError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided."),
      PermanentError,
      "AZURE_INVALID_CLIENT",
    ],
    [
      "token 429",
      serverError(429, "too_many_requests", "AADSTS50196: loop"),
      TransientError,
      "AZURE_TOO_MANY_REQUESTS",
    ],
    [
      "identity AuthenticationError 500",
      Object.assign(new Error("x"), {
        name: "AuthenticationError",
        statusCode: 500,
        errorResponse: { error: "server_error", errorDescription: "AADSTS50000: boom" },
      }),
      TransientError,
      "AZURE_SERVER_ERROR",
    ],
    [
      "no credentials in the environment",
      Object.assign(new Error("EnvironmentCredential is unavailable."), {
        name: "CredentialUnavailableError",
      }),
      PermanentError,
      "AZURE_CREDENTIAL_UNAVAILABLE",
    ],
    [
      "authority metadata unreachable",
      Object.assign(new Error("endpoints_resolution_error: See https://aka.ms/msal.js.errors"), {
        name: "CredentialUnavailableError",
      }),
      TransientError,
      "AZURE_AUTHORITY_UNAVAILABLE",
    ],
    [
      "MSAL network failure",
      Object.assign(new Error("network_error"), {
        name: "AuthenticationRequiredError",
        cause: { name: "ClientAuthError" },
      }),
      TransientError,
      "AZURE_AUTHENTICATION_UNAVAILABLE",
    ],
    [
      "ECONNRESET",
      Object.assign(new Error("socket hang up"), { name: "RestError", code: "ECONNRESET" }),
      TransientError,
      "AZURE_CONNECTION",
    ],
    [
      "REQUEST_SEND_ERROR",
      Object.assign(new Error("connect ECONNREFUSED"), { name: "RestError", code: "REQUEST_SEND_ERROR" }),
      TransientError,
      "AZURE_CONNECTION",
    ],
    ["something unknown", new Error("what"), TransientError, "AZURE_UNKNOWN"],
  ];
  for (const [what, error, type, code] of table) {
    it(`${what} → ${type.name} ${code}`, () => {
      const classified = classifyAzureError(error, context);
      assert.ok(classified instanceof type, classified.name);
      assert.equal(classified.code, code);
      assert.ok(classified.message.startsWith("Azure test list failed: "), classified.message);
    });
  }

  it("uses ARM's error body when the SDK's RestError lost it", () => {
    const error = classifyAzureError(restError(403, undefined), {
      ...context,
      armError: { code: "AuthorizationFailed", message: "The client 'x' does not have authorization." },
    });
    assert.equal(error.code, "AZURE_AUTHORIZATION_FAILED");
    assert.equal(
      error.message,
      "Azure test list failed: HTTP 403 AuthorizationFailed: The client 'x' does not have authorization.",
    );
  });

  it("keeps only the AADSTS sentence of a token endpoint's description", () => {
    const error = classifyAzureError(
      serverError(
        401,
        "invalid_client",
        "Error(s): 7000215 - Timestamp: t - Description: AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2 - Correlation ID: x",
      ),
      context,
    );
    assert.equal(
      error.message,
      "Azure test list failed: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided.",
    );
  });

  it("a timeout of our own is AZURE_TIMEOUT, whatever the SDK threw", () => {
    const error = classifyAzureError(
      Object.assign(new Error("The operation was aborted."), { name: "AbortError" }),
      { ...context, timedOut: true },
    );
    assert.ok(error instanceof TransientError);
    assert.equal(error.code, "AZURE_TIMEOUT");
  });

  it("never carries the SDK error (its request holds the Authorization header) as cause", () => {
    assert.equal(classifyAzureError(restError(429, "TooManyRequests"), context).cause, undefined);
  });
});

describe("retryAfterMs()", () => {
  const now = () => Date.parse("2026-05-01T10:00:00Z");
  it("reads seconds, HTTP dates and the millisecond headers", () => {
    assert.equal(retryAfterMs(headers({ "retry-after": "12" }), now), 12_000);
    assert.equal(retryAfterMs(headers({ "retry-after": "Fri, 01 May 2026 10:00:30 GMT" }), now), 30_000);
    assert.equal(retryAfterMs(headers({ "retry-after": "Fri, 01 May 2026 09:00:00 GMT" }), now), 0);
    assert.equal(retryAfterMs(headers({ "retry-after-ms": "1500", "retry-after": "9" }), now), 1500);
    assert.equal(retryAfterMs(headers({ "x-ms-retry-after-ms": "250" }), now), 250);
    assert.equal(retryAfterMs(headers({ "retry-after": "soon" }), now), undefined);
    assert.equal(retryAfterMs(headers({}), now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
  it("ARM 429 with Retry-After yields retryAfterMs", () => {
    const error = classifyAzureError(restError(429, "TooManyRequests", { "retry-after": "3" }), context);
    assert.ok(error instanceof TransientError);
    assert.equal(error.retryAfterMs, 3000);
  });
});

describe("sanitizeMessage() and azureCode()", () => {
  it("removes secrets, bearer tokens and JWTs", () => {
    const text = sanitizeMessage(
      "secret s3cr3t~value sent with Authorization: Bearer abc.def-ghi and eyJ0eXAiOiJKV1Qi.eyJhdWQiOiJ4In0.sig",
      ["s3cr3t~value"],
    );
    assert.equal(text, "secret [redacted] sent with Authorization: Bearer [redacted] and [redacted]");
    const classified = classifyAzureError(new Error("client_secret=s3cr3t~value"), context);
    assert.ok(!classified.message.includes("s3cr3t~value"));
  });
  it("makes stable codes", () => {
    assert.equal(azureCode("TooManyRequests"), "AZURE_TOO_MANY_REQUESTS");
    assert.equal(azureCode("invalid_client"), "AZURE_INVALID_CLIENT");
    assert.equal(azureCode("HTTP_502"), "AZURE_HTTP_502");
  });
});
