/**
 * Credentials references: a discovery payload names credentials (`"prod"`),
 * never carries them. A reference resolves to a JSON object from the
 * environment (`TROUPE_CREDENTIALS_<REF>`, the reference upper-cased with
 * every other character as `_`) or from a mounted secret file
 * (`<TROUPE_CREDENTIALS_DIR>/<ref>.json`). Errors name the reference and where
 * it was looked for, never the content.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PermanentError } from "../../machines/errors.ts";

/** What a reference may look like: it becomes part of a variable name and a file name. */
export const CREDENTIALS_REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Where references resolve. */
export interface CredentialSources {
  /** The environment to read `TROUPE_CREDENTIALS_<REF>` from. */
  env: Record<string, string | undefined>;
  /** The directory of mounted secret files, if any. */
  dir?: string;
}

/** Resolves a credentials reference. */
export type CredentialResolver = (ref: string) => Promise<Record<string, unknown>>;

/** The environment variable a reference reads. */
export function credentialsVariable(ref: string): string {
  return `TROUPE_CREDENTIALS_${ref.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

function parseSecret(text: string, ref: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PermanentError(`Credentials "${ref}" in ${where} are not valid JSON`, {
      code: "CREDENTIALS_INVALID",
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PermanentError(`Credentials "${ref}" in ${where} must be a JSON object`, {
      code: "CREDENTIALS_INVALID",
    });
  }
  return value as Record<string, unknown>;
}

/**
 * The raw text a reference names, and where it was found: `TROUPE_CREDENTIALS_<REF>`,
 * else `<dir>/<ref>.json`. Errors name the reference and where it was looked for,
 * never the content; `place` ends the not-found message (e.g. " on this agent").
 */
export async function readCredentialsText(
  sources: CredentialSources,
  ref: string,
  place = "",
): Promise<{ text: string; where: string }> {
  if (!CREDENTIALS_REF_PATTERN.test(ref)) {
    throw new PermanentError(
      `Invalid credentials reference: use letters, digits, "_", "." or "-" (at most 64)`,
      { code: "CREDENTIALS_INVALID" },
    );
  }
  const variable = credentialsVariable(ref);
  const inline = sources.env[variable];
  if (inline !== undefined && inline !== "") return { text: inline, where: variable };
  if (sources.dir) {
    const path = join(sources.dir, `${ref}.json`);
    try {
      return { text: await readFile(path, "utf8"), where: path };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "ENOENT") {
        throw new PermanentError(`Credentials "${ref}": cannot read ${path} (${code ?? "error"})`, {
          code: "CREDENTIALS_UNREADABLE",
        });
      }
    }
  }
  const where = sources.dir
    ? `${variable} or ${join(sources.dir, `${ref}.json`)}`
    : `${variable} (or set TROUPE_CREDENTIALS_DIR)`;
  throw new PermanentError(`Credentials "${ref}" not found${place}: set ${where}`, {
    code: "CREDENTIALS_NOT_FOUND",
  });
}

/** A resolver over the environment and a secrets directory: the reference's text, parsed as a JSON object. */
export function createCredentialResolver(sources: CredentialSources): CredentialResolver {
  return async (ref) => {
    const { text, where } = await readCredentialsText(sources, ref);
    return parseSecret(text, ref, where);
  };
}
