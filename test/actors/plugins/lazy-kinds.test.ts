/**
 * A kind costs nothing until its first job: which modules real processes load,
 * read from the runtime itself (Node: a resolve hook, test/support/record-modules.ts;
 * Deno: its module loader's debug log). `troupe --help` loads no cloud SDK, no
 * OpenTelemetry SDK, no database driver and no bus client; a gateway on NATS +
 * PostgreSQL and an idle embedded `troupe start` load no cloud SDK (and the
 * former no PGlite); the first `discovery.kubernetes` job then loads the
 * Kubernetes client, and only that one.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { exited, freePort } from "../../support/cli.ts";
import { localAdminFetch } from "../../support/gateway.ts";
import { uniqueNamespace } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const root = new URL("../../..", import.meta.url).pathname;
const isDeno = "Deno" in globalThis;
const CLOUD_SDKS = /node_modules\/(@aws-sdk|@smithy|@google-cloud|@azure|@kubernetes)\//;

interface Recorded {
  child: ChildProcess;
  /** The URLs of the modules loaded so far. */
  modules(): string[];
  output(): string;
}

/** Runs `main.ts <args>` on this runtime, recording every module it loads. */
function startRecorded(args: string[], env: Record<string, string>, dir: string): Recorded {
  const file = join(dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const argv = isDeno
    ? ["run", "-A", "--log-level=debug", `${root}main.ts`, ...args]
    : ["--import", `${root}test/support/record-modules.ts`, `${root}main.ts`, ...args];
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", TROUPE_RECORD_MODULES: file, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let debug = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => {
    const text = String(d);
    if (isDeno) debug += text;
    else out += text;
  });
  return {
    child,
    output: () =>
      isDeno ? `${out}${debug.split("\n").filter((l) => !l.startsWith("DEBUG")).join("\n")}` : out,
    modules: () => {
      if (isDeno) return [...new Set(debug.match(/file:\/\/\/[^\s,\]]+/g) ?? [])];
      try {
        return [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean))];
      } catch {
        return [];
      }
    },
  };
}

const named = (modules: string[], pattern: RegExp) => modules.filter((m) => pattern.test(m));

describe("lazy kinds: modules loaded by real processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "troupe-lazy-"));
  const children: ChildProcess[] = [];
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited(child).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("troupe --help loads commander but no SDK, OpenTelemetry SDK, database driver, bus client or HTTP server", async () => {
    const run = startRecorded(["--help"], {}, dir);
    children.push(run.child);
    assert.equal(await exited(run.child), 0);
    const modules = run.modules();
    assert.ok(named(modules, /node_modules\/commander\//).length > 0, "the recorder sees what the CLI loads");
    assert.deepEqual(named(modules, CLOUD_SDKS), []);
    const heavy =
      /node_modules\/(@opentelemetry\/sdk-node|@electric-sql\/pglite|postgres|@nats-io|hono|prom-client)\//;
    assert.deepEqual(named(modules, heavy), []);
    // Nor the configuration's schemas and the plugins' manifests, nor the logger: help needs none of them.
    // Node's hook sees what is evaluated; Deno's log also lists the dynamic imports it prepares unevaluated.
    if (!isDeno) assert.deepEqual(named(modules, /node_modules\/(zod|pino)\/|\/manifest\.ts$/), []);
  });

  it("a gateway on NATS + PostgreSQL loads no cloud SDK and no PGlite", async () => {
    const { testNatsUrl } = await import("../../harness/nats-server.ts");
    const { testDatabaseUrl } = await import("../../harness/postgres-server.ts");
    const gateway = startRecorded(["gateway"], {
      NATS_URL: await testNatsUrl(),
      DATABASE_URL: await testDatabaseUrl(),
      TROUPE_NAMESPACE: uniqueNamespace("lazy"),
      TROUPE_DATA_DIR: mkdtempSync(join(dir, "gw-")),
      PORT: String(await freePort()),
    }, dir);
    children.push(gateway.child);
    await waitFor(() => /HTTP API listening/.test(gateway.output()), {
      timeoutMs: 90_000,
      what: "the gateway to listen",
    });
    const modules = gateway.modules();
    assert.ok(named(modules, /node_modules\/@nats-io\//).length > 0, "the recorder sees the NATS client");
    assert.deepEqual(named(modules, CLOUD_SDKS), []);
    assert.deepEqual(named(modules, /node_modules\/@electric-sql\/pglite\//), []);
    gateway.child.kill("SIGTERM");
    await exited(gateway.child);
  });

  it("embedded troupe start loads no cloud SDK until a discovery.kubernetes job, which loads only the Kubernetes client", async () => {
    const data = mkdtempSync(join(dir, "start-"));
    const port = await freePort();
    const start = startRecorded(["start"], {
      NATS_URL: "",
      DATABASE_URL: "",
      TROUPE_DATA_DIR: data,
      PORT: String(port),
      KUBECONFIG: join(data, "missing"),
    }, dir);
    children.push(start.child);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 90_000,
      what: "troupe start to be ready",
    });
    assert.deepEqual(named(start.modules(), CLOUD_SDKS), [], "no cloud SDK at start");
    const api = localAdminFetch(data);
    const res = await api(`${base}/jobs/discovery.kubernetes`, {
      method: "POST",
      headers: { "content-type": "application/json", "Idempotency-Key": "lazy-k8s-1" },
      body: JSON.stringify({ scope: "nowhere" }),
    });
    assert.equal(res.status, 202, await res.text());
    await waitFor(async () => {
      const job = await (await api(`${base}/jobs/lazy-k8s-1`)).json() as { status: string };
      return ["success", "failed"].includes(job.status);
    }, { timeoutMs: 60_000, what: "the discovery job to end" });
    const loaded = named(start.modules(), CLOUD_SDKS);
    assert.ok(
      loaded.some((m) => m.includes("/@kubernetes/client-node/")),
      "the first job loaded the Kubernetes client",
    );
    assert.deepEqual(loaded.filter((m) => !m.includes("/@kubernetes/")), [], "and no other cloud SDK");
    start.child.kill("SIGTERM");
    await exited(start.child);
  });
});
