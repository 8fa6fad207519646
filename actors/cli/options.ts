/**
 * Parsers of CLI option values, shared by every command: a bad value is a
 * `BAD_USAGE` error naming the flag (exit code 2).
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";

/** `--flag N` with N a positive integer. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new PermanentError(`${flag} must be a positive integer, got "${value}"`, { code: "BAD_USAGE" });
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--flag DURATION` with a unit (`500ms`, `30s`, `2m`, `1h`, `1d`) → milliseconds. A bare
 * number is refused: it meant milliseconds in one command and seconds in another.
 *
 * @example
 * ```ts
 * duration("2m", "--timeout"); // 120000
 * ```
 */
export function duration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > 7 * 86_400_000) {
    const hint = /^\d+$/.test(value.trim()) ? ` (add a unit: "${value.trim()}s" or "${value.trim()}ms")` : "";
    throw new PermanentError(
      `${flag} must be a duration like 500ms, 30s, 2m or 1h, at most 7d, got "${value}"${hint}`,
      { code: "BAD_USAGE" },
    );
  }
  return ms;
}

/** A commander parser for a repeatable `--flag KEY=VALUE`, collected into one record. */
export function keyValue(
  flag: string,
): (value: string, previous?: Record<string, string>) => Record<string, string> {
  return (value, previous = {}) => {
    const at = value.indexOf("=");
    if (at <= 0) throw new PermanentError(`${flag} takes KEY=VALUE, got "${value}"`, { code: "BAD_USAGE" });
    return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
  };
}
