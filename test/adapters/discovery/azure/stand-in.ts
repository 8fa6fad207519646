/**
 * A stand-in for Azure Resource Manager and the Microsoft identity platform: a
 * real HTTPS server on 127.0.0.1 (MSAL refuses an http authority) with a
 * certificate of a throwaway test CA. It speaks their wire formats:
 *
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration` (the authority
 *   metadata MSAL fetches first) and `POST /{tenant}/oauth2/v2.0/token`
 *   (client credentials grant; `invalid_client` / AADSTS7000215 with 401 for a
 *   wrong secret);
 * - `GET /subscriptions/{sub}/providers/{namespace}/{type}?api-version=…`
 *   for virtual machines, virtual networks, storage accounts and managed
 *   clusters: `{ value, nextLink }` pages, `nextLink` an absolute URL back here
 *   with a `$skiptoken`; bearer tokens it issued are required (audience
 *   checked), ARM error bodies `{ error: { code, message } }` otherwise.
 *
 * It records every request and can be told to fail the next requests of a
 * route (status, code, `Retry-After`).
 */
import { Buffer } from "node:buffer";
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createTestPki } from "../../../support/certificates.ts";

/** The collections the stand-in serves, by ARM provider namespace and type. */
export const COLLECTIONS = {
  virtualMachines: "Microsoft.Compute/virtualMachines",
  virtualNetworks: "Microsoft.Network/virtualNetworks",
  storageAccounts: "Microsoft.Storage/storageAccounts",
  managedClusters: "Microsoft.ContainerService/managedClusters",
} as const;
export type Collection = keyof typeof COLLECTIONS;
/** A route of the stand-in: a collection, or the identity endpoints. */
export type Route = Collection | "token" | "openid";

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  route: Route | "unknown";
  method: string;
  path: string;
  query: Record<string, string>;
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
  /** For token requests: the form fields other than `client_secret`. */
  form?: Record<string, string>;
  /** For token requests: whether a `client_secret` was sent and matched. */
  secretMatched?: boolean;
  /** The status answered; 0 while stalled. */
  status?: number;
}

/** A scripted failure for the next request of a route. */
export interface ScriptedFault {
  status: number;
  /** ARM `error.code`, or the OAuth `error` for token requests. */
  code: string;
  message?: string;
  /** A `Retry-After` header value (seconds, or an HTTP date). */
  retryAfter?: string;
}

/** An application registration the token endpoint knows. */
export interface StandInApp {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** Options of {@link startAzureStandIn}. */
export interface AzureStandInOptions {
  /** Items per page (default 2). */
  pageSize?: number;
}

const armError = (code: string, message: string) => JSON.stringify({ error: { code, message } });

/** Starts the stand-in on a free loopback port. */
export async function startAzureStandIn(options: AzureStandInOptions = {}) {
  const pki = createTestPki();
  const app: StandInApp = {
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: `Qx8~${randomBytes(24).toString("base64url")}`,
  };
  const state = { pageSize: options.pageSize ?? 2 };
  const issued = new Map<string, { audience: string; expiresAt: number }>();
  const requests: RecordedRequest[] = [];
  const faults = new Map<Route, ScriptedFault[]>();
  const stalls = new Map<Route, number>();
  const data = new Map<string, Record<string, unknown>[]>();
  let base = "";

  const items = (subscription: string, collection: Collection) => {
    const key = `${subscription.toLowerCase()} ${collection}`;
    let list = data.get(key);
    if (!list) data.set(key, list = []);
    return list;
  };

  function send(
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) {
    record.status = status;
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-ms-request-id": randomUUID(),
      ...headers,
    });
    res.end(body);
  }

  function takeFault(route: Route): ScriptedFault | undefined {
    return faults.get(route)?.shift();
  }

  function openid(tenant: string) {
    const root = `${base}/${tenant}`;
    return JSON.stringify({
      token_endpoint: `${root}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${root}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      issuer: `${root}/v2.0`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      tenant_region_scope: "EU",
    });
  }

  function token(res: ServerResponse, record: RecordedRequest, tenant: string, body: string) {
    const form = Object.fromEntries(new URLSearchParams(body));
    const { client_secret: secret, ...rest } = form;
    record.form = rest;
    record.secretMatched = secret === app.clientSecret;
    const fail = (status: number, error: string, description: string) =>
      send(
        res,
        record,
        status,
        JSON.stringify({
          error,
          error_description:
            `${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${
              new Date().toISOString()
            }`,
          error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
          timestamp: new Date().toISOString(),
        }),
      );
    if (tenant !== app.tenantId) {
      return fail(400, "invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`);
    }
    if (form.grant_type !== "client_credentials") {
      return fail(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    if (form.client_id !== app.clientId) {
      return fail(
        400,
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${form.client_id}' was not found in the directory.`,
      );
    }
    if (!record.secretMatched) {
      return fail(
        401,
        "invalid_client",
        `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
    const scope = form.scope ?? "";
    const accessToken = `eyJ0eXAiOiJKV1Qi.${randomBytes(48).toString("base64url")}`;
    issued.set(accessToken, {
      audience: scope.replace(/\/\.default$/, ""),
      expiresAt: Date.now() + 3599_000,
    });
    send(
      res,
      record,
      200,
      JSON.stringify({
        token_type: "Bearer",
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: accessToken,
      }),
    );
  }

  function list(
    res: ServerResponse,
    record: RecordedRequest,
    url: URL,
    subscription: string,
    collection: Collection,
  ) {
    const bearer = /^Bearer (.+)$/.exec(record.authorization ?? "")?.[1];
    const grant = bearer === undefined ? undefined : issued.get(bearer);
    if (!bearer) {
      return send(
        res,
        record,
        401,
        armError("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
      );
    }
    if (!grant || grant.expiresAt < Date.now()) {
      return send(res, record, 401, armError("InvalidAuthenticationToken", "The access token is invalid."));
    }
    if (grant.audience !== base) {
      return send(
        res,
        record,
        401,
        armError(
          "InvalidAuthenticationTokenAudience",
          "The access token has been obtained for wrong audience or resource.",
        ),
      );
    }
    if (!url.searchParams.get("api-version")) {
      return send(
        res,
        record,
        400,
        armError(
          "MissingApiVersionParameter",
          "The api-version query parameter (?api-version=) is required for all requests.",
        ),
      );
    }
    const skip = url.searchParams.get("$skiptoken");
    const offset = skip === null
      ? 0
      : Number(Buffer.from(skip, "base64url").toString("utf8").replace(/^offset:/, ""));
    if (!Number.isInteger(offset) || offset < 0) {
      return send(res, record, 400, armError("InvalidSkipToken", "The skip token is not valid."));
    }
    const all = items(subscription, collection);
    const value = all.slice(offset, offset + state.pageSize);
    const body: Record<string, unknown> = { value };
    if (offset + state.pageSize < all.length) {
      const next = new URL(url.pathname, base);
      next.searchParams.set("api-version", url.searchParams.get("api-version") ?? "");
      next.searchParams.set(
        "$skiptoken",
        Buffer.from(`offset:${offset + state.pageSize}`).toString("base64url"),
      );
      body.nextLink = next.toString();
    }
    send(res, record, 200, JSON.stringify(body), { "x-ms-ratelimit-remaining-subscription-reads": "11999" });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? "/", base);
    const record: RecordedRequest = {
      route: "unknown",
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
    };
    requests.push(record);
    const segments = url.pathname.split("/").filter(Boolean);
    const collection = (Object.keys(COLLECTIONS) as Collection[]).find((name) =>
      segments.length === 5 && segments[0] === "subscriptions" && segments[2] === "providers" &&
      `${segments[3]}/${segments[4]}`.toLowerCase() === COLLECTIONS[name].toLowerCase()
    );
    if (req.method === "GET" && /^\/[^/]+\/v2\.0\/\.well-known\/openid-configuration$/.test(url.pathname)) {
      record.route = "openid";
    } else if (req.method === "POST" && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
      record.route = "token";
    } else if (req.method === "GET" && collection) {
      record.route = collection;
    } else {
      return send(res, record, 404, armError("NotFound", `No route for ${req.method} ${url.pathname}`));
    }
    const stalled = stalls.get(record.route) ?? 0;
    if (stalled > 0) {
      stalls.set(record.route, stalled - 1);
      record.status = 0;
      return; // never answers; close() drops the connection
    }
    const fault = takeFault(record.route);
    if (fault) {
      const headers: Record<string, string> = fault.retryAfter === undefined
        ? {}
        : { "retry-after": fault.retryAfter };
      const message = fault.message ?? `Scripted ${fault.code}`;
      const text = record.route === "token" || record.route === "openid"
        ? JSON.stringify({ error: fault.code, error_description: message })
        : armError(fault.code, message);
      return send(res, record, fault.status, text, headers);
    }
    if (record.route === "openid") return send(res, record, 200, openid(segments[0] ?? ""));
    if (record.route === "token") return token(res, record, segments[0] ?? "", body);
    list(res, record, url, segments[1] ?? "", record.route);
  }

  const server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    /** `https://127.0.0.1:<port>`: both the authority host and the ARM endpoint. */
    url: base,
    /** The test CA (PEM) that signed the server certificate. */
    ca: pki.ca.cert,
    /** The one application registration (tenant, client id, secret). */
    app,
    requests,
    /** Access tokens issued so far. */
    issuedTokens: () => [...issued.keys()],
    /** The ARM JSON items of a subscription's collection (push to add). */
    items,
    setPageSize(size: number) {
      state.pageSize = size;
    },
    /** Fails the next requests of `route`, one fault per request. */
    failNext(route: Route, ...scripted: ScriptedFault[]) {
      faults.set(route, [...(faults.get(route) ?? []), ...scripted]);
    },
    /** Leaves the next `count` requests of `route` unanswered. */
    stallNext(route: Route, count = 1) {
      stalls.set(route, (stalls.get(route) ?? 0) + count);
    },
    /** Recorded requests of one route. */
    requestsOf: (route: Route) => requests.filter((r) => r.route === route),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      pki.cleanup();
    },
  };
}

/** A running stand-in. */
export type AzureStandIn = Awaited<ReturnType<typeof startAzureStandIn>>;
