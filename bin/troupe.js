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
await import("../main.ts");
