/**
 * The Okta HTTP client: `fetch` with the documented wire format, because the
 * official `@okta/okta-sdk-nodejs` does not fit a sync engine that reads pages
 * from explicit tokens (see README.md): its collections keep the `Link` cursor
 * private, its calls take no AbortSignal, its 429 retry sleeps unabortably
 * inside the call, and it pulls node-fetch 2 and fifteen other packages
 * (25 MB, 1.7 s to load on Node, 2 s on Deno).
 *
 * Every request carries `Authorization: SSWS <token>`, goes through the
 * instance's {@link RateLimiter} (one budget per bucket, shared by every source),
 * has a time limit, and is cancelled when the job's signal aborts. Answers are
 * JSON; a non-2xx one becomes a typed error (classify.ts) whose message has no
 * token in it.
 *
 * @module
 */
import { classifyOktaFailure, classifyOktaResponse } from "./classify.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { OktaCredentials } from "./schema.ts";
import { PermanentError } from "../../machines/errors.ts";

/** One answer of Okta. */
export interface OktaAnswer {
  status: number;
  body: unknown;
  /** The `next` link's path and query (`/api/v1/users?after=…&limit=200`), when there is a next page. */
  next: string | undefined;
  requestId: string | undefined;
}

/** Options of {@link OktaClient}. */
export interface OktaClientOptions {
  limiter: RateLimiter;
  now: () => number;
  /** Most milliseconds one request may take. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The path and query of the `rel="next"` URL of a `Link` header, when it is on `origin`. */
export function nextLink(link: string | null, origin: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!match || !/\brel="?next"?/.test(match[2]!)) continue;
    const url = new URL(match[1]!, origin);
    // The token goes to Okta's own origin only: a next link elsewhere is refused, never followed.
    if (url.origin !== origin) {
      throw new PermanentError(`Okta answered a next page on another origin "${url.origin}"`, {
        code: "OKTA_BAD_LINK",
      });
    }
    return `${url.pathname}${url.search}`;
  }
  return undefined;
}

/** A client of one org, with its credentials. */
export class OktaClient {
  readonly #credentials: OktaCredentials;
  readonly #options: OktaClientOptions;
  readonly #origin: string;

  constructor(credentials: OktaCredentials, options: OktaClientOptions) {
    this.#credentials = credentials;
    this.#options = options;
    this.#origin = new URL(credentials.orgUrl).origin;
  }

  /**
   * Sends one request to `path` (path and query, on the org) in rate-limit
   * `bucket`; resolves with a 2xx answer, throws a typed error otherwise.
   * `allow` lists non-2xx statuses returned instead of thrown (a 404 a caller
   * handles itself).
   */
  async request(
    method: string,
    path: string,
    bucket: string,
    signal: AbortSignal,
    allow: readonly number[] = [],
  ): Promise<OktaAnswer> {
    const operation = `Okta ${method} ${path.split("?")[0]}`;
    const secrets = [this.#credentials.token];
    // Each org has its own limits: its origin is part of the bucket's name.
    const permit = await this.#options.limiter.acquire(`${this.#origin} ${bucket}`, signal, this.#origin);
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    let response: Response;
    try {
      response = await (this.#options.fetch ?? fetch)(`${this.#origin}${path}`, {
        method,
        headers: {
          accept: "application/json",
          authorization: `SSWS ${this.#credentials.token}`,
          ...(method === "PUT" || method === "POST" ? { "content-type": "application/json" } : {}),
        },
        signal: AbortSignal.any([signal, timeout]),
        redirect: "error",
      });
    } catch (error) {
      permit.done();
      if (signal.aborted) throw signal.reason;
      throw classifyOktaFailure(error, { operation, timedOut: timeout.aborted, secrets });
    }
    const limit = permit.done(response.headers);
    const requestId = response.headers.get("x-okta-request-id") ?? undefined;
    let body: unknown;
    try {
      const text = await response.text();
      body = text === "" ? undefined : JSON.parse(text);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (response.ok) throw classifyOktaFailure(error, { operation, timedOut: timeout.aborted, secrets });
      body = undefined;
    }
    if (!response.ok && !allow.includes(response.status)) {
      throw classifyOktaResponse(response.status, {
        operation,
        body,
        requestId,
        retryAfterMs: response.status === 429 && limit
          ? Math.max(0, limit.resetAt - this.#options.now())
          : undefined,
        secrets,
      });
    }
    return {
      status: response.status,
      body,
      next: nextLink(response.headers.get("link"), this.#origin),
      requestId,
    };
  }
}
