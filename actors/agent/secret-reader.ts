/**
 * Where an exec agent reads the secrets `envFrom` names: the same places as
 * discovery's credentials references (adapters/sync/credentials.ts), the
 * variable `TROUPE_CREDENTIALS_<REF>` of the agent's environment, else the
 * mounted secret file `<TROUPE_CREDENTIALS_DIR>/<ref>.json`. Errors name the
 * reference and where it was looked for, never the content.
 *
 * @module
 */
import { type CredentialSources, readCredentialsText } from "../../adapters/sync/credentials.ts";
import type { SecretReader } from "../../adapters/exec-job/mod.ts";

/** A reader of references' raw text over an environment and a secrets directory. */
export function createSecretReader(sources: CredentialSources): SecretReader {
  return async (ref) => (await readCredentialsText(sources, ref, " on this agent")).text;
}
