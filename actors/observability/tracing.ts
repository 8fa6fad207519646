/**
 * Tracing with `@opentelemetry/api` only: one trace per job, from the HTTP request
 * (or the publisher's own `traceparent` header) through the publish, the worker's
 * consume and each state transition, to the kind's handler and its outbound calls.
 * Without an SDK (see telemetry.ts) every call here is a cheap no-op.
 *
 * NATS spans follow OpenTelemetry's messaging semantic conventions
 * (`messaging.system`, `messaging.destination.name`, `messaging.operation.type`,
 * `messaging.message.id`); every job span carries `troupe.job.id`.
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

/** The tracer of every Troupe span. */
export const tracer = trace.getTracer("troupe");

/** The attribute naming the job a span belongs to. */
export const JOB_ID_ATTRIBUTE = "troupe.job.id";

/** Writes the active (or given) context's `traceparent`/`tracestate` into `headers`. */
export function injectTraceHeaders(
  headers: Record<string, string> = {},
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

/** The context a message's (or request's) `traceparent` header names, under the active one. */
export function extractTraceContext(headers: Record<string, string | undefined>): Context {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) carrier[key.toLowerCase()] = value;
  }
  return propagation.extract(context.active(), carrier);
}

/** Messaging attributes of a NATS span. */
export function messagingAttributes(
  operation: "send" | "process",
  subject: string,
  extra: { jobId?: string; msgId?: string; consumer?: string } = {},
): Attributes {
  const attributes: Attributes = {
    "messaging.system": "nats",
    "messaging.destination.name": subject,
    "messaging.operation.type": operation,
    "messaging.operation.name": operation === "send" ? "publish" : "process",
  };
  if (extra.msgId !== undefined) attributes["messaging.message.id"] = extra.msgId;
  if (extra.consumer !== undefined) attributes["messaging.consumer.group.name"] = extra.consumer;
  if (extra.jobId !== undefined) attributes[JOB_ID_ATTRIBUTE] = extra.jobId;
  return attributes;
}

/** Starts a PRODUCER span for a publish on `subject` and returns it with headers carrying its context. */
export function startPublishSpan(
  subject: string,
  extra: { jobId?: string; msgId?: string } = {},
): { span: Span; headers: Record<string, string> } {
  const span = tracer.startSpan(`send ${subject}`, {
    kind: SpanKind.PRODUCER,
    attributes: messagingAttributes("send", subject, extra),
  });
  const headers = injectTraceHeaders({}, trace.setSpan(context.active(), span));
  return { span, headers };
}

/** Ends `span`, marking it failed with `error` when given. Never records secrets: messages only. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    span.addEvent("exception", {
      "exception.type": error instanceof Error ? error.name : typeof error,
      "exception.message": message,
    });
  }
  span.end();
}

/** Runs `fn` inside `span`'s context, so spans started in it (and outbound calls) become its children. */
function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Runs `fn` in a new INTERNAL (or given kind) span, ending it with the outcome. For adapters' outbound calls. */
export async function traced<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const span = tracer.startSpan(name, { kind, attributes });
  try {
    const value = await withSpan(span, () => fn(span));
    span.end();
    return value;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** Context key of the job whose handler runs (for log lines). */
export const JOB_ID_KEY: symbol = createContextKey("troupe.job.id");

/** Fields every log line gets from the active context: `traceId`, `spanId`, `jobId` when known. */
export function activeLogFields(): { traceId?: string; spanId?: string; jobId?: string } {
  const ctx = context.active();
  const jobId = ctx.getValue(JOB_ID_KEY);
  const ids = activeTraceIds(ctx);
  return typeof jobId === "string" ? { ...ids, jobId } : ids;
}

/** A span's ids, for log lines (`traceId`, `spanId`), or nothing for an invalid (unsampled, no-SDK) span. */
export function spanIds(span: Span | undefined): { traceId?: string; spanId?: string } {
  const ids = span?.spanContext();
  if (!ids || !trace.isSpanContextValid(ids)) return {};
  return { traceId: ids.traceId, spanId: ids.spanId };
}

/** The ids of the active span. */
export function activeTraceIds(ctx: Context = context.active()): { traceId?: string; spanId?: string } {
  return spanIds(trace.getSpan(ctx));
}

export { SpanKind };
