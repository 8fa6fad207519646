/**
 * A stand-in for the Authentik API v3 the Authentik connector uses: a real
 * HTTP server on 127.0.0.1 speaking Authentik's documented wire format (Django
 * REST Framework).
 *
 * - `GET /api/v3/core/users/` and `GET /api/v3/core/groups/` with `page` and
 *   `page_size`, answering `{"pagination": {next, previous, count, current,
 *   total_pages, start_index, end_index}, "results": [...], "autocomplete": {}}`
 *   (`next` and `previous` are page numbers, 0 when there is none); groups
 *   carry `users` (user pks) unless `include_users=false`, and `parents` (or,
 *   with `legacyParent`, an older version's single `parent`).
 * - `GET /api/v3/core/groups/{pk}/`, `POST /api/v3/core/groups/{pk}/add_user/`
 *   and `remove_user/` with `{"pk": <user pk>}` (204, mutating the model; 404
 *   for an unknown group or user, 400 without `pk`).
 * - Bearer tokens: an unknown one gets 401 `{"detail": "Token invalid/expired"}`,
 *   a read-only one 403 on writes; `X-authentik-id` on every answer; scripted
 *   failures (429 with `Retry-After`, 5xx); a log of every request.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";

/** An Authentik user (the fields the connector reads, and a few more). */
export interface AuthentikUser {
  pk: number;
  username: string;
  name: string;
  is_active: boolean;
  email: string;
  type: "internal" | "external" | "service_account" | "internal_service_account";
  uuid: string;
  path: string;
  is_superuser: boolean;
  last_login: string | null;
  attributes: Record<string, unknown>;
}

/** An Authentik group. */
export interface AuthentikGroup {
  pk: string;
  num_pk: number;
  name: string;
  is_superuser: boolean;
  parents: string[];
  users: number[];
  attributes: Record<string, unknown>;
}

/** The stand-in's instance. */
export interface AuthentikModel {
  users: AuthentikUser[];
  groups: AuthentikGroup[];
}

/** The pk of generated group `i` (a UUID). */
export const authentikGroupPk = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

/**
 * A generated instance: `users` users (pk from 1; every 10th inactive, every
 * 25th a service account), `groups` groups where user `u` is in group `g` when
 * `u % groups === g`, and group `g > 0` nested under group `floor((g-1)/2)` (a
 * binary tree), plus, with `cycle`, group 0 under the last group.
 */
export function generateAuthentikModel(
  options: { users: number; groups: number; cycle?: boolean },
): AuthentikModel {
  const users: AuthentikUser[] = [];
  for (let i = 1; i <= options.users; i++) {
    users.push({
      pk: i,
      username: `user${i}`,
      name: `User ${i}`,
      is_active: i % 10 !== 0,
      email: `user${i}@example.com`,
      type: i % 25 === 0 ? "internal_service_account" : "internal",
      uuid: randomUUID(),
      path: "users",
      is_superuser: i === 1,
      last_login: i % 2 === 0 ? "2025-11-01T10:00:00.000000Z" : null,
      attributes: { "settings": { locale: "en" }, secretNote: "do-not-copy" },
    });
  }
  const groups: AuthentikGroup[] = [];
  for (let g = 0; g < options.groups; g++) {
    groups.push({
      pk: authentikGroupPk(g),
      num_pk: 1000 + g,
      name: `group-${g}`,
      is_superuser: g === 0,
      parents: g > 0 ? [authentikGroupPk(Math.floor((g - 1) / 2))] : [],
      users: users.filter((u) => u.pk % options.groups === g).map((u) => u.pk),
      attributes: {},
    });
  }
  if (options.cycle && groups.length > 1) groups[0]!.parents = [groups.at(-1)!.pk];
  return { users, groups };
}

/** Options of {@link startAuthentikStandIn}. */
export interface AuthentikStandInOptions {
  tokens?: string[];
  readOnlyTokens?: string[];
  /** Answer groups as Authentik did before nested groups had several parents: `parent` (one pk or null). */
  legacyParent?: boolean;
  /** Largest `page_size` honoured (Authentik's paginator caps it); default 1000. */
  maxPageSize?: number;
  latencyMs?: number;
}

/** One request as the stand-in saw it. */
export interface AuthentikRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body?: unknown;
  status?: number;
}

/** A scripted failure of the next `times` requests whose path matches. */
export interface AuthentikScriptedFailure {
  path: RegExp;
  status: number;
  retryAfter?: string;
  times?: number;
}

/** Starts the stand-in on a free loopback port, serving `model`. */
export async function startAuthentikStandIn(model: AuthentikModel, options: AuthentikStandInOptions = {}) {
  const tokens = new Set(options.tokens ?? [randomBytes(30).toString("base64url")]);
  const readOnly = new Set(options.readOnlyTokens ?? []);
  const requests: AuthentikRecordedRequest[] = [];
  const failures: AuthentikScriptedFailure[] = [];
  const delays = new Set<() => void>();

  function paginate<T>(all: T[], query: URLSearchParams) {
    const size = Math.min(
      options.maxPageSize ?? 1000,
      Math.max(1, Number(query.get("page_size") ?? 20) || 20),
    );
    const pages = Math.max(1, Math.ceil(all.length / size));
    const current = Number(query.get("page") ?? 1);
    if (!Number.isInteger(current) || current < 1 || current > pages) return undefined;
    const results = all.slice((current - 1) * size, current * size);
    const start = results.length === 0 ? 0 : (current - 1) * size + 1;
    return {
      pagination: {
        next: current < pages ? current + 1 : 0,
        previous: current > 1 ? current - 1 : 0,
        count: all.length,
        current,
        total_pages: pages,
        start_index: start,
        end_index: results.length === 0 ? 0 : start + results.length - 1,
      },
      results,
      autocomplete: {},
    };
  }

  function groupJson(group: AuthentikGroup, includeUsers: boolean) {
    const { parents, users, ...rest } = group;
    return {
      ...rest,
      ...(options.legacyParent ? { parent: parents[0] ?? null } : { parents }),
      ...(includeUsers ? { users } : {}),
      users_obj: null,
      roles: [],
    };
  }

  function serve(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    token: string,
  ): [number, unknown] {
    let match: RegExpExecArray | null;
    if (method === "GET" && path === "/api/v3/core/users/") {
      const page = paginate([...model.users].sort((a, b) => a.pk - b.pk), query);
      return page ? [200, page] : [404, { detail: "Invalid page." }];
    }
    if (method === "GET" && path === "/api/v3/core/groups/") {
      const sorted = [...model.groups].sort((a, b) => a.name.localeCompare(b.name));
      const page = paginate(sorted, query);
      const includeUsers = query.get("include_users") !== "false";
      return page
        ? [200, { ...page, results: page.results.map((g) => groupJson(g, includeUsers)) }]
        : [404, { detail: "Invalid page." }];
    }
    if ((match = /^\/api\/v3\/core\/groups\/([^/]+)\/(?:(add_user|remove_user)\/)?$/.exec(path))) {
      const group = model.groups.find((g) => g.pk === decodeURIComponent(match![1]!));
      const action = match[2];
      if (method === "GET" && !action) {
        return group
          ? [200, groupJson(group, query.get("include_users") !== "false")]
          : [404, { detail: "Not found." }];
      }
      if (method === "POST" && action) {
        if (readOnly.has(token)) {
          return [403, { detail: "You do not have permission to perform this action." }];
        }
        if (!group) return [404, { detail: "Not found." }];
        const pk = (body as { pk?: unknown } | undefined)?.pk;
        if (typeof pk !== "number") return [400, { pk: ["This field is required."] }];
        if (!model.users.some((u) => u.pk === pk)) return [404, { detail: "Not found." }];
        const at = group.users.indexOf(pk);
        if (action === "add_user" && at < 0) group.users.push(pk);
        if (action === "remove_user" && at >= 0) group.users.splice(at, 1);
        return [204, undefined];
      }
    }
    return [404, { detail: "Not found." }];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const text = Buffer.concat(chunks).toString();
    const parsed = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const recorded: AuthentikRecordedRequest = {
      method,
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      authorization: req.headers.authorization,
      ...(body !== undefined ? { body } : {}),
    };
    requests.push(recorded);
    const send = async (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      if (options.latencyMs) {
        await new Promise<void>((resolve) => {
          const finish = () => {
            clearTimeout(timer);
            delays.delete(finish);
            resolve();
          };
          const timer = setTimeout(finish, options.latencyMs);
          delays.add(finish);
        });
      }
      recorded.status = status;
      res.writeHead(status, {
        "content-type": "application/json",
        "x-authentik-id": randomUUID().replaceAll("-", ""),
        "x-powered-by": "authentik",
        ...extra,
      });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token || !tokens.has(token)) {
      return await send(401, { detail: "Token invalid/expired" }, {
        "www-authenticate": 'Bearer realm="authentik"',
      });
    }
    const index = failures.findIndex((f) => f.path.test(parsed.pathname));
    if (index >= 0) {
      const failure = failures[index]!;
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) failures.splice(index, 1);
      const detail = failure.status === 429 ? "Request was throttled." : "A server error occurred.";
      return await send(
        failure.status,
        { detail },
        failure.retryAfter ? { "retry-after": failure.retryAfter } : {},
      );
    }
    const [status, payload] = serve(method, parsed.pathname, parsed.searchParams, body, token);
    await send(status, payload);
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
    tokens: [...tokens],
    requests,
    /** Scripts the next `times` (default 1) requests whose path matches to fail. */
    fail(failure: AuthentikScriptedFailure) {
      failures.push(failure);
    },
    /** A group's member pks. */
    membersOf(groupPk: string): number[] {
      return [...(model.groups.find((g) => g.pk === groupPk)?.users ?? [])];
    },
    async close() {
      for (const finish of delays) finish();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type AuthentikStandIn = Awaited<ReturnType<typeof startAuthentikStandIn>>;
