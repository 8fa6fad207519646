/**
 * Authentication of the GCP discovery provider: one google-auth-library client
 * per target, shared by the Compute, Storage and GKE clients.
 *
 * - `credentials` given: a service account key (or any other credential JSON
 *   google-auth-library accepts, e.g. `authorized_user`, `external_account`),
 *   scoped to `cloud-platform` so tokens come from the OAuth token endpoint.
 *   The library always posts service-account assertions to
 *   https://oauth2.googleapis.com/token; when the key names another `token_uri`
 *   (a private or test endpoint), its token requests are sent there instead.
 * - unset: Application Default Credentials, found by the library itself
 *   (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file, the metadata server).
 *
 * The client's own HTTP retries are turned off (the sync engine retries pages),
 * and every response's status and `Retry-After` header are noted for the call in
 * progress ({@link observeCall}), because the REST clients drop response headers
 * from their errors.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type AuthClient, GoogleAuth, JWT, UserRefreshClient } from "google-auth-library";
import { PermanentError } from "../../../machines/errors.ts";

const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** What the last HTTP response of a call said about retrying. */
export interface CallObservation {
  status?: number;
  retryAfter?: string;
}

const observations = new AsyncLocalStorage<CallObservation>();

/**
 * Runs `call`, noting in `observed` the status and `Retry-After` of the last
 * response its HTTP requests got (read it when the call fails).
 */
export function observeCall<T>(observed: CallObservation, call: () => Promise<T>): Promise<T> {
  return observations.run(observed, call);
}

/** An authenticated client and what may be said about it in messages (never a secret). */
export interface TargetAuth {
  client: AuthClient;
  /** `service account <email>` or `application default credentials`. */
  principal: string;
  /** Strings that must never appear in a message: the key and its id. */
  secrets: string[];
}

/** The client of explicit credentials: a service account key or an `authorized_user` (gcloud) file. */
function clientOf(credentials: Record<string, unknown>): AuthClient {
  try {
    if (credentials.type === "service_account") {
      const jwt = new JWT({ scopes: [CLOUD_PLATFORM] });
      jwt.fromJSON(credentials);
      return jwt;
    }
    if (credentials.type === "authorized_user") {
      const user = new UserRefreshClient();
      user.fromJSON(credentials);
      return user;
    }
  } catch (error) {
    // fromJSON names the missing field, never a value.
    throw new PermanentError(`GCP credentials: ${(error as Error).message}`, { code: "GCP_BAD_CREDENTIALS" });
  }
  throw new PermanentError(
    `GCP credentials: unsupported type ${
      JSON.stringify(String(credentials.type))
    } (service_account or authorized_user)`,
    { code: "GCP_BAD_CREDENTIALS" },
  );
}

/** Builds the auth client of a target from its resolved credentials (unset: Application Default Credentials). */
export async function createTargetAuth(
  credentials: Record<string, unknown> | undefined,
): Promise<TargetAuth> {
  const client = credentials
    ? clientOf(credentials)
    : await new GoogleAuth({ scopes: [CLOUD_PLATFORM] }).getClient();
  const tokenUri = typeof credentials?.token_uri === "string" && credentials.token_uri !== GOOGLE_TOKEN_URL
    ? credentials.token_uri
    : undefined;
  client.transporter.interceptors.request.add({
    resolved: (options) => {
      // No retries inside the client: a throttled request surfaces at once, and the engine retries the page.
      options.retry = false;
      options.retryConfig = { retry: 0, noResponseRetries: 0 };
      if (tokenUri && String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(tokenUri);
      return Promise.resolve(options);
    },
  });
  client.transporter.interceptors.response.add({
    resolved: (response) => {
      const observed = observations.getStore();
      if (observed) {
        observed.status = response.status;
        const retryAfter = response.headers.get("retry-after");
        if (retryAfter) observed.retryAfter = retryAfter;
        else delete observed.retryAfter;
      }
      return Promise.resolve(response);
    },
  });
  const email = typeof credentials?.client_email === "string" ? credentials.client_email : undefined;
  const secrets = ["private_key", "private_key_id", "client_secret", "refresh_token"]
    .map((field) => credentials?.[field])
    .filter((value): value is string => typeof value === "string" && value.length >= 8);
  return {
    client,
    principal: email
      ? `service account ${email}`
      : credentials
      ? "the given credentials"
      : "application default credentials",
    secrets,
  };
}
