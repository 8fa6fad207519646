/**
 * Domain-wide delegation: google-auth-library's `JWT` client signs an RS256
 * assertion with the service account key, `sub` = the admin to act as, the
 * Directory API's read-only scopes, and exchanges it for an access token.
 *
 * The library always posts its assertions to https://oauth2.googleapis.com/token;
 * when the key names another `token_uri` (a private endpoint, a test stand-in)
 * the exchange is sent there instead. The library's own HTTP retries are off
 * (the sync engine retries pages).
 *
 * @module
 */
import { JWT } from "google-auth-library";
import type { GoogleWorkspaceCredentials } from "./schema.ts";

/** The read-only scopes the sync needs; the admin console's delegation must grant exactly these (or more). */
export const DIRECTORY_SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
  "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
];

const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** An auth client, and the strings that must never appear in a message. */
export interface DelegatedAuth {
  client: JWT;
  secrets: string[];
  /** `service account <email> as <subject>`, for messages. */
  principal: string;
}

/** The auth client of the credentials. */
export function createDelegatedAuth(credentials: GoogleWorkspaceCredentials): DelegatedAuth {
  const client = new JWT({
    email: credentials.client_email,
    key: credentials.private_key,
    scopes: DIRECTORY_SCOPES,
    subject: credentials.subject,
    ...(credentials.private_key_id ? { keyId: credentials.private_key_id } : {}),
  });
  const tokenUri = credentials.token_uri && credentials.token_uri !== GOOGLE_TOKEN_URL
    ? credentials.token_uri
    : undefined;
  client.transporter.interceptors.request.add({
    resolved: (options) => {
      options.retry = false;
      options.retryConfig = { retry: 0, noResponseRetries: 0 };
      if (tokenUri && String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(tokenUri);
      return Promise.resolve(options);
    },
  });
  return {
    client,
    secrets: [credentials.private_key, credentials.private_key_id]
      .filter((s): s is string => typeof s === "string" && s.length >= 8),
    principal: `service account ${credentials.client_email} as ${credentials.subject}`,
  };
}
