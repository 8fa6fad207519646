/**
 * A stand-in for the Okta Management API the Okta connector uses: a real HTTP
 * server on 127.0.0.1 speaking Okta's documented wire format.
 *
 * - `GET /api/v1/users` (`limit` ≤ 200, `after`; deprovisioned users only with
 *   `search=status eq "DEPROVISIONED"`), `GET /api/v1/groups` (`limit` ≤ 10000),
 *   `GET /api/v1/groups/{id}/users` (`limit` ≤ 1000), `GET /api/v1/users/{id}/groups`,
 *   `PUT`/`DELETE /api/v1/groups/{groupId}/users/{userId}` (204, mutating the
 *   model; BUILT_IN and APP_GROUP groups are refused with 403 as Okta does).
 * - Paging by `Link: <…>; rel="self"` and `<…?after=<cursor>&limit=N>; rel="next"`.
 * - `Authorization: SSWS <token>`: an unknown token gets 401 `E0000011`, a
 *   read-only token 403 `E0000006` on writes.
 * - Rate limits per bucket (an endpoint family) in fixed windows:
 *   `X-Rate-Limit-Limit`, `-Remaining`, `-Reset` (epoch seconds) on every
 *   answer of a limited bucket, 429 `E0000047` past the limit (not counted).
 *   Window length and limit are options, so a test or bench can shrink Okta's minute.
 * - `X-Okta-Request-Id` on every answer, a `Date` from the stand-in's clock
 *   (injectable), scripted failures, latency, and a log of every request.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An Okta user as the API returns it (the fields the connector reads). */
export interface OktaUser {
  id: string;
  status: string;
  created: string;
  lastUpdated: string;
  profile: { login: string; email: string; firstName: string; lastName: string; department?: string };
}

/** An Okta group. */
export interface OktaGroup {
  id: string;
  type: "OKTA_GROUP" | "APP_GROUP" | "BUILT_IN";
  profile: { name: string; description: string | null };
}

/** The stand-in's org: users, groups and each group's member user ids. */
export interface OktaModel {
  users: OktaUser[];
  groups: OktaGroup[];
  members: Map<string, string[]>;
}

const STATUSES = [
  "ACTIVE",
  "ACTIVE",
  "ACTIVE",
  "ACTIVE",
  "ACTIVE",
  "SUSPENDED",
  "STAGED",
  "LOCKED_OUT",
  "DEPROVISIONED",
  "PROVISIONED",
  "PASSWORD_EXPIRED",
  "RECOVERY",
];

const pad = (n: number, width = 6) => String(n).padStart(width, "0");
/** The id of generated user `i` (Okta ids are 20 characters starting 00u). */
export const oktaUserId = (i: number) => `00u${pad(i, 17)}`;
/** The id of generated group `i`. */
export const oktaGroupId = (i: number) => `00g${pad(i, 17)}`;

/**
 * A generated org: `users` users (every twelfth status cycles through Okta's
 * statuses, so all appear), `groups` OKTA_GROUPs where user `u` is in group `g`
 * when `(u + g) % spread === 0` (with `spread` default `groups`, every user is in
 * one group), and, with `builtIn`, the BUILT_IN Everyone group holding everyone.
 */
export function generateOktaModel(
  options: { users: number; groups: number; spread?: number; builtIn?: boolean },
): OktaModel {
  const users: OktaUser[] = [];
  for (let i = 0; i < options.users; i++) {
    users.push({
      id: oktaUserId(i),
      status: STATUSES[i % STATUSES.length]!,
      created: "2024-01-02T03:04:05.000Z",
      lastUpdated: "2025-06-07T08:09:10.000Z",
      profile: {
        login: `user${i}@example.com`,
        email: `user${i}@example.com`,
        firstName: `First${i}`,
        lastName: `Last${i}`,
        ...(i % 3 === 0 ? { department: "Engineering" } : {}),
      },
    });
  }
  const groups: OktaGroup[] = [];
  const members = new Map<string, string[]>();
  const spread = options.spread ?? Math.max(1, options.groups);
  for (let g = 0; g < options.groups; g++) {
    const id = oktaGroupId(g);
    groups.push({ id, type: "OKTA_GROUP", profile: { name: `group-${g}`, description: `Group ${g}` } });
    members.set(id, users.filter((_, u) => (u + g) % spread === 0).map((u) => u.id));
  }
  if (options.builtIn) {
    const id = "00g_everyone_000000";
    groups.push({
      id,
      type: "BUILT_IN",
      profile: { name: "Everyone", description: "All users in your organization" },
    });
    members.set(id, users.map((u) => u.id));
  }
  return { users, groups, members };
}

/** Options of {@link startOktaStandIn}. */
export interface OktaStandInOptions {
  /** Valid SSWS tokens; default one, `tokens[0]`. */
  tokens?: string[];
  /** Tokens that may read but not write (403 on PUT/DELETE). */
  readOnlyTokens?: string[];
  /** Requests per window per bucket; unset: no limit and no rate-limit headers. */
  rateLimit?: number;
  /** Window length in ms (Okta: a minute); default 60000. */
  windowMs?: number;
  /** The stand-in's clock (ms); default real time. */
  now?: () => number;
  /** Milliseconds each answer is held back (network and Okta's own time). */
  latencyMs?: number;
}

/** One request as the stand-in saw it. */
export interface OktaRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  bucket: string;
  authorization: string | undefined;
  status?: number;
}

/** A scripted failure of the next `times` requests of a bucket. */
export interface OktaScriptedFailure {
  bucket: string;
  status: number;
  /** For a 429: seconds from now until the reset it announces. */
  resetInSeconds?: number;
  times?: number;
}

const BUCKET_PATTERNS: [RegExp, string, string][] = [
  [/^\/api\/v1\/users$/, "GET", "GET /api/v1/users"],
  [/^\/api\/v1\/groups$/, "GET", "GET /api/v1/groups"],
  [/^\/api\/v1\/groups\/[^/]+\/users$/, "GET", "GET /api/v1/groups/{id}/users"],
  [/^\/api\/v1\/users\/[^/]+\/groups$/, "GET", "GET /api/v1/users/{id}/groups"],
  [/^\/api\/v1\/groups\/[^/]+\/users\/[^/]+$/, "PUT|DELETE", "PUT|DELETE /api/v1/groups/{id}/users/{id}"],
];

function bucketOf(method: string, path: string): string {
  for (const [pattern, methods, bucket] of BUCKET_PATTERNS) {
    if (pattern.test(path) && methods.split("|").includes(method)) return bucket;
  }
  return `${method} ${path}`;
}

/** Okta's error body. */
export function oktaError(errorCode: string, errorSummary: string) {
  return {
    errorCode,
    errorSummary,
    errorLink: errorCode,
    errorId: `oae${randomBytes(11).toString("base64url")}`,
    errorCauses: [],
  };
}

/** Starts the stand-in on a free loopback port, serving `model`. */
export async function startOktaStandIn(model: OktaModel, options: OktaStandInOptions = {}) {
  const tokens = new Set(options.tokens ?? [`00${randomBytes(20).toString("base64url")}`]);
  const readOnly = new Set(options.readOnlyTokens ?? []);
  const now = options.now ?? (() => Date.now());
  const windowMs = options.windowMs ?? 60_000;
  const windows = new Map<string, { reset: number; used: number }>();
  const requests: OktaRecordedRequest[] = [];
  const failures: OktaScriptedFailure[] = [];
  const stats = { requests: 0, throttled: 0 };
  /** Answers held back by `latencyMs`, released at close. */
  const delays = new Set<() => void>();

  const userIndex = () => new Map(model.users.map((u, i) => [u.id, i]));
  const groupById = (id: string) => model.groups.find((g) => g.id === id);

  /** One page of `all` after cursor `after` (the previous page's last id), and the next cursor. */
  function page<T extends { id: string }>(all: T[], query: URLSearchParams, max: number) {
    const limit = Math.min(max, Math.max(1, Number(query.get("limit") ?? max) || max));
    const after = query.get("after");
    const start = after ? all.findIndex((item) => item.id > after) : 0;
    const items = start < 0 ? [] : all.slice(start, start + limit);
    const last = items.at(-1);
    const more = start >= 0 && start + limit < all.length && last !== undefined;
    return { items, limit, next: more ? last.id : undefined };
  }

  function linkHeader(path: string, query: URLSearchParams, limit: number, next: string | undefined): string {
    const self = new URLSearchParams(query);
    self.set("limit", String(limit));
    const links = [`<${url}${path}?${self}>; rel="self"`];
    if (next !== undefined) {
      const after = new URLSearchParams(query);
      after.set("after", next);
      after.set("limit", String(limit));
      links.push(`<${url}${path}?${after}>; rel="next"`);
    }
    return links.join(", ");
  }

  function takeFailure(bucket: string): OktaScriptedFailure | undefined {
    const index = failures.findIndex((f) => f.bucket === bucket);
    if (index < 0) return undefined;
    const failure = failures[index]!;
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) failures.splice(index, 1);
    return failure;
  }

  /** Serves one authorised request: [status, body, extra headers]. */
  function serve(
    method: string,
    path: string,
    query: URLSearchParams,
    token: string,
  ): [number, unknown, Record<string, string>?] {
    let match: RegExpExecArray | null;
    if (method === "GET" && path === "/api/v1/users") {
      const search = query.get("search");
      let users: OktaUser[];
      if (search === null) users = model.users.filter((u) => u.status !== "DEPROVISIONED");
      else {
        const status = /^status eq "([A-Z_]+)"$/.exec(search)?.[1];
        if (!status) return [400, oktaError("E0000031", "Invalid search.")];
        users = model.users.filter((u) => u.status === status);
      }
      const { items, limit, next } = page(users, query, 200);
      return [200, items, { link: linkHeader(path, query, limit, next) }];
    }
    if (method === "GET" && path === "/api/v1/groups") {
      const { items, limit, next } = page(model.groups, query, 10_000);
      return [200, items, { link: linkHeader(path, query, limit, next) }];
    }
    if (method === "GET" && (match = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(path))) {
      const id = decodeURIComponent(match[1]!);
      if (!groupById(id)) {
        return [404, oktaError("E0000007", `Not found: Resource not found: ${id} (UserGroup)`)];
      }
      const index = userIndex();
      const users = (model.members.get(id) ?? []).map((u) => model.users[index.get(u)!]!).sort((a, b) =>
        a.id.localeCompare(b.id)
      );
      const { items, limit, next } = page(users, query, 1000);
      return [200, items, { link: linkHeader(path, query, limit, next) }];
    }
    if (method === "GET" && (match = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(path))) {
      const id = decodeURIComponent(match[1]!);
      if (!model.users.some((u) => u.id === id)) {
        return [404, oktaError("E0000007", `Not found: Resource not found: ${id} (User)`)];
      }
      const groups = model.groups.filter((g) => model.members.get(g.id)?.includes(id));
      return [200, groups];
    }
    if (
      (method === "PUT" || method === "DELETE") &&
      (match = /^\/api\/v1\/groups\/([^/]+)\/users\/([^/]+)$/.exec(path))
    ) {
      if (readOnly.has(token)) {
        return [403, oktaError("E0000006", "You do not have permission to perform the requested action")];
      }
      const groupId = decodeURIComponent(match[1]!);
      const userId = decodeURIComponent(match[2]!);
      const group = groupById(groupId);
      if (!group) {
        return [404, oktaError("E0000007", `Not found: Resource not found: ${groupId} (UserGroup)`)];
      }
      if (!model.users.some((u) => u.id === userId)) {
        return [404, oktaError("E0000007", `Not found: Resource not found: ${userId} (User)`)];
      }
      if (group.type !== "OKTA_GROUP") {
        return [403, oktaError("E0000006", "You do not have permission to perform the requested action")];
      }
      const members = model.members.get(groupId) ?? [];
      const at = members.indexOf(userId);
      if (method === "PUT" && at < 0) members.push(userId);
      if (method === "DELETE" && at >= 0) members.splice(at, 1);
      model.members.set(groupId, members);
      return [204, undefined];
    }
    return [404, oktaError("E0000022", "The endpoint does not support the provided HTTP method")];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req) { /* drain the body */ }
    const parsed = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    const bucket = bucketOf(method, parsed.pathname);
    const recorded: OktaRecordedRequest = {
      method,
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      bucket,
      authorization: req.headers.authorization,
    };
    requests.push(recorded);
    stats.requests++;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-okta-request-id": randomBytes(15).toString("base64url"),
      date: new Date(now()).toUTCString(),
    };
    const send = async (status: number, body: unknown, extra: Record<string, string> = {}) => {
      if (options.latencyMs) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            delays.delete(finish);
            resolve();
          }, options.latencyMs);
          const finish = () => {
            clearTimeout(timer);
            resolve();
          };
          delays.add(finish);
        });
      }
      recorded.status = status;
      if (status === 429) stats.throttled++;
      res.writeHead(status, { ...headers, ...extra });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const token = /^SSWS (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !tokens.has(token)) return await send(401, oktaError("E0000011", "Invalid token provided"));
    if (options.rateLimit !== undefined) {
      const t = now();
      let window = windows.get(bucket);
      if (!window || t >= window.reset * 1000) {
        window = { reset: Math.ceil((t + windowMs) / 1000), used: 0 };
        windows.set(bucket, window);
      }
      const over = window.used >= options.rateLimit;
      if (!over) window.used++;
      headers["x-rate-limit-limit"] = String(options.rateLimit);
      headers["x-rate-limit-remaining"] = String(Math.max(0, options.rateLimit - window.used));
      headers["x-rate-limit-reset"] = String(window.reset);
      if (over) {
        return await send(
          429,
          oktaError("E0000047", "API call exceeded rate limit due to too many requests."),
        );
      }
    }
    const failure = takeFailure(bucket);
    if (failure) {
      if (failure.status === 429) {
        headers["x-rate-limit-limit"] = String(options.rateLimit ?? 600);
        headers["x-rate-limit-remaining"] = "0";
        headers["x-rate-limit-reset"] = String(Math.ceil(now() / 1000) + (failure.resetInSeconds ?? 1));
        return await send(
          429,
          oktaError("E0000047", "API call exceeded rate limit due to too many requests."),
        );
      }
      return await send(failure.status, oktaError("E0000009", "Internal Server Error"));
    }
    const [status, body, extra] = serve(method, parsed.pathname, parsed.searchParams, token);
    await send(status, body, extra);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    model,
    /** The valid tokens (the first is the default one). */
    tokens: [...tokens],
    requests,
    stats,
    /** Scripts the next `times` (default 1) requests of a bucket to fail. */
    fail(failure: OktaScriptedFailure) {
      failures.push(failure);
    },
    /** Members of a group, by user id. */
    membersOf(groupId: string): string[] {
      return [...(model.members.get(groupId) ?? [])];
    },
    async close() {
      for (const finish of delays) finish();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type OktaStandIn = Awaited<ReturnType<typeof startOktaStandIn>>;
