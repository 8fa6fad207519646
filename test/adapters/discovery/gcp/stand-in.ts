/**
 * A stand-in for the Google Cloud REST APIs the GCP discovery provider reads:
 * a real HTTP server on 127.0.0.1 speaking their JSON wire format — the OAuth
 * token endpoint (RS256 JWT-bearer assertions checked against the service
 * account's public key), Compute Engine (aggregated and per-zone instances,
 * zones, networks, aggregated and per-region subnetworks), Cloud Storage
 * buckets and GKE clusters — with `maxResults`/`pageToken` paging, Google's
 * error bodies, bearer tokens it issued, scripted failures and a log of every
 * request.
 */
import { Buffer } from "node:buffer";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GoogleApiError, googleError, route } from "./stand-in-routes.ts";
import type { StandInModel } from "./stand-in-model.ts";

export { StandInModel } from "./stand-in-model.ts";

/** Google's token endpoint: the audience the auth library signs its assertions for. */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The route name (`token`, `instances.aggregated`, `buckets.list`...), or `unknown`. */
  route: string;
  authorization: string | undefined;
  /** For `token`: the assertion's issuer and whether its RS256 signature verified. */
  assertion?: { iss: unknown; aud: unknown; scope: unknown; signatureValid: boolean };
  status?: number;
}

/** A scripted failure of the next `times` requests of a route. */
export interface ScriptedFailure {
  route: string;
  status: number;
  /** Google's canonical status (`RESOURCE_EXHAUSTED`...) and `errors[].reason`. */
  googleStatus?: string;
  reason?: string;
  message?: string;
  /** The `Retry-After` header, verbatim (seconds or an HTTP date). */
  retryAfter?: string;
  /** For `token`: an OAuth error body `{"error": ..., "error_description": ...}` instead. */
  oauthError?: string;
  times?: number;
}

/** Starts the stand-in on a free loopback port, serving `model`. */
export async function startGcpStandIn(model: StandInModel) {
  const keys = new Map<string, string>();
  const issued: string[] = [];
  const revoked = new Set<string>();
  const requests: RecordedRequest[] = [];
  const failures: ScriptedFailure[] = [];

  function takeFailure(name: string): ScriptedFailure | undefined {
    const index = failures.findIndex((f) => f.route === name);
    if (index < 0) return undefined;
    const failure = failures[index]!;
    failure.times = (failure.times ?? 1) - 1;
    if (failure.times <= 0) failures.splice(index, 1);
    return failure;
  }

  function exchange(body: string, recorded: RecordedRequest): { status: number; body: unknown } {
    const form = new URLSearchParams(body);
    const invalid = (description: string) => ({
      status: 400,
      body: { error: "invalid_grant", error_description: description },
    });
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return {
        status: 400,
        body: { error: "unsupported_grant_type", error_description: "Invalid grant_type." },
      };
    }
    const [header = "", payload = "", signature = ""] = (form.get("assertion") ?? "").split(".");
    let claims: Record<string, unknown>;
    let alg: unknown;
    try {
      alg = JSON.parse(Buffer.from(header, "base64url").toString()).alg;
      claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    } catch {
      return invalid("Invalid JWT.");
    }
    const publicKey = keys.get(String(claims.iss));
    const signatureValid = alg === "RS256" && publicKey !== undefined &&
      verify(
        "RSA-SHA256",
        Buffer.from(`${header}.${payload}`),
        publicKey,
        Buffer.from(signature, "base64url"),
      );
    recorded.assertion = { iss: claims.iss, aud: claims.aud, scope: claims.scope, signatureValid };
    if (!publicKey) return invalid("Invalid grant: account not found");
    if (!signatureValid) return invalid("Invalid JWT Signature.");
    if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== `${url}/token`) {
      return invalid("Invalid JWT: audience");
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== "number" || claims.exp < now) {
      return invalid("Invalid JWT: Token must be a short-lived token");
    }
    const token = `ya29.${randomBytes(48).toString("base64url")}`;
    issued.push(token);
    return { status: 200, body: { access_token: token, expires_in: 3599, token_type: "Bearer" } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const parsed = new URL(req.url ?? "/", "http://stand-in");
    const authorization = req.headers.authorization;
    const match = parsed.pathname === "/token" && req.method === "POST"
      ? { name: "token", serve: () => undefined }
      : route(req.method ?? "GET", parsed.pathname);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      route: match?.name ?? "unknown",
      authorization,
    };
    requests.push(recorded);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      recorded.status = status;
      res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
      res.end(JSON.stringify(payload));
    };
    if (!match) return send(404, googleError(404, "NOT_FOUND", "notFound", `Not Found: ${parsed.pathname}`));
    const failure = takeFailure(match.name);
    if (failure) {
      const headers: Record<string, string> = failure.retryAfter ? { "retry-after": failure.retryAfter } : {};
      if (failure.oauthError) {
        return send(
          failure.status,
          { error: failure.oauthError, error_description: failure.message ?? "" },
          headers,
        );
      }
      const status = failure.googleStatus ?? (failure.status === 429 ? "RESOURCE_EXHAUSTED" : "UNAVAILABLE");
      const reason = failure.reason ?? (failure.status === 429 ? "rateLimitExceeded" : "backendError");
      return send(
        failure.status,
        googleError(failure.status, status, reason, failure.message ?? "Scripted failure"),
        headers,
      );
    }
    if (match.name === "token") {
      const answer = exchange(body, recorded);
      return send(answer.status, answer.body);
    }
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (!token || !issued.includes(token) || revoked.has(token)) {
      return send(
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
    try {
      send(200, match.serve(model, parsed.searchParams));
    } catch (error) {
      if (!(error instanceof GoogleApiError)) throw error;
      send(error.code, googleError(error.code, error.status, error.reason, error.message));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    tokenUrl: `${url}/token`,
    model,
    requests,
    failures,
    /** Trusts a service account: its assertions must verify with this public key (PEM). */
    trustKey(clientEmail: string, publicKeyPem: string) {
      keys.set(clientEmail, createPublicKey(publicKeyPem).export({ type: "spki", format: "pem" }).toString());
    },
    /** Every access token the token endpoint issued, in order (revoked ones too). */
    issued,
    /** Revokes every token issued so far: the APIs then answer 401. */
    revokeAll() {
      for (const token of issued) revoked.add(token);
    },
    /** Scripts the next `times` (default 1) requests of a route to fail. */
    fail(failure: ScriptedFailure) {
      failures.push(failure);
    },
    /** Requests of one route, in order. */
    requestsOf(name: string): RecordedRequest[] {
      return requests.filter((r) => r.route === name);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type GcpStandIn = Awaited<ReturnType<typeof startGcpStandIn>>;
