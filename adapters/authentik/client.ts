/**
 * The Authentik client: the official `@goauthentik/api` (generated from
 * Authentik's OpenAPI schema; plain `fetch`, no dependencies), imported only
 * by mod.ts, so on the first job of a kind. Each call gets the job's signal and
 * a time limit, and comes back as the raw JSON body and the request id
 * (`X-authentik-id`): the generated models are skipped because they drop what
 * other server versions send (a group's single `parent` before `parents`) and
 * turn absent dates into invalid ones.
 *
 * @module
 */
import { Configuration, CoreApi, ResponseError } from "@goauthentik/api";
import { classifyAuthentikFailure, classifyAuthentikResponse } from "./classify.ts";
import type { AuthentikCredentials } from "./schema.ts";

/** One successful answer. */
export interface AuthentikAnswer {
  body: unknown;
  requestId: string | undefined;
}

/** Options of {@link AuthentikClient}. */
export interface AuthentikClientOptions {
  timeoutMs: number;
  now: () => number;
  fetch?: typeof fetch;
}

/** The calls the connector makes, on one instance. */
export class AuthentikClient {
  readonly #api: CoreApi;
  readonly #secrets: string[];
  readonly #options: AuthentikClientOptions;

  constructor(credentials: AuthentikCredentials, options: AuthentikClientOptions) {
    this.#api = new CoreApi(
      new Configuration({
        basePath: `${credentials.url}/api/v3`,
        accessToken: credentials.token,
        ...(options.fetch ? { fetchApi: options.fetch } : {}),
      }),
    );
    this.#secrets = [credentials.token];
    this.#options = options;
  }

  /** Runs one call of the generated client: raw JSON out, typed errors. */
  async #call(
    operation: string,
    signal: AbortSignal,
    call: (init: RequestInit) => Promise<{ raw: Response }>,
  ): Promise<AuthentikAnswer> {
    signal.throwIfAborted();
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const context = { operation: `Authentik ${operation}`, secrets: this.#secrets };
    let raw: Response;
    try {
      raw = (await call({ signal: AbortSignal.any([signal, timeout]), redirect: "error" })).raw;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof ResponseError) {
        const body = await error.response.json().catch(() => undefined);
        throw classifyAuthentikResponse(error.response, body, { ...context, now: this.#options.now() });
      }
      throw classifyAuthentikFailure(error, {
        ...context,
        now: this.#options.now(),
        timedOut: timeout.aborted,
      });
    }
    const requestId = raw.headers.get("x-authentik-id") ?? undefined;
    try {
      const text = await raw.text();
      return { body: text === "" ? undefined : JSON.parse(text), requestId };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw classifyAuthentikFailure(error, {
        ...context,
        now: this.#options.now(),
        timedOut: timeout.aborted,
      });
    }
  }

  /** `GET /core/users/?page=N&page_size=M` (without each user's groups: the groups list them). */
  listUsers(page: number, pageSize: number, signal: AbortSignal): Promise<AuthentikAnswer> {
    return this.#call(
      "GET /core/users/",
      signal,
      (init) => this.#api.coreUsersListRaw({ page, pageSize, includeGroups: false, ordering: "pk" }, init),
    );
  }

  /** `GET /core/groups/?page=N&page_size=M&include_users=true`. */
  listGroups(page: number, pageSize: number, signal: AbortSignal): Promise<AuthentikAnswer> {
    return this.#call(
      "GET /core/groups/",
      signal,
      (init) => this.#api.coreGroupsListRaw({ page, pageSize, includeUsers: true, ordering: "name" }, init),
    );
  }

  /** `GET /core/groups/{pk}/` with its users. */
  getGroup(groupPk: string, signal: AbortSignal): Promise<AuthentikAnswer> {
    return this.#call(
      "GET /core/groups/{pk}/",
      signal,
      (init) => this.#api.coreGroupsRetrieveRaw({ groupUuid: groupPk, includeUsers: true }, init),
    );
  }

  /** `POST /core/groups/{pk}/add_user/` or `remove_user/` with `{"pk": userPk}` (204). */
  changeMember(
    operation: "add" | "remove",
    groupPk: string,
    userPk: number,
    signal: AbortSignal,
  ): Promise<AuthentikAnswer> {
    const request = { groupUuid: groupPk, userAccountRequest: { pk: userPk } };
    return operation === "add"
      ? this.#call(
        "POST /core/groups/{pk}/add_user/",
        signal,
        (init) => this.#api.coreGroupsAddUserCreateRaw(request, init),
      )
      : this.#call(
        "POST /core/groups/{pk}/remove_user/",
        signal,
        (init) => this.#api.coreGroupsRemoveUserCreateRaw(request, init),
      );
  }
}
