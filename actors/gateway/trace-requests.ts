/**
 * Hono middleware: a SERVER span per HTTP request, child of the caller's
 * `traceparent` when it sends one, named after the matched route
 * (`POST /jobs/:kind`), with HTTP semantic-convention attributes. Handlers run
 * inside it, so the publish of a submitted job joins the request's trace.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { extractTraceContext, SpanKind, tracer } from "../observability/tracing.ts";

/** The middleware. Never records headers or bodies (they may hold tokens). */
export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    const headers: Record<string, string> = {};
    const traceparent = c.req.header("traceparent");
    const tracestate = c.req.header("tracestate");
    if (traceparent) headers.traceparent = traceparent;
    if (tracestate) headers.tracestate = tracestate;
    const parent = extractTraceContext(headers);
    const url = new URL(c.req.url);
    const span = tracer.startSpan(`${c.req.method} ${c.req.path}`, {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": c.req.method,
        "url.path": url.pathname,
        "url.scheme": url.protocol.replace(":", ""),
      },
    }, parent);
    try {
      await context.with(trace.setSpan(parent, span), () => next());
    } finally {
      const route = c.req.routePath;
      if (route && route !== "*") {
        span.updateName(`${c.req.method} ${route.replace(/\{[^}]*\}/g, "")}`);
        span.setAttribute("http.route", route.replace(/\{[^}]*\}/g, ""));
      }
      const status = c.res.status;
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
