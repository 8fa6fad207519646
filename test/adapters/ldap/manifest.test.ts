/**
 * The LDAP plugin's manifest: the sync kind and its settings, the default
 * schedule they make, and that importing the manifest loads no LDAP client
 * (every process imports every manifest at start).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import process from "node:process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ldapManifest } from "../../../adapters/ldap/manifest.ts";

const root = new URL("../../../", import.meta.url).pathname;

describe("ldapManifest", () => {
  it("declares sync.ldap into the directory with the directory payload schema", () => {
    const [kind] = ldapManifest.syncKinds!;
    assert.equal(kind!.kind, "sync.ldap");
    assert.equal(kind!.provider, "ldap");
    assert.equal(kind!.sink, "directory");
    assert.ok(kind!.schema.safeParse({ scope: "corp", credentials: "corp-ldap" }).success);
    assert.equal(kind!.schema.safeParse({ scope: "corp", credentials: { password: "x" } }).success, false);
  });

  it("reads LDAP_ENABLED, LDAP_SYNC_INTERVAL, LDAP_SCOPE and LDAP_CREDENTIALS into the ldap-default schedule", () => {
    assert.deepEqual(Object.keys(ldapManifest.settings!).sort(), [
      "LDAP_CREDENTIALS",
      "LDAP_ENABLED",
      "LDAP_SCOPE",
      "LDAP_SYNC_INTERVAL",
    ]);
    assert.deepEqual(
      ldapManifest.schedules!({
        LDAP_ENABLED: true,
        LDAP_SCOPE: "corp",
        LDAP_CREDENTIALS: "corp-ldap",
        LDAP_SYNC_INTERVAL: "15m",
      }),
      [{
        id: "ldap-default",
        kind: "sync.ldap",
        payload: { scope: "corp", credentials: "corp-ldap" },
        intervalSeconds: 900,
        enabled: true,
      }],
    );
    assert.throws(() => ldapManifest.schedules!({ LDAP_ENABLED: true }), /LDAP_SCOPE/);
  });

  it("importing the manifest loads no LDAP client; opening the provider does", () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-ldap-modules-"));
    try {
      const run = (code: string) => {
        const file = join(dir, `${Math.random().toString(36).slice(2)}.txt`);
        execFileSync(
          join(root, "node_modules/.bin/node"),
          ["--import", join(root, "test/support/record-modules.ts"), "--input-type=module", "-e", code],
          { cwd: root, env: { PATH: process.env.PATH ?? "", TROUPE_RECORD_MODULES: file } },
        );
        return readFileSync(file, "utf8");
      };
      const manifest = `import { ldapManifest } from "${root}adapters/ldap/manifest.ts";`;
      assert.doesNotMatch(run(manifest), /node_modules\/ldapts\//);
      assert.match(
        run(
          `${manifest} await ldapManifest.syncKinds[0].open({ settings: {}, ports: {}, runtime: "node" });`,
        ),
        /node_modules\/ldapts\//,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
