import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PermanentError, toJobErrorInfo, TransientError } from "../../../machines/errors.ts";
import { classifyAwsError, retryAfterMs, sanitizeMessage } from "../../../adapters/aws/classify.ts";

/** An error shaped as the SDK throws it for an AWS answer. */
function awsError(
  code: string,
  status: number,
  message = `${code} happened`,
  headers: Record<string, string> = {},
) {
  return Object.assign(new Error(message), {
    name: `${code}Exception`,
    Code: code,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status, requestId: "req-1" },
    $response: { statusCode: status, headers },
  });
}

/** A Node network error. */
function networkError(code: string) {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

const context =
  'Cannot attach policy "arn:aws:iam::aws:policy/ReadOnlyAccess" to role "app" in account "111122223333"';

describe("classifyAwsError()", () => {
  const table: [string, unknown, "transient" | "permanent", string][] = [
    ["Throttling (400)", awsError("Throttling", 400), "transient", "AWS_THROTTLING"],
    ["ThrottlingException (400)", awsError("ThrottlingException", 400), "transient", "AWS_THROTTLING"],
    ["RequestLimitExceeded (400)", awsError("RequestLimitExceeded", 400), "transient", "AWS_THROTTLING"],
    ["ServiceUnavailable (503)", awsError("ServiceUnavailable", 503), "transient", "AWS_SERVICE_UNAVAILABLE"],
    ["ServiceFailure (500)", awsError("ServiceFailure", 500), "transient", "AWS_SERVICE_FAILURE"],
    ["an unknown code with 502", awsError("BadGateway", 502), "transient", "AWS_BAD_GATEWAY"],
    ["an unknown code with 429", awsError("SomethingNew", 429), "transient", "AWS_THROTTLING"],
    [
      "ConcurrentModification (409)",
      awsError("ConcurrentModification", 409),
      "transient",
      "AWS_CONCURRENT_MODIFICATION",
    ],
    ["ExpiredToken (400)", awsError("ExpiredToken", 400), "transient", "AWS_EXPIRED_TOKEN"],
    ["ECONNRESET", networkError("ECONNRESET"), "transient", "AWS_CONNECTION"],
    ["ECONNREFUSED", networkError("ECONNREFUSED"), "transient", "AWS_CONNECTION"],
    ["ETIMEDOUT", networkError("ETIMEDOUT"), "transient", "AWS_CONNECTION"],
    [
      "a TimeoutError",
      Object.assign(new Error("socket hang up"), { name: "TimeoutError" }),
      "transient",
      "AWS_TIMEOUT",
    ],
    ["something unknown", new Error("what"), "transient", "AWS_UNKNOWN"],
    ["AccessDenied (403)", awsError("AccessDenied", 403), "permanent", "AWS_ACCESS_DENIED"],
    ["NoSuchEntity (404)", awsError("NoSuchEntity", 404), "permanent", "AWS_NO_SUCH_ENTITY"],
    ["InvalidInput (400)", awsError("InvalidInput", 400), "permanent", "AWS_INVALID_INPUT"],
    [
      "MalformedPolicyDocument (400)",
      awsError("MalformedPolicyDocument", 400),
      "permanent",
      "AWS_MALFORMED_POLICY_DOCUMENT",
    ],
    ["LimitExceeded (409)", awsError("LimitExceeded", 409), "permanent", "AWS_LIMIT_EXCEEDED"],
    [
      "InvalidClientTokenId (403)",
      awsError("InvalidClientTokenId", 403),
      "permanent",
      "AWS_INVALID_CLIENT_TOKEN_ID",
    ],
    ["an unknown code with 400", awsError("OptInRequired", 400), "permanent", "AWS_OPT_IN_REQUIRED"],
  ];
  for (const [what, error, kind, code] of table) {
    it(`classifyAwsError() makes ${what} ${kind} with code ${code}`, () => {
      const classified = classifyAwsError(error, { context });
      assert.ok(classified instanceof (kind === "transient" ? TransientError : PermanentError));
      assert.equal(classified.code, code);
      assert.equal(toJobErrorInfo(classified).kind, kind);
      assert.ok(classified.message.startsWith(`${context}: `), classified.message);
    });
  }

  it("classifyAwsError() puts the AWS code and AWS's message after the context", () => {
    const error = classifyAwsError(
      awsError("AccessDenied", 403, "User x is not authorized to perform: iam:AttachRolePolicy"),
      { context },
    );
    assert.equal(
      error.message,
      `${context}: AccessDenied: User x is not authorized to perform: iam:AttachRolePolicy`,
    );
  });

  it("classifyAwsError() uses the step's code for an AccessDenied when given", () => {
    const error = classifyAwsError(awsError("AccessDenied", 403), {
      context,
      accessDeniedCode: "AWS_ASSUME_ROLE_DENIED",
    });
    assert.equal(error.code, "AWS_ASSUME_ROLE_DENIED");
  });

  it("classifyAwsError() carries Retry-After in seconds as retryAfterMs", () => {
    const error = classifyAwsError(awsError("Throttling", 400, "Rate exceeded", { "retry-after": "7" }), {
      context,
    });
    assert.ok(error instanceof TransientError);
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(toJobErrorInfo(error).retryAfterMs, 7000);
  });

  it("classifyAwsError() leaves retryAfterMs unset without a Retry-After header", () => {
    const error = classifyAwsError(awsError("Throttling", 400), { context });
    assert.ok(error instanceof TransientError);
    assert.equal(error.retryAfterMs, undefined);
  });

  it("classifyAwsError() removes given secrets and credential-shaped strings from the message", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN".repeat(10);
    const error = classifyAwsError(
      awsError(
        "SignatureDoesNotMatch",
        403,
        `bad signature for ${secret} with token ${token} and key ASIAABCDEFGHIJKLMNOP and tok3n-short`,
      ),
      { context, secrets: ["tok3n-short"] },
    );
    for (const hidden of [secret, token, "ASIAABCDEFGHIJKLMNOP", "tok3n-short"]) {
      assert.ok(!error.message.includes(hidden), hidden);
    }
    assert.match(error.message, /SignatureDoesNotMatch: bad signature for \[redacted\]/);
  });
});

describe("retryAfterMs()", () => {
  it("retryAfterMs() reads an HTTP date against the given clock", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const error = { $response: { headers: { "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" } } };
    assert.equal(retryAfterMs(error, () => now), 30_000);
  });

  it("retryAfterMs() ignores a header it cannot read", () => {
    assert.equal(retryAfterMs({ $response: { headers: { "retry-after": "soon" } } }), undefined);
  });
});

describe("sanitizeMessage()", () => {
  it("sanitizeMessage() caps long messages", () => {
    assert.ok(sanitizeMessage("word ".repeat(400)).length <= 501);
  });
});
