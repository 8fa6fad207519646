/**
 * LDAP errors → Troupe errors, in one table. ldapts throws a `ResultCodeError`
 * carrying the LDAP result code (RFC 4511 §4.1.9) as a number in `code` (its
 * subclasses reset their prototype, so `instanceof` cannot tell them apart:
 * the number is what counts); socket failures are Node errors with a string
 * `code` (`ECONNREFUSED`), or plain errors when a connection closed under a
 * pending operation; TLS verification failures carry OpenSSL's codes on Node
 * and rustls' words on Deno.
 *
 * Messages say what failed and where (`LDAP search of "ou=people,dc=x" on
 * ldaps://host:636`), carry the server's diagnostic, and never the password.
 *
 * @module
 */
import { PermanentError, TransientError } from "../../machines/errors.ts";

/** How one LDAP result code is treated, and the stable Troupe code it gets. */
export interface LdapErrorRule {
  kind: "transient" | "permanent";
  code: string;
  /** What to do about it, appended to the message. */
  hint?: string;
}

const transient = (code: string, hint?: string): LdapErrorRule => ({
  kind: "transient",
  code,
  ...(hint ? { hint } : {}),
});
const permanent = (code: string, hint?: string): LdapErrorRule => ({
  kind: "permanent",
  code,
  ...(hint ? { hint } : {}),
});

/** LDAP result codes → treatment. Codes not listed are permanent (`LDAP_RESULT_<n>`). */
export const LDAP_RESULT_RULES: Readonly<Record<number, LdapErrorRule>> = {
  1: transient("LDAP_OPERATIONS_ERROR"),
  2: permanent("LDAP_PROTOCOL_ERROR"),
  3: transient("LDAP_TIME_LIMIT"),
  4: permanent(
    "LDAP_SIZE_LIMIT",
    "the server stopped a paged search at its size limit; allow the bind DN paged searches past it " +
      '(OpenLDAP: limits dn.exact="<bindDN>" size.prtotal=unlimited)',
  ),
  7: permanent("LDAP_BIND_FAILED", "the server refuses simple binds"),
  8: permanent("LDAP_STRONG_AUTH_REQUIRED", "use an ldaps:// URL or startTLS"),
  11: permanent("LDAP_ADMIN_LIMIT", "lower pageSize below the server's MaxPageSize"),
  12: permanent(
    "LDAP_UNAVAILABLE_CRITICAL_EXTENSION",
    "the server does not support paged results (RFC 2696)",
  ),
  13: permanent("LDAP_CONFIDENTIALITY_REQUIRED", "use an ldaps:// URL or startTLS"),
  32: permanent("LDAP_NO_SUCH_OBJECT"),
  34: permanent("LDAP_INVALID_DN"),
  48: permanent("LDAP_BIND_FAILED"),
  49: permanent("LDAP_BIND_FAILED"),
  50: permanent(
    "LDAP_ACCESS_DENIED",
    "grant the bind DN read access to the entries and attributes listed in the README",
  ),
  51: transient("LDAP_BUSY"),
  52: transient("LDAP_UNAVAILABLE"),
  53: permanent("LDAP_UNWILLING_TO_PERFORM"),
  80: transient("LDAP_OTHER"),
};

/** Socket error codes of a connection that failed or broke: worth retrying. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/** OpenSSL's codes (Node) for a certificate that does not verify: a configuration problem, not a passing one. */
const TLS_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** What classify reads of anything thrown (all optional). */
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: { code?: unknown; message?: unknown };
}

/** Removes the given secrets from a text, folds whitespace and caps the length. */
export function sanitize(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("[redacted]");
  out = out.replace(/\s+/g, " ").trim();
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

/** The LDAP result code of an ldapts `ResultCodeError`, when it is one. */
export function ldapResultCode(error: unknown): number | undefined {
  const code = (error as ErrorLike | null)?.code;
  return typeof code === "number" && Number.isInteger(code) ? code : undefined;
}

/** What the classifier needs besides the error. */
export interface ClassifyContext {
  /** What failed, the start of the message: `Cannot bind as "cn=reader,dc=x" to ldaps://host:636`. */
  context: string;
  /** Values that must never appear in the message (the bind password). */
  secrets: readonly string[];
  /** The code of an invalid-credentials result (49) at this step. */
  bindFailedCode?: string;
}

/** Turns any error of an LDAP call into a `TransientError` or a `PermanentError`. */
export function classifyLdapError(error: unknown, ctx: ClassifyContext): TransientError | PermanentError {
  const err = (typeof error === "object" && error !== null ? error : {}) as ErrorLike;
  const raw = typeof err.message === "string" && err.message !== "" ? err.message : String(error);
  const result = ldapResultCode(error);
  if (result !== undefined) {
    const rule = LDAP_RESULT_RULES[result] ?? permanent(`LDAP_RESULT_${result}`);
    // ldapts ends its messages with " Code: 0x31"; the result code is said once, in decimal.
    const detail = sanitize(raw.replace(/\s*Code: 0x[0-9a-f]+$/i, ""), ctx.secrets);
    const code = result === 49 && ctx.bindFailedCode ? ctx.bindFailedCode : rule.code;
    const message = `${ctx.context}: LDAP result ${result}${detail ? ` (${detail})` : ""}${
      rule.hint ? `; ${rule.hint}` : ""
    }`;
    return rule.kind === "permanent"
      ? new PermanentError(message, { code, cause: error })
      : new TransientError(message, { code, cause: error });
  }
  const netCode = [err.code, err.cause?.code].find((c): c is string => typeof c === "string");
  const detail = sanitize(netCode && !raw.includes(netCode) ? `${raw} (${netCode})` : raw, ctx.secrets);
  const message = `${ctx.context}: ${detail}`;
  if (
    netCode && TLS_CODES.has(netCode) || /certificate|UnknownIssuer|NotValidForName|BadSignature/i.test(raw)
  ) {
    return new PermanentError(`${message}; check the ca of the credentials`, {
      code: "LDAP_TLS_UNTRUSTED",
      cause: error,
    });
  }
  if (netCode && NETWORK_CODES.has(netCode)) {
    return new TransientError(message, { code: "LDAP_CONNECTION", cause: error });
  }
  if (/timed? ?out/i.test(raw) || err.name === "TimeoutError") {
    return new TransientError(message, { code: "LDAP_TIMEOUT", cause: error });
  }
  if (/connection closed|socket error|socket connection not established|ECONNRESET/i.test(raw)) {
    return new TransientError(message, { code: "LDAP_CONNECTION_LOST", cause: error });
  }
  // Unknown failures pass through the job's retries like the rest.
  return new TransientError(message, { code: "LDAP_UNKNOWN", cause: error });
}
