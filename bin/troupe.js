#!/usr/bin/env -S node --max-semi-space-size=8
// Runs main.ts with Node's native type stripping (Node 22.18+; the repository pins 24). The young
// generation is capped at 8 MiB a semi-space: after a burst of admissions V8 otherwise keeps the grown heap's
// pages pooled for good (10,000 in-flight jobs: 334 -> 228 MB RSS, bench/README.md); only a flag given at
// start sets it.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `troupe needs Node.js 22.18 or later (this is ${process.version}); run it through npm/npx in this repository, ` +
      "which use the pinned Node 24, or with Deno: deno task troupe\n",
  );
  process.exit(5);
}
// Node keeps the type-stripped and compiled sources between runs (in NODE_COMPILE_CACHE, else a folder under
// the system's temporary directory), so a CLI call after the first skips most of its start-up (bench/README.md).
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
await import("../main.ts");
