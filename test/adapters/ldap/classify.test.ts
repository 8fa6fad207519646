/**
 * classifyLdapError(): ldapts result codes, socket failures and TLS
 * verification failures to typed errors, with messages that name what
 * failed and never carry a secret.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidCredentialsError, SizeLimitExceededError } from "ldapts";
import { classifyLdapError } from "../../../adapters/ldap/classify.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";

const ctx = { context: 'Cannot bind as "cn=reader,dc=x" to ldaps://ldap:636', secrets: ["hunter2-secret"] };
const resultError = (code: number, message = "") =>
  Object.assign(new Error(`${message} Code: 0x${code.toString(16)}`), { code });

describe("classifyLdapError()", () => {
  it("maps ldapts' own result-code errors by their number (their prototype is reset, instanceof cannot tell)", () => {
    const bind = classifyLdapError(new InvalidCredentialsError(), {
      ...ctx,
      bindFailedCode: "LDAP_BIND_FAILED",
    });
    assert.ok(bind instanceof PermanentError);
    assert.equal(bind.code, "LDAP_BIND_FAILED");
    assert.match(bind.message, /^Cannot bind as "cn=reader,dc=x" to ldaps:\/\/ldap:636: LDAP result 49/);
    const size = classifyLdapError(new SizeLimitExceededError(), ctx);
    assert.ok(size instanceof PermanentError);
    assert.equal(size.code, "LDAP_SIZE_LIMIT");
    assert.match(size.message, /size\.prtotal=unlimited/);
  });

  it("retries busy, unavailable, time limit and operations errors; fails access denied, no such object and unknown codes", () => {
    const cases: [number, "transient" | "permanent", string][] = [
      [51, "transient", "LDAP_BUSY"],
      [52, "transient", "LDAP_UNAVAILABLE"],
      [3, "transient", "LDAP_TIME_LIMIT"],
      [1, "transient", "LDAP_OPERATIONS_ERROR"],
      [50, "permanent", "LDAP_ACCESS_DENIED"],
      [32, "permanent", "LDAP_NO_SUCH_OBJECT"],
      [8, "permanent", "LDAP_STRONG_AUTH_REQUIRED"],
      [11, "permanent", "LDAP_ADMIN_LIMIT"],
      [123, "permanent", "LDAP_RESULT_123"],
    ];
    for (const [code, kind, stable] of cases) {
      const error = classifyLdapError(resultError(code, "server says no"), ctx);
      assert.ok(
        kind === "transient" ? error instanceof TransientError : error instanceof PermanentError,
        `${code}`,
      );
      assert.equal(error.code, stable);
      assert.match(error.message, new RegExp(`LDAP result ${code} \\(server says no\\)`));
    }
  });

  it("retries refused, reset and closed connections and timeouts", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:389"), { code: "ECONNREFUSED" });
    assert.equal(classifyLdapError(refused, ctx).code, "LDAP_CONNECTION");
    assert.ok(classifyLdapError(refused, ctx) instanceof TransientError);
    const closed = new Error(
      "Connection closed before message response was received. Message type: SearchRequest (0x63)",
    );
    assert.equal(classifyLdapError(closed, ctx).code, "LDAP_CONNECTION_LOST");
    assert.equal(
      classifyLdapError(new Error("SearchRequest: Operation timed out"), ctx).code,
      "LDAP_TIMEOUT",
    );
    assert.equal(classifyLdapError(new Error("Connection timeout"), ctx).code, "LDAP_TIMEOUT");
    assert.equal(classifyLdapError("weird", ctx).code, "LDAP_UNKNOWN");
  });

  it("fails an unverifiable certificate permanently (Node's OpenSSL codes and rustls' words)", () => {
    const node = Object.assign(new Error("self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    const deno = new Error("invalid peer certificate: UnknownIssuer");
    for (const error of [node, deno]) {
      const typed = classifyLdapError(error, ctx);
      assert.ok(typed instanceof PermanentError);
      assert.equal(typed.code, "LDAP_TLS_UNTRUSTED");
    }
  });

  it("never carries a secret that the server or the socket echoed", () => {
    const error = classifyLdapError(resultError(49, "bad password hunter2-secret for you"), ctx);
    assert.equal(error.message.includes("hunter2-secret"), false);
    assert.match(error.message, /\[redacted\]/);
    const socket = classifyLdapError(
      Object.assign(new Error("reset hunter2-secret"), { code: "ECONNRESET" }),
      ctx,
    );
    assert.equal(socket.message.includes("hunter2-secret"), false);
  });
});
