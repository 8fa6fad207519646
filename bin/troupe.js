#!/usr/bin/env node
// Runs main.ts with Node's native type stripping (Node 22.18+; the repository pins 24).
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
