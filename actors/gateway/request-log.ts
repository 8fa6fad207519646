/**
 * Hono middleware: one log line per HTTP request (method, path, status,
 * duration, role), at info, or warn for 5xx. Never headers, query values or
 * bodies: they may hold tokens and payloads.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../observability/logger.ts";

/** The middleware; register it inside the tracing middleware so lines carry the trace id. */
export function logRequests(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const status = c.res.status;
      const role = c.get("role" as never) as string | undefined;
      const fields = {
        method: c.req.method,
        path: c.req.path,
        status,
        ms: Math.round(performance.now() - started),
        ...(role ? { role } : {}),
      };
      if (status >= 500) logger.warn(fields, "HTTP request failed");
      else logger.info(fields, "HTTP request");
    }
  };
}
