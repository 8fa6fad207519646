/**
 * What a JSON value must be for PostgreSQL's `jsonb` (and this system) to store
 * it: no string (value or object key) holding U+0000, no string holding a lone
 * UTF-16 surrogate, and no nesting of objects and arrays deeper than
 * {@link MAX_JSON_DEPTH}. The size limit is checked on the encoded bytes where
 * they are read (the gateway's body limit, the worker's `maxPayloadBytes`).
 *
 * Pure: no I/O. The walk is iterative, so a value nested 50,000 deep cannot
 * overflow the stack. A violation names its rule and its JSON path, never the
 * value, so it can go into errors, `last_error` and logs.
 *
 * @module
 */
import { ValidationError } from "../machines/errors.ts";

/** Deepest nesting of objects and arrays a stored JSON value may have. */
export const MAX_JSON_DEPTH = 64;

/** The rules a stored JSON value must keep. */
export const JsonRule = {
  /** A string (value or key) holds U+0000: PostgreSQL's text and jsonb cannot hold it. */
  nul: "nul",
  /** A string (value or key) holds a lone UTF-16 surrogate: not Unicode, jsonb refuses it. */
  loneSurrogate: "lone_surrogate",
  /** Objects and arrays nest deeper than the limit. */
  depth: "depth",
} as const;
export type JsonRule = (typeof JsonRule)[keyof typeof JsonRule];

/** The first rule a value breaks, and where. */
export interface JsonViolation {
  rule: JsonRule;
  /** JSON path of the offending string, or of the object holding the offending key, or of the too-deep container. */
  path: string;
  /** Whether an object key (rather than a string value or a container) broke the rule. */
  inKey: boolean;
  /** A sentence for errors and logs: rule and path, never the value. */
  message: string;
}

/** Options of {@link findJsonViolation}. */
export interface JsonRuleOptions {
  /** Path of the value itself. Default `payload`. */
  path?: string;
  /** Default {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
  /** What the message says was refused. Default `Payload`. */
  what?: string;
}

/** A container still to visit; `parent` and `segment` rebuild its path only when needed. */
interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  segment: string | number | undefined;
}

/** The rule a string breaks, if any. */
function stringRule(text: string): JsonRule | undefined {
  if (text.includes("\u0000")) return JsonRule.nul;
  if (!text.isWellFormed()) return JsonRule.loneSurrogate;
  return undefined;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const MAX_PATH = 160;

function segmentText(segment: string | number): string {
  if (typeof segment === "number") return `[${segment}]`;
  if (PLAIN_KEY.test(segment) && segment.length <= 40) return `.${segment}`;
  return `[${JSON.stringify(segment.length > 40 ? `${segment.slice(0, 40)}…` : segment)}]`;
}

function pathOf(root: string, frame: Frame | undefined, last?: string | number): string {
  const segments: (string | number)[] = last === undefined ? [] : [last];
  for (let f = frame; f?.segment !== undefined; f = f.parent) segments.push(f.segment);
  let path = root;
  for (let i = segments.length - 1; i >= 0; i--) path += segmentText(segments[i] as string | number);
  if (path.startsWith(".")) path = path.slice(1);
  if (path === "") path = "(the body)";
  // A path 65 levels deep is long: keep its two ends.
  // (Cutting may split a surrogate pair of a quoted key: made well-formed again.)
  return path.length > MAX_PATH
    ? `${path.slice(0, MAX_PATH / 2)}…${path.slice(-MAX_PATH / 2)}`.toWellFormed()
    : path;
}

interface Context {
  root: string;
  maxDepth: number;
  what: string;
}

function describe(rule: JsonRule, path: string, inKey: boolean, context: Context): string {
  const where = inKey ? `a key of the object at "${path}"` : `a string at "${path}"`;
  if (rule === JsonRule.nul) {
    return `${context.what} refused: ${where} holds U+0000, which PostgreSQL cannot store`;
  }
  if (rule === JsonRule.loneSurrogate) {
    return `${context.what} refused: ${where} holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store`;
  }
  return `${context.what} refused: "${path}" nests objects and arrays deeper than ${context.maxDepth} levels`;
}

function violation(rule: JsonRule, path: string, inKey: boolean, context: Context): JsonViolation {
  return { rule, path, inKey, message: describe(rule, path, inKey, context) };
}

/**
 * The first rule `value` breaks, or undefined when it can be stored. Walks
 * iteratively; values that are not JSON (functions, symbols, bigints) are left
 * to the encoder.
 *
 * @example
 * ```ts
 * findJsonViolation({ a: { b: "x\u0000" } })?.message;
 * // 'Payload refused: a string at "payload.a.b" holds U+0000, which PostgreSQL cannot store'
 * findJsonViolation({ a: [1, "ok"] }); // undefined
 * ```
 */
export function findJsonViolation(value: unknown, options: JsonRuleOptions = {}): JsonViolation | undefined {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  // The common case, on every job: a walk that keeps no paths; the one below builds them.
  if (isStorable(value, maxDepth)) return undefined;
  return locateViolation(value, {
    root: options.path ?? "payload",
    maxDepth,
    what: options.what ?? "Payload",
  });
}

/** Whether a string breaks no rule. */
function storableString(text: string): boolean {
  return !text.includes("\u0000") && text.isWellFormed();
}

/** Whether `value` breaks no rule (without saying where). */
function isStorable(value: unknown, maxDepth: number): boolean {
  if (typeof value === "string") return storableString(value);
  if (value === null || typeof value !== "object") return true;
  if (maxDepth < 1) return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop() as Record<string, unknown>;
    const depth = depths.pop() as number;
    const array = Array.isArray(current);
    const keys = array ? undefined : Object.keys(current);
    const length = array ? (current as unknown as unknown[]).length : (keys as string[]).length;
    for (let i = 0; i < length; i++) {
      let child: unknown;
      if (array) child = (current as unknown as unknown[])[i];
      else {
        const key = (keys as string[])[i] as string;
        if (!storableString(key)) return false;
        child = current[key];
      }
      if (typeof child === "string") {
        if (!storableString(child)) return false;
      } else if (child !== null && typeof child === "object") {
        if (depth >= maxDepth) return false;
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

/** Finds the violation {@link isStorable} saw, with its path. */
function locateViolation(value: unknown, context: Context): JsonViolation | undefined {
  const { root, maxDepth } = context;
  if (typeof value === "string") {
    const rule = stringRule(value);
    return rule === undefined ? undefined : violation(rule, pathOf(root, undefined), false, context);
  }
  if (value === null || typeof value !== "object") return undefined;
  if (maxDepth < 1) return violation(JsonRule.depth, pathOf(root, undefined), false, context);
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, segment: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const visit = (child: unknown, segment: string | number): JsonViolation | undefined => {
      if (typeof child === "string") {
        const rule = stringRule(child);
        return rule === undefined ? undefined : violation(rule, pathOf(root, frame, segment), false, context);
      }
      if (child === null || typeof child !== "object") return undefined;
      const next: Frame = { value: child, depth: frame.depth + 1, parent: frame, segment };
      if (next.depth > maxDepth) return violation(JsonRule.depth, pathOf(root, next), false, context);
      stack.push(next);
      return undefined;
    };
    if (Array.isArray(frame.value)) {
      const items = frame.value as unknown[];
      for (let i = items.length - 1; i >= 0; i--) {
        const found = visit(items[i], i);
        if (found) return found;
      }
      continue;
    }
    const keys = Object.keys(frame.value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const keyRule = stringRule(key);
      // The key itself is never shown: the path names the object holding it.
      if (keyRule !== undefined) return violation(keyRule, pathOf(root, frame), true, context);
      const found = visit((frame.value as Record<string, unknown>)[key], key);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Whether JSON text that came out of a `TextDecoder` can parse into a value that
 * breaks a rule; when it cannot, the walk can be skipped. U+0000 can only come
 * from a `\u0000` escape (JSON forbids raw control characters), a lone surrogate
 * only from a `\uD8xx`-`\uDFxx` escape (a decoder never yields one), and
 * nesting deeper than `maxDepth` needs more than `maxDepth` opening brackets.
 */
export function textMayBreakRules(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (text.includes("\\u")) return true;
  let openers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 0x5b || c === 0x7b) && ++openers > maxDepth) return true;
  }
  return false;
}

/**
 * Throws a {@link ValidationError} (HTTP 422, code `VALIDATION`) naming the rule
 * and the path when `value` cannot be stored; its `field` is the path.
 */
export function assertStorableJson(value: unknown, options: JsonRuleOptions = {}): void {
  const found = findJsonViolation(value, options);
  if (found) throw new ValidationError(found.message, { field: found.path });
}

/**
 * Text made storable in a PostgreSQL text or jsonb column: U+0000 and lone
 * surrogates become U+FFFD. For metadata such as message headers and subjects,
 * never for payloads (those are refused, not altered).
 */
export function storableText(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD").toWellFormed();
}

/**
 * The parser's complaint about malformed JSON without the input's text: V8 quotes
 * a slice of the input (`Unexpected token 'p', "password=..." is not valid JSON`),
 * which must not reach `last_error` or a log line.
 */
export function describeJsonSyntaxError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The other V8 messages name the grammar and a position only.
  if (!/Unexpected token/.test(message) && !message.includes('"')) return message.slice(0, 200);
  const position = /position (\d+)/.exec(message)?.[1];
  return position === undefined ? "Unexpected token" : `Unexpected token at position ${position}`;
}
