/**
 * Where an exec agent reads the secrets `envFrom` names: the same places as
 * discovery's credentials references (adapters/discovery/credentials.ts), the
 * variable `TROUPE_CREDENTIALS_<REF>` of the agent's environment, else the
 * mounted secret file `<TROUPE_CREDENTIALS_DIR>/<ref>.json`. Errors name the
 * reference and where it was looked for, never the content.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CREDENTIALS_REF_PATTERN,
  type CredentialSources,
  credentialsVariable,
} from "../adapters/discovery/credentials.ts";
import type { SecretReader } from "../adapters/exec-job/mod.ts";
import { PermanentError } from "../machines/errors.ts";

/** A reader of references' raw text over an environment and a secrets directory. */
export function createSecretReader(sources: CredentialSources): SecretReader {
  return async (ref) => {
    if (!CREDENTIALS_REF_PATTERN.test(ref)) {
      throw new PermanentError(
        `Invalid credentials reference: use letters, digits, "_", "." or "-" (at most 64)`,
        { code: "CREDENTIALS_INVALID" },
      );
    }
    const variable = credentialsVariable(ref);
    const inline = sources.env[variable];
    if (inline !== undefined && inline !== "") return inline;
    if (sources.dir) {
      const path = join(sources.dir, `${ref}.json`);
      try {
        return await readFile(path, "utf8");
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
    throw new PermanentError(`Credentials "${ref}" not found on this agent: set ${where}`, {
      code: "CREDENTIALS_NOT_FOUND",
    });
  };
}
