/**
 * The Google Workspace plugin's credentials schema: a service account key
 * (the JSON file Google gives) with domain-wide delegation, plus `subject`
 * (the admin it acts as) and optionally `customer`. Cheap (zod only): the
 * manifest imports it.
 *
 * A bad credentials object is refused with a `PermanentError` naming the
 * field, never a value: the object holds the private key.
 *
 * @module
 */
import { z } from "zod";
import { parseCredentialsObject } from "../sync/credentials-object.ts";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An https URL, or http on a loopback address (a local stand-in). */
const endpoint = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
  } catch {
    return false;
  }
}, "must be an https URL");

const email = z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an email address");

/**
 * The service account key file's fields (as Google writes them), plus
 * `subject`: the super admin (or delegated admin) whose rights the key uses,
 * and `customer`: `my_customer` (default: the subject's own account) or a
 * customer id (`C01abc2de`).
 */
export const googleWorkspaceCredentialsSchema = z.strictObject({
  type: z.literal("service_account"),
  client_email: email,
  private_key: z.string().regex(/-----BEGIN PRIVATE KEY-----/, "must be a PKCS #8 PEM private key"),
  private_key_id: z.string().optional(),
  token_uri: endpoint.optional(),
  project_id: z.string().optional(),
  client_id: z.string().optional(),
  auth_uri: z.string().optional(),
  auth_provider_x509_cert_url: z.string().optional(),
  client_x509_cert_url: z.string().optional(),
  universe_domain: z.string().optional(),
  subject: email,
  customer: z.string().regex(/^(my_customer|C[0-9a-z]+)$/i, "must be my_customer or a customer id")
    .optional(),
});
export type GoogleWorkspaceCredentials = z.output<typeof googleWorkspaceCredentialsSchema>;

/** Validates resolved credentials; a failure names the field and what is wrong (never its value). */
export function parseGoogleWorkspaceCredentials(value: unknown): GoogleWorkspaceCredentials {
  return parseCredentialsObject(googleWorkspaceCredentialsSchema, value, {
    label: "Google Workspace credentials",
    expected: 'a service account key with "subject"',
    code: "GOOGLE_WORKSPACE_BAD_CREDENTIALS",
  });
}
