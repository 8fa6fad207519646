/**
 * Structured JSON logs (pino), level from LOG_LEVEL, with credentials redacted
 * wherever they might hide in a logged object. Every line written inside a
 * traced request or job carries `traceId`/`spanId`, and inside a job's handler
 * its `jobId` (from the active OpenTelemetry context).
 *
 * No line carries a payload's text: errors (`err`) go through
 * {@link serializeError}, which drops the fields where PostgreSQL clients put the
 * statement's data (postgres.js `parameters`, `where`, `detail`; PGlite `params`,
 * `query`) and the part of a data error's message that quotes the value.
 *
 * @module
 */
import { type Logger, pino } from "pino";
import { activeLogFields } from "./tracing.ts";
import { describeJsonSyntaxError } from "../../bus/json-value-rules.ts";

export type { Logger };

/** Paths pino blanks out before a line is written. */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "credentials",
  "*.credentials",
  "url",
  "*.url",
  // A job's input never belongs in a log line: an exec command's env (and stdin) routinely hold secrets.
  "payload",
  "*.payload",
  "env",
  "*.env",
  "*.*.env",
  "stdin",
  "*.stdin",
];

/** Creates the process logger. `destination` is for tests. */
export function createLogger(
  options: { level?: string; name?: string; destination?: { write(s: string): void } } = {},
): Logger {
  const base = {
    level: options.level ?? "info",
    name: options.name ?? "troupe",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: serializeError },
    base: { pid: undefined, hostname: undefined },
    mixin: activeLogFields,
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * Fields of an error that may quote the data a statement or request carried:
 * PostgreSQL's `detail` ("Token ... is invalid"), `where` ("JSON data, line 1:
 * ..."), `hint` and positions; the client's copy of the statement and its
 * parameters; bodies.
 */
const DATA_FIELDS = new Set([
  "query",
  "params",
  "parameters",
  "args",
  "types",
  "queryOptions",
  "detail",
  "where",
  "hint",
  "position",
  "internalQuery",
  "internalPosition",
  "payload",
  "data",
  "body",
  "raw",
]);
const SQLSTATE = /^[0-9A-Z]{5}$/;

function errorLike(value: unknown): value is Error {
  return value instanceof Error ||
    (value !== null && typeof value === "object" &&
      typeof (value as { message?: unknown }).message === "string" &&
      typeof (value as { stack?: unknown }).stack === "string");
}

/** The message without the value a data error quotes. */
function safeMessage(error: Error): string {
  const message = String(error.message ?? "");
  const code = (error as { code?: unknown }).code;
  // Class 22 (data exception) messages may end with the value: `invalid input syntax for type integer: "..."`.
  if (typeof code === "string" && SQLSTATE.test(code) && code.startsWith("22")) {
    const cut = message.indexOf(": ");
    return cut === -1 ? message : message.slice(0, cut);
  }
  if (error.name === "SyntaxError" && /JSON/.test(message)) return describeJsonSyntaxError(error);
  return message;
}

/**
 * pino's `err` serializer: type, message, stack, code and the error's other
 * fields, minus those that may quote data (see the module header); `cause` and
 * aggregated errors likewise.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!errorLike(error)) return error;
  const message = safeMessage(error);
  const out: Record<string, unknown> = {
    type: typeof error.constructor === "function" && error.constructor.name
      ? error.constructor.name
      : error.name,
    message,
  };
  if (typeof error.stack === "string") {
    out.stack = message === error.message ? error.stack : error.stack.replace(error.message, message);
  }
  for (const key in error) {
    if (key === "message" || key === "stack" || key === "cause" || key === "errors" || DATA_FIELDS.has(key)) {
      continue;
    }
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value === undefined || typeof value === "function") continue;
    out[key] = errorLike(value) ? (depth < 4 ? serializeError(value, depth + 1) : "[error]") : value;
  }
  if (error.cause !== undefined && depth < 4) out.cause = serializeError(error.cause, depth + 1);
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && depth < 4) {
    out.aggregateErrors = errors.slice(0, 10).map((e) => serializeError(e, depth + 1));
  }
  return out;
}
