/**
 * Text the CLI prints to a terminal, made harmless: a job id, a kind, an error
 * message, a label, an agent or resource name can come from anyone who can
 * submit a job, publish on NATS or name a cloud resource, and a terminal obeys
 * the control characters in it (`\x1b[2J` clears the screen, `\r` and `\n` fake
 * lines of output, U+202E reverses what follows). Every such character is shown
 * as an escape instead: `\x1b`, `\n`, `\u202e`.
 *
 * @example
 * ```ts
 * printable("job\x1b[2Jdone"); // "job\\x1b[2Jdone"
 * ```
 * @module
 */

// deno-lint-ignore no-control-regex -- control characters are exactly what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Inside JSON output: what JSON.stringify leaves raw (it escapes C0 itself).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escape(char: string): string {
  const code = char.charCodeAt(0);
  return NAMED[char] ??
    (code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`);
}

/** `text` with every control and bidirectional-override character escaped: one line, shown as it is. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** `value` as indented JSON that is still valid JSON and holds no character a terminal would obey. */
export function printableJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? "null").replace(
    UNSAFE_IN_JSON,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
