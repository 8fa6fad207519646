/**
 * The Okta plugin's schemas: the credentials a `sync.okta` or `writeback.okta`
 * job resolves from its reference (`{orgUrl, token}`, an SSWS API token), and
 * the `writeback.okta` payload. Cheap (zod only): the manifest imports it.
 *
 * A bad credentials object is refused with a `PermanentError` naming the
 * field, never a value: the object holds the API token.
 *
 * @module
 */
import { z } from "zod";
import { parseCredentialsObject } from "../sync/credentials-object.ts";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An org URL: https, or http on a loopback address (a local stand-in); no path, query or credentials. */
const orgUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    const secure = url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
    return secure && url.username === "" && url.password === "" && url.search === "" && url.hash === "" &&
      (url.pathname === "/" || url.pathname === "");
  } catch {
    return false;
  }
}, "must be the org's https URL (https://<org>.okta.com), without path or query");

/** `{orgUrl, token}`: the org and an SSWS API token of an admin allowed to read users and groups. */
export const oktaCredentialsSchema = z.strictObject({
  orgUrl,
  token: z.string().min(1, "must not be empty").max(4096),
});
export type OktaCredentials = z.output<typeof oktaCredentialsSchema>;

export { type WritebackPayload, writebackPayloadSchema } from "../sync/schema.ts";

/**
 * Validates resolved credentials; a failure names the offending field and what
 * is wrong with it (never its value).
 */
export function parseOktaCredentials(value: unknown): OktaCredentials {
  const parsed = parseCredentialsObject(oktaCredentialsSchema, value, {
    label: "Okta credentials",
    expected: '{"orgUrl", "token"}',
    code: "OKTA_BAD_CREDENTIALS",
  });
  return { ...parsed, orgUrl: parsed.orgUrl.replace(/\/+$/, "") };
}
