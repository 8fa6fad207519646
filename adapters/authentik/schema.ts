/**
 * The Authentik plugin's schemas: the credentials a `sync.authentik` or `writeback.authentik`
 * job resolves from its reference (`{url, token}`, an API token sent as a bearer token), and
 * the `writeback.authentik` payload. Cheap (zod only): the manifest imports it.
 *
 * A bad credentials object is refused with a `PermanentError` naming the
 * field, never a value: the object holds the API token.
 *
 * @module
 */
import { z } from "zod";
import { parseCredentialsObject } from "../sync/credentials-object.ts";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The instance's URL: https, or http on a loopback address (a local stand-in); no query or credentials. */
const url = z.string().refine((value) => {
  try {
    const url = new URL(value);
    const secure = url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
    return secure && url.username === "" && url.password === "" && url.search === "" && url.hash === "";
  } catch {
    return false;
  }
}, "must be the instance's https URL (https://authentik.example.com), without query");

/** `{url, token}`: the instance and an API token of a user allowed to view users and groups. */
export const authentikCredentialsSchema = z.strictObject({
  url,
  token: z.string().min(1, "must not be empty").max(4096),
});
export type AuthentikCredentials = z.output<typeof authentikCredentialsSchema>;

export { type WritebackPayload, writebackPayloadSchema } from "../sync/schema.ts";

/**
 * Validates resolved credentials; a failure names the offending field and what
 * is wrong with it (never its value).
 */
export function parseAuthentikCredentials(value: unknown): AuthentikCredentials {
  const parsed = parseCredentialsObject(authentikCredentialsSchema, value, {
    label: "Authentik credentials",
    expected: '{"url", "token"}',
    code: "AUTHENTIK_BAD_CREDENTIALS",
  });
  return { ...parsed, url: parsed.url.replace(/\/+$/, "") };
}
