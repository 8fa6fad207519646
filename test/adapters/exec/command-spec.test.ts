/**
 * parseCommandSpec() and resolveWorkCwd(): what a command may be, and which
 * working directories stay inside the work dir.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseCommandSpec } from "../../../adapters/exec/mod.ts";
import { resolveWorkCwd } from "../../../adapters/exec/job-root.ts";

function refused(input: unknown, field: string, message?: RegExp): void {
  assert.throws(() => parseCommandSpec(input), (error: Error & { field?: string }) => {
    assert.equal(error.name, "ValidationError");
    assert.equal(error.field, field);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe("parseCommandSpec()", () => {
  it("accepts a full spec and normalises cwd", () => {
    const spec = parseCommandSpec({
      command: ["ls", "-l"],
      env: { A_1: "x", _b: "" },
      cwd: "./src//lib/../bin/",
      stdin: "in",
      limits: { cpuPercent: 50, memoryMB: 64, ioBps: 1 << 20, pids: 32 },
      timeoutMs: 1000,
      network: false,
    });
    assert.equal(spec.cwd, "src/bin");
    assert.deepEqual(spec.limits, { cpuPercent: 50, memoryMB: 64, ioBps: 1 << 20, pids: 32 });
    assert.equal(parseCommandSpec({ command: ["true"], cwd: "." }).cwd, "");
  });

  it("refuses an empty argv, an empty program and NUL in an argument", () => {
    refused({ command: [] }, "command");
    refused({ command: [""] }, "command", /program name/);
    refused({ command: ["echo", "a\0b"] }, "command.1", /NUL/);
    refused({ command: "echo hi" }, "command");
  });

  it("refuses env names with = or NUL or a leading digit, naming the variable", () => {
    refused(
      { command: ["env"], env: { "A=B": "x" } },
      "env.A=B",
      /^Environment variable name "A=B" is not allowed/,
    );
    refused({ command: ["env"], env: { "A\0B": "x" } }, "env.A\0B", /"A\\u0000B"/);
    refused({ command: ["env"], env: { "1A": "x" } }, "env.1A");
    refused({ command: ["env"], env: { OK: "a\0b" } }, "env.OK", /^Environment variable "OK" contains NUL$/);
  });

  it("refuses a cwd that leaves the work dir", () => {
    refused({ command: ["pwd"], cwd: "../.." }, "cwd", /^Working directory "..\/.." leaves the work dir$/);
    refused({ command: ["pwd"], cwd: "a/../../b" }, "cwd");
    refused({ command: ["pwd"], cwd: "/etc" }, "cwd");
    refused({ command: ["pwd"], cwd: "a\0" }, "cwd", /NUL/);
  });

  it("refuses limits that are not positive integers within bounds, and unknown fields", () => {
    refused({ command: ["x"], limits: { memoryMB: 0 } }, "limits.memoryMB");
    refused({ command: ["x"], limits: { cpuPercent: 1.5 } }, "limits.cpuPercent");
    refused({ command: ["x"], limits: { pids: -1 } }, "limits.pids");
    refused({ command: ["x"], limits: { ioBps: 1e15 } }, "limits.ioBps");
    refused({ command: ["x"], limits: { swapMB: 1 } }, "limits");
    refused({ command: ["x"], timeoutMs: 0 }, "timeoutMs");
    refused({ command: ["x"], shell: true }, "spec");
  });
});

describe("resolveWorkCwd()", () => {
  const root = mkdtempSync(join(tmpdir(), "troupe-cwd-test-"));
  const work = join(root, "work");
  mkdirSync(join(work, "real", "deep"), { recursive: true });
  writeFileSync(join(work, "file"), "");
  symlinkSync("/etc", join(work, "out"));
  symlinkSync("real", join(work, "in"));
  symlinkSync("../..", join(work, "real", "up"));
  symlinkSync(join(work, "missing"), join(work, "dangling"));
  after(() => rmSync(root, { recursive: true, force: true }));

  it("resolves the work dir itself, a subdirectory, and a symlink that stays inside", () => {
    assert.deepEqual(resolveWorkCwd(work, ""), { host: work, relative: "" });
    assert.deepEqual(resolveWorkCwd(work, "in/deep"), {
      host: join(work, "real", "deep"),
      relative: "real/deep",
    });
  });

  it("makes missing directories inside the work dir", () => {
    assert.equal(resolveWorkCwd(work, "new/sub").relative, "new/sub");
  });

  it("refuses a symlink leaving the work dir, before making anything through it", () => {
    assert.throws(() => resolveWorkCwd(work, "out/x"), {
      name: "ValidationError",
      field: "cwd",
      message: /symlink "out"/,
    });
    assert.throws(() => resolveWorkCwd(work, "real/up"), { field: "cwd", message: /symlink "up"/ });
    assert.throws(() => resolveWorkCwd(work, "dangling"), { field: "cwd", message: /dangling symlink/ });
    assert.throws(() => resolveWorkCwd(work, "file"), { field: "cwd", message: /not a directory/ });
  });
});
