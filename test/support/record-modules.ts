/**
 * Preloaded with `node --import` by the footprint tests: appends the URL of every
 * module the process resolves to the file named by `TROUPE_RECORD_MODULES`.
 */
import { registerHooks } from "node:module";
import { appendFileSync } from "node:fs";
import process from "node:process";

const file = process.env.TROUPE_RECORD_MODULES;
if (file) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      appendFileSync(file, `${resolved.url}\n`);
      return resolved;
    },
  });
}
