/**
 * One job attempt's spans, as the worker sees it: a CONSUMER span `process
 * <subject>` whose parent is the publisher's `traceparent` (the HTTP request, or a
 * `nats pub` with its own header), an event per state transition on it, and an
 * INTERNAL span `run <kind>` around the handler, so the adapter's outbound calls
 * become its children. A retry's message carries this attempt's context, so every
 * attempt of a job lands in the same trace.
 *
 * @module
 */
import type { Span } from "@opentelemetry/api";
import {
  endSpan,
  extractTraceContext,
  injectTraceHeaders,
  JOB_ID_ATTRIBUTE,
  JOB_ID_KEY,
  messagingAttributes,
  spanIds,
  SpanKind,
  tracer,
} from "./tracing.ts";
import { context, trace } from "@opentelemetry/api";

/** What a job trace starts from. */
export interface JobTraceStart {
  jobId: string;
  kind: string;
  subject: string;
  headers: Record<string, string>;
  attempt: number;
  deliveryCount: number;
  consumer: string;
}

/** The spans of one attempt. */
export class JobTrace {
  #span: Span;
  #kind: string;
  #jobId: string;
  #ended = false;

  constructor(start: JobTraceStart) {
    this.#kind = start.kind;
    this.#jobId = start.jobId;
    const parent = extractTraceContext(start.headers);
    this.#span = tracer.startSpan(`process ${start.subject}`, {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...messagingAttributes("process", start.subject, { jobId: start.jobId, consumer: start.consumer }),
        "messaging.message.delivery_count": start.deliveryCount,
        "troupe.job.kind": start.kind,
        "troupe.job.attempt": start.attempt,
      },
    }, parent);
  }

  /** Records a state the job entered. */
  transition(status: string, attributes: Record<string, string | number | boolean> = {}): void {
    if (this.#ended) return;
    this.#span.addEvent(`job.${status}`, { "troupe.job.status": status, ...attributes });
  }

  /** Runs the handler in a `run <kind>` span: spans started inside (outbound calls) are its children. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const runSpan = tracer.startSpan(`run ${this.#kind}`, {
      kind: SpanKind.INTERNAL,
      attributes: { [JOB_ID_ATTRIBUTE]: this.#jobId, "troupe.job.kind": this.#kind },
    }, trace.setSpan(context.active(), this.#span));
    let promise: Promise<T>;
    try {
      // The job id rides in the context too, so the handler's log lines carry it.
      promise = context.with(trace.setSpan(context.active(), runSpan).setValue(JOB_ID_KEY, this.#jobId), fn);
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.then(
      (value) => {
        runSpan.end();
        return value;
      },
      (error: unknown) => {
        endSpan(runSpan, error);
        throw error;
      },
    );
  }

  /** The attempt's trace and span ids, for log lines (empty when not sampled). */
  ids(): { traceId?: string; spanId?: string } {
    return spanIds(this.#span);
  }

  /** Headers that put a follow-up message (a retry) in this trace. */
  headers(): Record<string, string> {
    return injectTraceHeaders({}, trace.setSpan(context.active(), this.#span));
  }

  /** Records the outcome and ends the attempt's span (once). */
  end(status: string, error?: { code: string; message: string }): void {
    if (this.#ended) return;
    this.transition(status, error ? { "error.type": error.code } : {});
    this.#ended = true;
    endSpan(this.#span, error ? Object.assign(new Error(error.message), { name: error.code }) : undefined);
  }
}
