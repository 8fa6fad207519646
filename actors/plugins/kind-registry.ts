/**
 * The kind registry: which kinds this process knows, their schemas and limits.
 * Validation turns a schema violation into a {@link ValidationError} whose message
 * names the field (`payload.sleepMs: expected number, received string`).
 *
 * @module
 */
import type { z } from "zod";
import type { JobKind } from "../../machines/job-kind.ts";
import { ErrorCode, PermanentError, ValidationError } from "../../machines/errors.ts";
import { validateKind } from "../../bus/subjects.ts";
import { REDACTED, redactPayload, restoreRedacted } from "./redact-payload.ts";

/** Kinds known to a worker or gateway. */
export class KindRegistry {
  #kinds = new Map<string, JobKind>();

  constructor(kinds: JobKind[] = []) {
    for (const kind of kinds) this.register(kind);
  }

  /** Adds a kind; throws when its name is invalid or taken. */
  register(kind: JobKind): this {
    validateKind(kind.kind);
    if (this.#kinds.has(kind.kind)) throw new Error(`Kind "${kind.kind}" is registered twice`);
    this.#kinds.set(kind.kind, kind);
    return this;
  }

  get(kind: string): JobKind | undefined {
    return this.#kinds.get(kind);
  }

  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  names(): string[] {
    return [...this.#kinds.keys()].sort();
  }

  list(): JobKind[] {
    return this.names().map((name) => this.#kinds.get(name) as JobKind);
  }

  /** The kind, or a permanent `UNKNOWN_KIND` error naming the known ones. */
  require(kind: string): JobKind {
    const found = this.#kinds.get(kind);
    if (!found) {
      throw new PermanentError(
        `Unknown kind "${kind.slice(0, 140)}": known kinds are ${
          this.names().map((n) => `"${n}"`).join(", ")
        }`,
        { code: ErrorCode.unknownKind },
      );
    }
    return found;
  }

  /** Validates `payload` against the kind's schema and returns the parsed value. */
  validate(kind: string, payload: unknown): unknown {
    const definition = this.require(kind);
    // A missing payload is stored as SQL NULL: the schema sees it as absent.
    const parsed = definition.schema.safeParse(payload === null ? undefined : payload);
    if (parsed.success) return parsed.data;
    throw schemaError(kind, parsed.error);
  }

  /**
   * The payload as the API shows it: the fields the kind's schema marks secret
   * as `"***"` (see redact-payload.ts). A kind this process does not know shows
   * no payload at all, since nothing says which of its fields are secret.
   */
  redact(kind: string, payload: unknown): unknown {
    const definition = this.#kinds.get(kind);
    if (!definition) return payload === null || payload === undefined ? payload : REDACTED;
    return redactPayload(definition.schema, payload);
  }

  /** `payload` with its secret fields that read `"***"` taken from `stored` (see {@link restoreRedacted}). */
  restore(kind: string, payload: unknown, stored: unknown): unknown {
    const definition = this.#kinds.get(kind);
    return definition ? restoreRedacted(definition.schema, payload, stored) : payload;
  }
}

/** Turns a zod error into a ValidationError naming the first offending field. */
export function schemaError(kind: string, error: z.ZodError): ValidationError {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = ["payload", ...issue.path.map(String)].join(".");
    return `${path}: ${issue.message}`;
  });
  const first = error.issues[0];
  const field = ["payload", ...(first?.path ?? []).map(String)].join(".");
  return new ValidationError(`Invalid payload for kind "${kind}": ${issues.join("; ")}`, { field });
}
