/**
 * Checks a resolved credentials object against a connector's schema. A failure
 * is a `PermanentError` naming the offending field and what is wrong with it,
 * never its value (credentials are secret, and a wrong token is still a token).
 *
 * @example
 * ```ts
 * const credentials = parseCredentialsObject(oktaCredentialsSchema, value, {
 *   label: "Okta credentials", expected: '{"orgUrl", "token"}', code: "OKTA_BAD_CREDENTIALS",
 * });
 * ```
 * @module
 */
import type { z } from "zod";
import { PermanentError } from "../../machines/errors.ts";

/** How a connector names its credentials in an error. */
export interface CredentialsNaming {
  /** `Okta credentials`. */
  label: string;
  /** What a good object looks like: `{"orgUrl", "token"}`. */
  expected: string;
  /** The error's code: `OKTA_BAD_CREDENTIALS`. */
  code: string;
}

/** Why a zod issue failed, in words that quote no value. */
function why(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "invalid";
  if (issue.code === "unrecognized_keys") return "unknown field";
  if (issue.code === "invalid_type") {
    return /received undefined/.test(issue.message) ? "is required" : `must be a ${issue.expected}`;
  }
  if (issue.code === "invalid_value") {
    return `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
  }
  return issue.message;
}

/** The parsed credentials, or a PermanentError naming the field. */
export function parseCredentialsObject<S extends z.ZodType>(
  schema: S,
  value: unknown,
  naming: CredentialsNaming,
): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.code === "unrecognized_keys"
    ? issue.keys.join(", ")
    : issue?.path.map(String).join(".") || "credentials";
  throw new PermanentError(`${naming.label}: "${field}" ${why(issue)} (expected ${naming.expected})`, {
    code: naming.code,
  });
}
