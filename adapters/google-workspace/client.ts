/**
 * The Directory API client: the official `@googleapis/admin` (directory_v1)
 * on the delegated JWT auth client (auth.ts), imported only by mod.ts, so on
 * the first job. Each call is one page, with the job's signal (the token
 * exchange, which takes none, is raced against it), a time limit and no
 * client retries; failures come out typed (classify.ts).
 *
 * `apiEndpoint` replaces `https://admin.googleapis.com/` (a private endpoint, a
 * test stand-in); the token endpoint is the key's `token_uri`.
 *
 * @module
 */
import { admin, type admin_directory_v1 } from "@googleapis/admin";
import { createDelegatedAuth, type DelegatedAuth } from "./auth.ts";
import { classifyGoogleError } from "./classify.ts";
import type { GoogleWorkspaceCredentials } from "./schema.ts";

/** Options of {@link DirectoryClient}. */
export interface DirectoryClientOptions {
  apiEndpoint?: string | undefined;
  timeoutMs: number;
  now: () => number;
}

/** Users per page (the API's maximum). */
export const USERS_PAGE = 500;
/** Groups and members per page (the API's maximum). */
export const GROUPS_PAGE = 200;

/** The calls the connector makes, for one account. */
export class DirectoryClient {
  readonly #api: admin_directory_v1.Admin;
  readonly #auth: DelegatedAuth;
  readonly #options: DirectoryClientOptions;
  /** The customer the listings are for: `my_customer` or an id. */
  readonly customer: string;

  constructor(credentials: GoogleWorkspaceCredentials, options: DirectoryClientOptions) {
    this.#auth = createDelegatedAuth(credentials);
    this.#options = options;
    this.customer = credentials.customer ?? "my_customer";
    this.#api = admin({
      version: "directory_v1",
      auth: this.#auth.client,
      ...(options.apiEndpoint ? { rootUrl: options.apiEndpoint.replace(/\/*$/, "/") } : {}),
    });
  }

  async #call<T>(
    operation: string,
    signal: AbortSignal,
    call: (options: { signal: AbortSignal; retry: false; timeout: number }) => Promise<{ data: T }>,
  ): Promise<T> {
    signal.throwIfAborted();
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(both.reason);
      both.addEventListener("abort", onAbort, { once: true });
    });
    const pending = call({ signal: both, retry: false, timeout: this.#options.timeoutMs });
    try {
      return (await Promise.race([pending, aborted])).data;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw classifyGoogleError(error, {
        operation: `Google Workspace ${operation}`,
        secrets: this.#auth.secrets,
        principal: this.#auth.principal,
        now: this.#options.now(),
        timedOut: timeout.aborted,
      });
    } finally {
      both.removeEventListener("abort", onAbort!);
      pending.catch(() => {});
    }
  }

  /** `GET /admin/directory/v1/users?customer=…&maxResults=500&pageToken=…`. */
  listUsers(pageToken: string | undefined, signal: AbortSignal) {
    return this.#call(`users.list (customer ${this.customer})`, signal, (options) =>
      this.#api.users.list({
        customer: this.customer,
        maxResults: USERS_PAGE,
        projection: "basic",
        ...(pageToken ? { pageToken } : {}),
      }, options));
  }

  /** `GET /admin/directory/v1/groups?customer=…&maxResults=200&pageToken=…`. */
  listGroups(pageToken: string | undefined, signal: AbortSignal) {
    return this.#call(`groups.list (customer ${this.customer})`, signal, (options) =>
      this.#api.groups.list({
        customer: this.customer,
        maxResults: GROUPS_PAGE,
        ...(pageToken ? { pageToken } : {}),
      }, options));
  }

  /** `GET /admin/directory/v1/groups/{groupKey}/members?maxResults=200&pageToken=…`. */
  listMembers(groupKey: string, pageToken: string | undefined, signal: AbortSignal) {
    return this.#call(`members.list (group ${groupKey})`, signal, (options) =>
      this.#api.members.list({
        groupKey,
        maxResults: GROUPS_PAGE,
        ...(pageToken ? { pageToken } : {}),
      }, options));
  }

  /** `GET /admin/directory/v1/customer/{customer}/orgunits?type=all` (one answer, not paged). */
  listOrgUnits(signal: AbortSignal) {
    return this.#call(
      `orgunits.list (customer ${this.customer})`,
      signal,
      (options) => this.#api.orgunits.list({ customerId: this.customer, type: "all" }, options),
    );
  }
}
