/**
 * `envFrom`: secret environment variables of an `exec` command, named by
 * credentials references instead of carried. The payload says
 * `{"envFrom": {"DB_PASSWORD": "db-prod"}}` (or `{"ref": "db-prod", "key":
 * "password"}` for one field of a JSON secret); the agent that runs the command
 * reads the reference where it runs and adds the value to the command's
 * environment. So the secret is in no payload, no NATS message, no API answer
 * and no log: only the reference travels.
 *
 * What a reference's text gives: with `key`, that string field of the JSON
 * object; without, the field `value` of a JSON object, else the text as it is
 * (one trailing newline dropped, as files end with one). Errors name the
 * variable and the reference, never the text.
 *
 * @module
 */
import { z } from "zod";
import { PermanentError, TroupeError, ValidationError } from "../../machines/errors.ts";

/** A credentials reference: the same syntax as discovery's (`TROUPE_CREDENTIALS_<REF>`, `<dir>/<ref>.json`). */
const ref = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
  "must be a credentials reference name (1-64 letters, digits, _ . -), not the secret",
);

/** Where one variable's value comes from. */
export const envSourceSchema = z.union([
  ref,
  z.strictObject({
    ref,
    /** A string field of the reference's JSON object; default `value` (or the whole text when it is not JSON). */
    key: z.string().min(1).max(128).regex(/^[^\p{Cc}]+$/u, "must have no control characters").optional(),
  }),
]);

/** `envFrom`: variable name → credentials reference. */
export const envFromSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name: letters, digits and _"),
  envSourceSchema,
).refine((record) => Object.keys(record).length <= 256, "at most 256 variables");

export type EnvFrom = z.output<typeof envFromSchema>;

/**
 * Reads a reference's text where the command runs; throws a PermanentError
 * naming the reference and where it looked when it is not there.
 */
export type SecretReader = (ref: string) => Promise<string>;

function pick(text: string, name: string, ref: string, key: string | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const isObject = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
  if (key === undefined && !isObject) return text.replace(/\r?\n$/, "");
  const field = key ?? "value";
  const value = isObject ? (parsed as Record<string, unknown>)[field] : undefined;
  if (typeof value !== "string") {
    const what = isObject ? `have no string field "${field}"` : `are not a JSON object (a "key" needs one)`;
    throw new PermanentError(`Environment variable "${name}": credentials "${ref}" ${what}`, {
      code: "CREDENTIALS_INVALID",
    });
  }
  return value;
}

/** Resolves every variable of `envFrom` with `read`. */
export async function resolveEnvFrom(envFrom: EnvFrom, read: SecretReader): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [name, source] of Object.entries(envFrom)) {
    const { ref, key } = typeof source === "string" ? { ref: source, key: undefined } : source;
    let text: string;
    try {
      text = await read(ref);
    } catch (error) {
      if (!(error instanceof TroupeError)) throw error;
      throw new PermanentError(`Environment variable "${name}": ${error.message}`, {
        code: error.code,
        cause: error,
      });
    }
    const value = pick(text, name, ref, key);
    if (value.includes("\0")) {
      throw new PermanentError(`Environment variable "${name}": credentials "${ref}" contain NUL`, {
        code: "CREDENTIALS_INVALID",
      });
    }
    env[name] = value;
  }
  return env;
}

/** Names set by both `env` and `envFrom` (a payload must not set a variable twice). */
export function envOverlap(
  env: Record<string, unknown> | undefined,
  envFrom: Record<string, unknown> | undefined,
): string[] {
  if (!env || !envFrom) return [];
  return Object.keys(envFrom).filter((name) => Object.hasOwn(env, name));
}

/**
 * The command spec the sandbox runs: `envFrom` taken out, its values resolved
 * into `env`. A spec without `envFrom` is returned as it is.
 */
export async function withEnvFrom(spec: unknown, read: SecretReader): Promise<unknown> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec) || !("envFrom" in spec)) return spec;
  const { envFrom, ...rest } = spec as Record<string, unknown> & { env?: Record<string, string> };
  if (envFrom === undefined) return rest;
  const parsed = envFromSchema.safeParse(envFrom);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ["envFrom", ...(issue?.path ?? []).map(String)].join(".");
    throw new ValidationError(`Invalid command spec field "${field}": ${issue?.message}`, { field });
  }
  const twice = envOverlap(rest.env, parsed.data);
  if (twice.length > 0) {
    throw new ValidationError(`Environment variable "${twice[0]}" is set by both env and envFrom`, {
      field: `envFrom.${twice[0]}`,
    });
  }
  return { ...rest, env: { ...rest.env, ...await resolveEnvFrom(parsed.data, read) } };
}
