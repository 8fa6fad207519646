/**
 * A stand-in for the Google Workspace Admin SDK Directory API v1 and Google's
 * OAuth token endpoint, as the Google Workspace connector uses them: a real
 * HTTP server on 127.0.0.1 speaking Google's documented wire format.
 *
 * - `POST /token`: a JWT-bearer assertion (RS256) verified with the service
 *   account's public key, its `aud`, `exp`, `scope` and `sub` checked: an
 *   unknown subject gets `invalid_grant`, scopes the delegation does not grant
 *   `unauthorized_client`. The access token it issues carries the subject and
 *   scopes.
 * - `GET /admin/directory/v1/users` (`customer`, `maxResults` ≤ 500),
 *   `/groups` (≤ 200), `/groups/{groupKey}/members` (≤ 200),
 *   `/customer/{customer}/orgunits?type=all`; `pageToken`/`nextPageToken`
 *   paging; each endpoint needs its read-only scope (403
 *   `insufficientPermissions` otherwise) and a token it issued (401).
 * - Google's JSON error body, scripted failures (429, 403
 *   `rateLimitExceeded`, 5xx, with `Retry-After`), and a log of every request.
 */
import { Buffer } from "node:buffer";
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Google's token endpoint: the audience google-auth-library signs its assertions for. */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

const SCOPE = "https://www.googleapis.com/auth/admin.directory.";
/** Which scope each endpoint needs (a read-write scope would do too). */
const NEEDS = { users: "user", groups: "group", members: "group", orgunits: "orgunit" } as const;

type Json = Record<string, unknown>;

/** An account: users, groups, members per group id, org units. */
export interface WorkspaceModel {
  customerId: string;
  users: Json[];
  groups: Json[];
  members: Map<string, Json[]>;
  orgUnits: Json[];
}

/** The id of generated user `i`. */
export const workspaceUserId = (i: number) => `1${String(i).padStart(20, "0")}`;
/** The id of generated group `i`. */
export const workspaceGroupId = (i: number) => `03${String(i).padStart(13, "0")}`;

/**
 * A generated account: org units `/Engineering`, `/Engineering/Backend` and
 * `/Sales` under the root; `users` users (every 7th suspended, every 11th
 * archived, spread over the root and the three units); `groups` groups where
 * user `u` is a member of group `u % groups`, and group `g > 0` is a member of
 * group `floor((g-1)/2)`; group 0 also has the whole customer as a member.
 */
export function generateWorkspaceModel(options: { users: number; groups: number }): WorkspaceModel {
  const customerId = "C03az79cb";
  const root = "id:03ph8a2z0root";
  const orgUnits = [
    {
      orgUnitId: "id:03ph8a2z1eng",
      orgUnitPath: "/Engineering",
      name: "Engineering",
      parentOrgUnitPath: "/",
      parentOrgUnitId: root,
    },
    {
      orgUnitId: "id:03ph8a2z2be",
      orgUnitPath: "/Engineering/Backend",
      name: "Backend",
      parentOrgUnitPath: "/Engineering",
      parentOrgUnitId: "id:03ph8a2z1eng",
    },
    {
      orgUnitId: "id:03ph8a2z3sal",
      orgUnitPath: "/Sales",
      name: "Sales",
      parentOrgUnitPath: "/",
      parentOrgUnitId: root,
    },
  ].map((u) => ({
    kind: "admin#directory#orgUnit",
    etag: '"e"',
    description: "",
    blockInheritance: false,
    ...u,
  }));
  const paths = ["/", "/Engineering", "/Engineering/Backend", "/Sales"];
  const users: Json[] = [];
  for (let i = 0; i < options.users; i++) {
    users.push({
      kind: "admin#directory#user",
      id: workspaceUserId(i),
      primaryEmail: `user${i}@example.com`,
      name: { givenName: `Given${i}`, familyName: `Family${i}`, fullName: `Given${i} Family${i}` },
      isAdmin: i === 0,
      isDelegatedAdmin: false,
      suspended: i % 7 === 6,
      ...(i % 7 === 6 ? { suspensionReason: "ADMIN" } : {}),
      archived: i % 11 === 10,
      orgUnitPath: paths[i % paths.length],
      customerId,
      creationTime: "2024-03-04T05:06:07.000Z",
      lastLoginTime: "2025-10-11T12:13:14.000Z",
      isEnrolledIn2Sv: i % 2 === 0,
    });
  }
  const groups: Json[] = [];
  const members = new Map<string, Json[]>();
  for (let g = 0; g < options.groups; g++) {
    const id = workspaceGroupId(g);
    groups.push({
      kind: "admin#directory#group",
      id,
      email: `group${g}@example.com`,
      name: `Group ${g}`,
      description: "",
      adminCreated: true,
    });
    const list: Json[] = users.filter((_, u) => u % options.groups === g).map((u) => ({
      kind: "admin#directory#member",
      id: u.id,
      email: u.primaryEmail,
      role: "MEMBER",
      type: "USER",
      status: "ACTIVE",
    }));
    members.set(id, list);
  }
  for (let g = 1; g < options.groups; g++) {
    members.get(workspaceGroupId(Math.floor((g - 1) / 2)))!.push({
      kind: "admin#directory#member",
      id: workspaceGroupId(g),
      email: `group${g}@example.com`,
      role: "MEMBER",
      type: "GROUP",
      status: "ACTIVE",
    });
  }
  if (options.groups > 0) {
    members.get(workspaceGroupId(0))!.push({
      kind: "admin#directory#member",
      id: customerId,
      role: "MEMBER",
      type: "CUSTOMER",
    });
  }
  for (const group of groups) group.directMembersCount = String(members.get(group.id as string)!.length);
  return { customerId, users, groups, members, orgUnits };
}

/** A service account key (as Google's JSON key file) for the stand-in's token endpoint, and its public key. */
export function workspaceServiceAccount(tokenUri: string, subject: string) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const key = {
    type: "service_account" as const,
    project_id: "troupe-test",
    private_key_id: randomBytes(20).toString("hex"),
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: "directory-sync@troupe-test.iam.gserviceaccount.com",
    client_id: "104857600000000000001",
    token_uri: tokenUri,
  };
  return {
    key,
    credentials: { ...key, subject },
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Google's JSON error body. */
function googleError(code: number, status: string, reason: string, message: string) {
  return { error: { code, message, errors: [{ message, domain: "global", reason }], status } };
}

/** One request as the stand-in saw it. */
export interface WorkspaceRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  route: string;
  authorization: string | undefined;
  /** For `token`: the assertion's claims and whether its signature verified. */
  assertion?: { iss: unknown; sub: unknown; aud: unknown; scope: unknown; signatureValid: boolean };
  status?: number;
}

/** A scripted failure of the next `times` requests of a route. */
export interface WorkspaceScriptedFailure {
  route: "token" | "users" | "groups" | "members" | "orgunits";
  status: number;
  reason?: string;
  retryAfter?: string;
  times?: number;
}

/** Starts the stand-in; `delegation` maps admins who may be impersonated to nothing, and lists the granted scopes. */
export async function startWorkspaceStandIn(
  model: WorkspaceModel,
  delegation: { admins: string[]; scopes: string[] },
  options: { latencyMs?: number } = {},
) {
  const keys = new Map<string, string>();
  const issued = new Map<string, { sub: string; scopes: string[] }>();
  const requests: WorkspaceRecordedRequest[] = [];
  const failures: WorkspaceScriptedFailure[] = [];
  const delays = new Set<() => void>();

  function paged(
    all: Json[],
    query: URLSearchParams,
    max: number,
    route: string,
  ): { items: Json[]; next?: string } {
    const size = Math.min(max, Math.max(1, Number(query.get("maxResults") ?? max) || max));
    let offset = 0;
    const token = query.get("pageToken");
    if (token) {
      const decoded = (() => {
        try {
          return JSON.parse(Buffer.from(token, "base64url").toString()) as {
            route?: unknown;
            offset?: unknown;
          };
        } catch {
          return undefined;
        }
      })();
      if (decoded?.route !== route || typeof decoded.offset !== "number") {
        throw [400, googleError(400, "INVALID_ARGUMENT", "invalid", "Invalid Input: pageToken")];
      }
      offset = decoded.offset;
    }
    const items = all.slice(offset, offset + size);
    const end = offset + items.length;
    return end < all.length
      ? { items, next: Buffer.from(JSON.stringify({ route, offset: end })).toString("base64url") }
      : { items };
  }

  function exchange(body: string, recorded: WorkspaceRecordedRequest): [number, Json] {
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return [400, { error: "unsupported_grant_type", error_description: "Invalid grant_type." }];
    }
    const [header = "", payload = "", signature = ""] = (form.get("assertion") ?? "").split(".");
    let claims: Json;
    let alg: unknown;
    try {
      alg = JSON.parse(Buffer.from(header, "base64url").toString()).alg;
      claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    } catch {
      return [400, { error: "invalid_grant", error_description: "Invalid JWT." }];
    }
    const publicKey = keys.get(String(claims.iss));
    const signatureValid = alg === "RS256" && publicKey !== undefined &&
      verify(
        "RSA-SHA256",
        Buffer.from(`${header}.${payload}`),
        publicKey,
        Buffer.from(signature, "base64url"),
      );
    recorded.assertion = {
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      scope: claims.scope,
      signatureValid,
    };
    if (!publicKey) {
      return [400, { error: "invalid_grant", error_description: "Invalid grant: account not found" }];
    }
    if (!signatureValid) {
      return [400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }];
    }
    if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== `${url}/token`) {
      return [400, { error: "invalid_grant", error_description: "Invalid JWT: audience" }];
    }
    if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) {
      return [400, {
        error: "invalid_grant",
        error_description: "Invalid JWT: Token must be a short-lived token",
      }];
    }
    if (typeof claims.sub !== "string" || !delegation.admins.includes(claims.sub)) {
      return [400, { error: "invalid_grant", error_description: "Invalid email or User ID" }];
    }
    const scopes = String(claims.scope ?? "").split(" ").filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !delegation.scopes.includes(s))) {
      return [401, {
        error: "unauthorized_client",
        error_description:
          "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
      }];
    }
    const token = `ya29.${randomBytes(48).toString("base64url")}`;
    issued.set(token, { sub: claims.sub, scopes });
    return [200, { access_token: token, expires_in: 3599, token_type: "Bearer" }];
  }

  function routeOf(
    method: string,
    path: string,
  ): { route: WorkspaceScriptedFailure["route"]; key?: string } | undefined {
    if (method === "POST" && path === "/token") return { route: "token" };
    if (method !== "GET") return undefined;
    if (path === "/admin/directory/v1/users") return { route: "users" };
    if (path === "/admin/directory/v1/groups") return { route: "groups" };
    let m = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(path);
    if (m) return { route: "members", key: decodeURIComponent(m[1]!) };
    m = /^\/admin\/directory\/v1\/customer\/([^/]+)\/orgunits$/.exec(path);
    if (m) return { route: "orgunits", key: decodeURIComponent(m[1]!) };
    return undefined;
  }

  function serve(route: string, key: string | undefined, query: URLSearchParams): [number, unknown] {
    const customerOk = (c: string | null | undefined) => c === "my_customer" || c === model.customerId;
    if (route === "users") {
      if (!customerOk(query.get("customer"))) {
        return [400, googleError(400, "INVALID_ARGUMENT", "badRequest", "Bad Request")];
      }
      const { items, next } = paged(model.users, query, 500, "users");
      return [200, {
        kind: "admin#directory#users",
        etag: '"u"',
        users: items,
        ...(next ? { nextPageToken: next } : {}),
      }];
    }
    if (route === "groups") {
      if (!customerOk(query.get("customer"))) {
        return [400, googleError(400, "INVALID_ARGUMENT", "badRequest", "Bad Request")];
      }
      const { items, next } = paged(model.groups, query, 200, "groups");
      return [200, {
        kind: "admin#directory#groups",
        etag: '"g"',
        groups: items,
        ...(next ? { nextPageToken: next } : {}),
      }];
    }
    if (route === "members") {
      const group = model.groups.find((g) => g.id === key || g.email === key);
      if (!group) return [404, googleError(404, "NOT_FOUND", "notFound", "Resource Not Found: groupKey")];
      const { items, next } = paged(
        model.members.get(group.id as string) ?? [],
        query,
        200,
        `members/${group.id}`,
      );
      return [200, {
        kind: "admin#directory#members",
        etag: '"m"',
        members: items,
        ...(next ? { nextPageToken: next } : {}),
      }];
    }
    if (!customerOk(key)) return [400, googleError(400, "INVALID_ARGUMENT", "badRequest", "Bad Request")];
    return [200, {
      kind: "admin#directory#orgUnits",
      etag: '"o"',
      organizationUnits: query.get("type") === "all"
        ? model.orgUnits
        : model.orgUnits.filter((u) => u.parentOrgUnitPath === "/"),
    }];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const body = Buffer.concat(chunks).toString();
    const parsed = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    const match = routeOf(method, parsed.pathname);
    const recorded: WorkspaceRecordedRequest = {
      method,
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      route: match?.route ?? "unknown",
      authorization: req.headers.authorization,
    };
    requests.push(recorded);
    const send = async (status: number, payload: unknown, headers: Record<string, string> = {}) => {
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
      res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
      res.end(JSON.stringify(payload));
    };
    if (!match) {
      return await send(404, googleError(404, "NOT_FOUND", "notFound", `Not Found: ${parsed.pathname}`));
    }
    const index = failures.findIndex((f) => f.route === match.route);
    if (index >= 0) {
      const failure = failures[index]!;
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) failures.splice(index, 1);
      const reason = failure.reason ?? (failure.status === 429 ? "rateLimitExceeded" : "backendError");
      const status = failure.status === 429 || reason === "rateLimitExceeded"
        ? "RESOURCE_EXHAUSTED"
        : failure.status === 403
        ? "PERMISSION_DENIED"
        : "UNAVAILABLE";
      return await send(
        failure.status,
        googleError(failure.status, status, reason, "Scripted failure"),
        failure.retryAfter ? { "retry-after": failure.retryAfter } : {},
      );
    }
    if (match.route === "token") {
      const [status, payload] = exchange(body, recorded);
      return await send(status, payload);
    }
    const grant = issued.get(/^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "");
    if (!grant) {
      return await send(
        401,
        googleError(
          401,
          "UNAUTHENTICATED",
          "authError",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        ),
        { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    const area = NEEDS[match.route as keyof typeof NEEDS];
    if (!grant.scopes.some((s) => s === `${SCOPE}${area}` || s === `${SCOPE}${area}.readonly`)) {
      return await send(
        403,
        googleError(
          403,
          "PERMISSION_DENIED",
          "insufficientPermissions",
          "Request had insufficient authentication scopes.",
        ),
      );
    }
    try {
      const [status, payload] = serve(match.route, match.key, parsed.searchParams);
      await send(status, payload);
    } catch (error) {
      if (!Array.isArray(error)) throw error;
      await send(error[0] as number, error[1]);
    }
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
    tokenUrl: `${url}/token`,
    model,
    requests,
    /** Trusts a service account: its assertions must verify with this public key (PEM). */
    trustKey(clientEmail: string, publicKeyPem: string) {
      keys.set(clientEmail, createPublicKey(publicKeyPem).export({ type: "spki", format: "pem" }).toString());
    },
    /** Access tokens issued so far. */
    issued,
    fail(failure: WorkspaceScriptedFailure) {
      failures.push(failure);
    },
    requestsOf(route: string) {
      return requests.filter((r) => r.route === route);
    },
    async close() {
      for (const finish of delays) finish();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type WorkspaceStandIn = Awaited<ReturnType<typeof startWorkspaceStandIn>>;
