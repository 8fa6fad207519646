/** The plugin registry: one list of manifests, every plugin folder in it, kinds built from it. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PluginManifest } from "../../../adapters/plugin.ts";
import { PLUGINS } from "../../../actors/plugins/manifests.ts";
import { builtinKinds } from "../../../actors/plugins/builtin-kinds.ts";
import { loadConfig } from "../../../actors/process/config.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Every `manifest.ts` under adapters/. */
function manifestFiles(dir = "adapters"): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const folder = join(dir, entry.name);
    if (existsSync(join(root, folder, "manifest.ts"))) out.push(join(folder, "manifest.ts"));
    out.push(...manifestFiles(folder));
  }
  return out;
}

describe("Plugin registry", () => {
  it("lists every plugin folder's manifest, and each folder has a README", async () => {
    const files = manifestFiles();
    assert.ok(files.length >= 7, `found ${files.length} manifests`);
    for (const file of files) {
      const module = await import(join(root, file)) as Record<string, unknown>;
      const manifests = Object.values(module).filter((v): v is PluginManifest =>
        typeof v === "object" && v !== null && "name" in v && ("kinds" in v || "syncKinds" in v)
      );
      assert.ok(manifests.length > 0, `${file} exports a manifest`);
      for (const manifest of manifests) {
        assert.ok(
          PLUGINS.includes(manifest),
          `${file}: "${manifest.name}" is in actors/plugins/manifests.ts`,
        );
      }
      const folder = join(root, file, "..");
      assert.ok(
        existsSync(join(folder, "README.md")) || existsSync(join(folder, "..", "README.md")),
        `${file}: the plugin has a README.md`,
      );
    }
  });

  it("names each kind once", () => {
    const names = PLUGINS.flatMap((p) => [...(p.kinds ?? []), ...(p.syncKinds ?? [])].map((k) => k.kind));
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
  });

  it("builds kinds from the manifests: without a configuration only noop; exec only with an agent link", () => {
    assert.deepEqual(builtinKinds().map((k) => k.kind), ["noop"]);
    const link = { candidates: () => [], request: () => Promise.reject(new Error("no agent")) };
    assert.deepEqual(builtinKinds(undefined, undefined, link as never).map((k) => k.kind), ["noop", "exec"]);
    const withConfig = builtinKinds(loadConfig({}), undefined, undefined, {
      inventory: {} as never,
    }).map((k) => k.kind);
    for (const kind of ["noop", "aws.iam.policy", "discovery.aws", "discovery.kubernetes"]) {
      assert.ok(withConfig.includes(kind), `${kind} in ${withConfig.join(", ")}`);
    }
    assert.ok(!withConfig.includes("exec"), "no exec without an agent link");
  });

  it("gives each plugin its own settings, validated by its manifest's schemas", () => {
    const config = loadConfig({ AWS_HANDLER_ROLE_NAME: "Handler", KUBECONFIG: "/tmp/kubeconfig" });
    assert.equal(config.plugins["aws-iam"]?.AWS_HANDLER_ROLE_NAME, "Handler");
    assert.equal(config.plugins["discovery/kubernetes"]?.KUBECONFIG, "/tmp/kubeconfig");
    assert.equal(loadConfig({}).plugins["aws-iam"]?.AWS_HANDLER_ROLE_NAME, "cSecBridgeIAMHandlerRole");
    assert.throws(
      () => loadConfig({ AWS_HANDLER_ROLE_NAME: "bad role!" }),
      /AWS_HANDLER_ROLE_NAME: use 1-64/,
    );
  });
});
