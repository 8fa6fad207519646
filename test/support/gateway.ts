/**
 * Calling a gateway as its admin in tests: the gateway refuses anonymous requests
 * and writes without `Content-Type: application/json`, so tests give it
 * {@link TEST_TOKENS} and send through {@link asAdmin}, or add {@link adminHeaders}
 * to a `fetch`.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { Hono } from "hono";
import { adminTokenPath } from "../../actors/gateway/admin-token.ts";
import { Role, singleToken } from "../../actors/gateway/auth.ts";

/** The admin token of test gateways. */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** `tokens` for createGateway(): {@link TEST_ADMIN_TOKEN} as admin. */
export const TEST_TOKENS = singleToken(Role.admin, TEST_ADMIN_TOKEN);

/** `headers` with the bearer token and, for a write without one, the JSON content type. */
export function adminHeaders(init: RequestInit = {}, token = TEST_ADMIN_TOKEN): Headers {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
  const method = (init.method ?? "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  return headers;
}

/** `app` whose `request()` sends {@link adminHeaders} (everything else is the app's own). */
export function asAdmin<T extends Pick<Hono, "request">>(app: T, token = TEST_ADMIN_TOKEN): T {
  const wrapped = Object.create(app) as T;
  wrapped.request =
    ((input: RequestInfo | URL, init?: RequestInit, ...rest: unknown[]) =>
      (app.request as (...a: unknown[]) => ReturnType<Hono["request"]>)(input, {
        ...init,
        headers: adminHeaders(init, token),
      }, ...rest)) as T["request"];
  return wrapped;
}

/** A `fetch` that calls as the admin of a `troupe start` without TROUPE_API_TOKENS: the token from its data folder. */
export function localAdminFetch(
  dataDir: string,
): (url: string | URL, init?: RequestInit) => Promise<Response> {
  let token: string | undefined;
  return (url, init = {}) => {
    token ??= readFileSync(adminTokenPath(dataDir), "utf8").trim();
    return fetch(url, { ...init, headers: adminHeaders(init, token) });
  };
}

/** One HTTP/1.1 request over a socket with exactly these headers (`fetch` will not send a forged Host). */
export function rawRequest(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      method: options.method ?? "GET",
      path: options.path,
      headers: options.headers ?? {},
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
