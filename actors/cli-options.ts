/**
 * Parsers of CLI option values, shared by every command: a bad value is a
 * `BAD_USAGE` error naming the flag (exit code 2).
 *
 * @module
 */
import { PermanentError } from "../machines/errors.ts";

/** `--flag N` with N a positive integer. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new PermanentError(`${flag} must be a positive integer, got "${value}"`, { code: "BAD_USAGE" });
  return n;
}

/** A commander parser for a repeatable `--flag KEY=VALUE`, collected into one record. */
export function keyValue(flag: string): (value: string, previous?: Record<string, string>) => Record<string, string> {
  return (value, previous = {}) => {
    const at = value.indexOf("=");
    if (at <= 0) throw new PermanentError(`${flag} takes KEY=VALUE, got "${value}"`, { code: "BAD_USAGE" });
    return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
  };
}
