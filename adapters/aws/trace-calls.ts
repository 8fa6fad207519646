/**
 * A CLIENT span per AWS API call (`STS/AssumeRole`, `IAM/AttachRolePolicy`, ...),
 * a child of the job's `run aws.iam.policy` span, with OpenTelemetry's RPC
 * attributes and AWS's request id. Never parameters or credentials.
 *
 * @module
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("troupe.aws");

interface MiddlewareStack {
  add(middleware: unknown, options: { step: "initialize"; name: string }): void;
}

/** Adds the tracing middleware to an SDK client. */
export function traceAwsCalls<C extends { middlewareStack: MiddlewareStack }>(
  client: C,
  service: "STS" | "IAM",
): C {
  client.middlewareStack.add(
    (
      next: (args: unknown) => Promise<{ output?: { $metadata?: { requestId?: string } } }>,
      context: { commandName?: string },
    ) =>
    async (args: unknown) => {
      const method = (context.commandName ?? "Unknown").replace(/Command$/, "");
      const span = tracer.startSpan(`${service}/${method}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system": "aws-api",
          "rpc.service": service,
          "rpc.method": method,
          "cloud.provider": "aws",
        },
      });
      try {
        const result = await next(args);
        const requestId = result.output?.$metadata?.requestId;
        if (requestId) span.setAttribute("aws.request_id", requestId);
        span.end();
        return result;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { requestId?: string; httpStatusCode?: number } };
        if (e.$metadata?.requestId) span.setAttribute("aws.request_id", e.$metadata.requestId);
        if (e.$metadata?.httpStatusCode) {
          span.setAttribute("http.response.status_code", e.$metadata.httpStatusCode);
        }
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.name ?? "Error" });
        span.end();
        throw error;
      }
    },
    { step: "initialize", name: "troupeTrace" },
  );
  return client;
}
