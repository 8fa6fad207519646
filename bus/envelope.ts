/**
 * The job envelope: the JSON body of a message on `<ns>.jobs.<kind>`, every field
 * optional: `{"id", "payload", "maxAttempts", "timeoutMs", "runAt", "org"}`. A body
 * that is not a JSON object is the payload itself. The job id is the body's `id`,
 * else the `Nats-Msg-Id` header, else derived from the stream sequence (so a
 * redelivery of the same message maps to the same job).
 *
 * A body PostgreSQL could not store (U+0000 or a lone surrogate in a string or
 * key, nesting deeper than 64) is refused here with the rule and the JSON path
 * (see json-value-rules.ts), so it becomes a failed job without its payload
 * instead of a message the worker can never admit. No message of a refusal
 * quotes the body's text.
 *
 * @module
 */
import { z } from "zod";
import { ErrorCode } from "../machines/errors.ts";
import { validateJobId, validateKind } from "./subjects.ts";
import {
  describeJsonSyntaxError,
  findJsonViolation,
  type JsonRule,
  type JsonViolation,
  storableText,
  textMayBreakRules,
} from "./json-value-rules.ts";

/** A parsed, valid envelope. */
export interface JobEnvelope {
  id: string;
  kind: string;
  payload: unknown;
  maxAttempts?: number;
  timeoutMs?: number;
  runAt?: Date;
  org?: string;
}

/** What parsing a message gave. */
export type ParsedJobMessage =
  | { ok: true; envelope: JobEnvelope }
  | {
    ok: false;
    /** The id, when one could be found: the message becomes a failed job. */
    id?: string;
    kind?: string;
    code: string;
    message: string;
    /** For a body that cannot be stored: the rule it breaks. */
    rule?: JsonRule;
  };

/**
 * The envelope's fields and their limits: the one schema of a job submission,
 * used for a message on the bus and (extended with `kind`) for `POST /jobs`.
 */
export const envelopeSchema = z.strictObject({
  id: z.string().optional(),
  payload: z.unknown().optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  timeoutMs: z.number().int().min(1).max(7 * 24 * 3_600_000).optional(),
  runAt: z.union([z.iso.datetime({ offset: true }), z.number().int().min(0)]).optional(),
  org: z.string().max(200).optional(),
});

/** Input of {@link parseJobMessage}. */
export interface RawJobMessage {
  /** The kind, from the subject (undefined when the subject is not a job subject). */
  kind: string | undefined;
  data: Uint8Array;
  headers: Record<string, string>;
  /** Stream sequence, used to derive an id when none is given. */
  seq: number;
}

const decoder = new TextDecoder();

function usableId(id: unknown): string | undefined {
  if (typeof id !== "string" || !id.isWellFormed()) return undefined;
  try {
    return validateJobId(id);
  } catch {
    return undefined;
  }
}

/** A stable id for a message without one: the same message always maps to the same id. */
export function derivedJobId(seq: number, data: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    hash ^= data[i] as number;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `m${seq}-${hash.toString(16).padStart(8, "0")}`;
}

/** Parses a job message; never throws. */
export function parseJobMessage(
  message: RawJobMessage,
  options: { maxPayloadBytes: number },
): ParsedJobMessage {
  const headerId = message.headers["Nats-Msg-Id"];
  let kind: string | undefined;
  try {
    kind = message.kind === undefined ? undefined : validateKind(message.kind);
  } catch (error) {
    return {
      ok: false,
      ...optionalId(usableId(headerId)),
      code: ErrorCode.invalidSubject,
      message: (error as Error).message,
    };
  }
  if (kind === undefined) {
    return { ok: false, code: ErrorCode.invalidSubject, message: "Message is not on a job subject" };
  }
  const text = decoder.decode(message.data);
  let body: unknown;
  let parseError: string | undefined;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    parseError = describeJsonSyntaxError(error);
  }
  const bodyId = body !== null && typeof body === "object" && !Array.isArray(body)
    ? (body as Record<string, unknown>).id
    : undefined;
  if (bodyId !== undefined && usableId(bodyId) === undefined) {
    const shown = typeof bodyId === "string" ? quoted(bodyId) : typeof bodyId;
    return {
      ok: false,
      kind,
      code: ErrorCode.validation,
      message: `Invalid job id ${shown}: use at most 200 characters without spaces, ".", "*" or ">"`,
    };
  }
  if (headerId !== undefined && bodyId === undefined && usableId(headerId) === undefined) {
    return {
      ok: false,
      kind,
      code: ErrorCode.validation,
      message: `Invalid Nats-Msg-Id ${quoted(headerId)} as job id`,
    };
  }
  const id = usableId(bodyId) ?? usableId(headerId) ?? derivedJobId(message.seq, message.data);
  if (message.data.length > options.maxPayloadBytes) {
    return {
      ok: false,
      id,
      kind,
      code: ErrorCode.tooLarge,
      message:
        `Message of ${message.data.length} bytes exceeds the limit of ${options.maxPayloadBytes} bytes`,
    };
  }
  if (parseError !== undefined) {
    return { ok: false, id, kind, code: ErrorCode.malformed, message: `Malformed JSON body: ${parseError}` };
  }
  // Most bodies cannot break a rule (no `\u` escape, few brackets): no walk for them.
  const refused = textMayBreakRules(text) ? findBodyViolation(body) : undefined;
  if (refused) {
    return { ok: false, id, kind, code: ErrorCode.validation, message: refused.message, rule: refused.rule };
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return { ok: true, envelope: { id, kind, payload: body } };
  }
  const parsed = envelopeSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length
      ? issue.path.join(".")
      : (issue as { keys?: string[] })?.keys?.join(", ") ?? "body";
    const hint = issue?.code === "unrecognized_keys" ? ' (put the job\'s input under "payload")' : "";
    return {
      ok: false,
      id,
      kind,
      code: ErrorCode.validation,
      message: `Invalid envelope field ${path}: ${issue?.message ?? "invalid"}${hint}`,
    };
  }
  const value = parsed.data;
  const envelope: JobEnvelope = { id, kind, payload: value.payload };
  if (value.maxAttempts !== undefined) envelope.maxAttempts = value.maxAttempts;
  if (value.timeoutMs !== undefined) envelope.timeoutMs = value.timeoutMs;
  if (value.runAt !== undefined) envelope.runAt = new Date(value.runAt);
  if (value.org !== undefined) envelope.org = value.org;
  return { ok: true, envelope };
}

/**
 * The first storage rule a body breaks: a body that is not an object is the
 * payload; in an envelope each field is checked on its own, so the payload's
 * depth counts from the payload, as over HTTP.
 */
export function findBodyViolation(body: unknown): JsonViolation | undefined {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return findJsonViolation(body, { path: "payload" });
  }
  for (const [key, value] of Object.entries(body)) {
    if (findJsonViolation(key)) return findJsonViolation({ [key]: null }, { path: "", what: "Message" });
    const found = findJsonViolation(value, { path: key, what: key === "payload" ? "Payload" : "Message" });
    if (found) return found;
  }
  return undefined;
}

/**
 * Message headers made storable for the audit of a rejected message: U+0000 and
 * lone surrogates replaced, at most 50 headers of at most 1,000 characters.
 */
export function storableHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers).slice(0, 50)) {
    out[storableText(key.slice(0, 200))] = storableText(String(value).slice(0, 1000));
  }
  return out;
}

/** An id quoted for a message: storable text, at most 80 characters. */
function quoted(id: string): string {
  return `"${storableText(id.slice(0, 80))}"`;
}

function optionalId(id: string | undefined): { id?: string } {
  return id === undefined ? {} : { id };
}

/** Encodes an envelope for publishing. */
export function encodeEnvelope(envelope: {
  id?: string | undefined;
  payload?: unknown;
  maxAttempts?: number | undefined;
  timeoutMs?: number | undefined;
  runAt?: Date | string | undefined;
  org?: string | undefined;
}): Uint8Array {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(envelope)) {
    if (value === undefined) continue;
    body[key] = value instanceof Date ? value.toISOString() : value;
  }
  return new TextEncoder().encode(JSON.stringify(body));
}
