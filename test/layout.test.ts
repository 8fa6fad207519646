/**
 * The layout's dependency rules, read from the sources' import statements
 * (static and dynamic): `machines/` imports nothing of ours; `bus/` only
 * `machines/`; `adapters/` only `machines/`, `bus/` and shared adapter ports
 * (`adapters/sync/`, `adapters/plugin.ts`), and a plugin folder never imports
 * another plugin; `main.ts` only `actors/` (and `machines/` types of what it prints).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir))) {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The files of ours a file imports, relative to the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
    found.add(normalize(join(dirname(file), match[1] as string)));
  }
  return [...found];
}

/** The plugin (or shared port) folder of an adapters/ path: `adapters/okta`, `adapters/discovery/aws`, `adapters/sync`. */
function adapterUnit(path: string): string {
  const parts = path.split("/");
  if (parts[1] === "discovery" && parts.length > 3) return parts.slice(0, 3).join("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : path;
}

/** Shared ports and libraries any adapter may use: the sync engine, the plugin shape, the discovery port, AWS clients, the sandbox. */
const SHARED = [
  "adapters/sync",
  "adapters/plugin.ts",
  "adapters/setting-values.ts",
  "adapters/discovery",
  "adapters/aws",
  "adapters/exec",
];

function violations(files: string[], allowed: (file: string, target: string) => boolean): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const target of importsOf(file)) {
      if (!allowed(file, target)) out.push(`${file} imports ${relative(".", target)}`);
    }
  }
  return out;
}

describe("Layout", () => {
  it("machines/ imports nothing of ours outside machines/", () => {
    assert.deepEqual(violations(sources("machines"), (_f, t) => t.startsWith("machines/")), []);
  });

  it("bus/ imports only bus/ and machines/", () => {
    assert.deepEqual(
      violations(sources("bus"), (_f, t) => t.startsWith("bus/") || t.startsWith("machines/")),
      [],
    );
  });

  it("adapters/ import machines/, bus/, their own folder and the shared ports; plugins never import each other", () => {
    const allowed = (file: string, target: string) => {
      if (target.startsWith("machines/") || target.startsWith("bus/")) return true;
      if (!target.startsWith("adapters/")) return false;
      const unit = adapterUnit(target);
      if (unit === adapterUnit(file)) return true;
      if (SHARED.includes(unit)) return true;
      // The store implements the sinks of the shared ports; postgres is no plugin.
      return adapterUnit(file) === "adapters/postgres" && SHARED.some((s) => target.startsWith(s));
    };
    assert.deepEqual(violations(sources("adapters"), allowed), []);
  });

  it("nothing below actors/ is imported by machines/, bus/ or adapters/", () => {
    const files = [...sources("machines"), ...sources("bus"), ...sources("adapters")];
    assert.deepEqual(violations(files, (_f, t) => !t.startsWith("actors/") && t !== "main.ts"), []);
  });

  it("main.ts imports only actors/ and machines/", () => {
    assert.deepEqual(
      violations(["main.ts"], (_f, t) => t.startsWith("actors/") || t.startsWith("machines/")),
      [],
    );
  });

  it("the rules see imports: a plugin importing another plugin is caught", () => {
    // The checker itself: a synthetic file path and import resolved the same way.
    assert.equal(adapterUnit("adapters/okta/mod.ts"), "adapters/okta");
    assert.equal(adapterUnit("adapters/discovery/aws/ec2.ts"), "adapters/discovery/aws");
    assert.notEqual(adapterUnit("adapters/ldap/mod.ts"), adapterUnit("adapters/okta/client.ts"));
    assert.ok(importsOf("main.ts").some((t) => t.startsWith("actors/")), "main.ts's imports are read");
  });
});
