/**
 * Structured JSON logs (pino), level from LOG_LEVEL, with credentials redacted
 * wherever they might hide in a logged object. Every line written inside a
 * traced request or job carries `traceId`/`spanId`, and inside a job's handler
 * its `jobId` (from the active OpenTelemetry context).
 *
 * @module
 */
import { pino, type Logger } from "pino";
import { activeLogFields } from "./tracing.ts";

export type { Logger };

/** Paths pino blanks out before a line is written. */
export const REDACT_PATHS = [
  "password", "*.password", "token", "*.token", "secret", "*.secret",
  "authorization", "*.authorization", "headers.authorization", "*.headers.authorization",
  "credentials", "*.credentials", "url", "*.url",
];

/** Creates the process logger. `destination` is for tests. */
export function createLogger(options: { level?: string; name?: string; destination?: { write(s: string): void } } = {}): Logger {
  const base = {
    level: options.level ?? "info",
    name: options.name ?? "troupe",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { pid: undefined, hostname: undefined },
    mixin: activeLogFields,
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
