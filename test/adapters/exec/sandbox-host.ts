/**
 * Shared by the exec adapter's tests: checks this host can run real sandboxes
 * (root, bubblewrap, slirp4netns, writable cgroups), failing with a clear message when it
 * cannot instead of skipping; makes throwaway work roots; runs a command to its
 * end collecting its output.
 *
 * @module
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { probeIsolation, startSandboxedProcess } from "../../../adapters/exec/mod.ts";
import { findOutboundTools } from "../../../adapters/exec/outbound-network.ts";
import type {
  CommandSpecInput,
  OutputChunk,
  SandboxOptions,
  SandboxResult,
} from "../../../adapters/exec/mod.ts";

let checked: Promise<void> | undefined;

/** Fails (never skips) unless this host runs as root with usable bubblewrap and cgroup limits. */
export function requireSandboxHost(): Promise<void> {
  checked ??= (async () => {
    assert.equal(
      process.getuid?.(),
      0,
      "The exec sandbox tests need root (cgroups, setpriv): run them as root, as CI does",
    );
    const report = await probeIsolation({ workRoot: tmpdir() });
    assert.ok(
      report.bwrap.usable,
      `The exec sandbox tests need bubblewrap: ${report.bwrap.reason} (apt-get install bubblewrap)`,
    );
    const outbound = findOutboundTools();
    assert.ok(
      outbound.usable,
      `The exec sandbox tests need the outbound network mode (the default): ${outbound.reason}`,
    );
    for (const limit of ["cpuPercent", "memoryMB", "pids"] as const) {
      assert.ok(
        report.limits[limit].usable,
        `The exec sandbox tests need cgroup limit "${limit}": ${report.limits[limit].reason}`,
      );
    }
  })();
  return checked;
}

/** A work root the sandbox uid can reach (mode 711), removed by the returned function. */
export function makeWorkRoot(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "troupe-exec-test-"));
  chmodSync(path, 0o711);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

let counter = 0;
/** A job id unique to this process and call, so concurrent files and runtimes never share a cgroup. */
export function jobId(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** What `runToEnd()` saw. */
export interface Ran {
  result: SandboxResult;
  stdout: string;
  stderr: string;
  chunks: OutputChunk[];
}

/** Starts a command and waits for its result, collecting its output. */
export async function runToEnd(
  spec: CommandSpecInput,
  options: Omit<SandboxOptions, "onOutput"> & { onStart?: (pid: number) => void },
): Promise<Ran> {
  const chunks: OutputChunk[] = [];
  const proc = await startSandboxedProcess(spec, { ...options, onOutput: (chunk) => chunks.push(chunk) });
  options.onStart?.(proc.pid);
  const result = await proc.result;
  const text = (stream: string) =>
    chunks.filter((c) => c.stream === stream).map((c) => new TextDecoder().decode(c.data)).join("");
  return { result, stdout: text("stdout"), stderr: text("stderr"), chunks };
}
