/**
 * `npm run bench -- --only pglite` (or `node bench/pglite-footprint.ts [--rounds 5]`):
 * what the embedded database costs in memory, per set of PostgreSQL settings,
 * each figure the median of `--rounds` fresh processes, the sets interleaved in
 * one run so that every one is measured next to the others:
 *
 * - RSS of a process that has opened PGlite on a data folder initdb has just
 *   made (a copy of one made at the start), then after the migrations;
 * - on that existing folder, in a new process, the embedded core and worker
 *   (memory bus + PGlite, as `troupe start` runs them): RSS idle, then after
 *   1,000 no-op jobs, and the rate at which those jobs ran.
 *
 * RSS is read after a forced GC, from the process itself, and its peak
 * (VmHWM) with it. The sets are applied by replacing the client's
 * {@link PGLITE_SETTINGS} and {@link PGLITE_V8_FLAGS} in the child. Flags:
 * `--rounds R` (default 5), `--jobs N` (default 1000), `--sets <regexp>` (the
 * sets whose names match).
 *
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PGLITE_BASELINE_FLAGS,
  PGLITE_SETTINGS,
  PGLITE_V8_FLAGS,
} from "../adapters/postgres/pglite-client.ts";

/** A set compared: PostgreSQL settings, and V8 flags of the process. */
interface SettingSet {
  settings: Record<string, string>;
  /** Replaces PGLITE_V8_FLAGS (set at run time by the client). */
  runtimeFlags?: string[];
}

/** The sets compared: PGlite's own (initdb's postgresql.conf) and ours, with neighbours. */
export const SETTING_SETS: Record<string, SettingSet> = {
  "pglite and V8 defaults": { settings: {} },
  "chosen (PGLITE_SETTINGS)": { settings: { ...PGLITE_SETTINGS } },
  "chosen, baselineOnly (PGLITE_BASELINE_FLAGS)": {
    settings: { ...PGLITE_SETTINGS },
    runtimeFlags: [...PGLITE_BASELINE_FLAGS],
  },
  "chosen, tiering budget x10": {
    settings: { ...PGLITE_SETTINGS },
    runtimeFlags: ["--wasm-tiering-budget=130000000"],
  },
  "chosen, tiering budget x100": {
    settings: { ...PGLITE_SETTINGS },
    runtimeFlags: ["--wasm-tiering-budget=1300000000"],
  },
  "chosen, shared_buffers 32MB": { settings: { ...PGLITE_SETTINGS, shared_buffers: "32MB" } },
  "chosen, shared_buffers 8MB": { settings: { ...PGLITE_SETTINGS, shared_buffers: "8MB" } },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1048576;
}

/** The process's peak RSS so far (Linux). */
function peakMiB(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function use(set: SettingSet): void {
  for (const name of Object.keys(PGLITE_SETTINGS)) delete PGLITE_SETTINGS[name];
  Object.assign(PGLITE_SETTINGS, set.settings);
  if (set.runtimeFlags) PGLITE_V8_FLAGS.splice(0, PGLITE_V8_FLAGS.length, ...set.runtimeFlags);
}

/** Child: initdb in a fresh folder (the template every round copies). */
async function initChild(dir: string): Promise<Record<string, number>> {
  const { createPgliteClient } = await import("../adapters/postgres/pglite-client.ts");
  const began = performance.now();
  await (await createPgliteClient({ dataDir: join(dir, "pgdata") })).close();
  return { initMs: performance.now() - began };
}

/** Child: open a folder initdb made, then migrate. */
async function openChild(dir: string): Promise<Record<string, number>> {
  const { createPgliteClient } = await import("../adapters/postgres/pglite-client.ts");
  const { SqlStore } = await import("../adapters/postgres/sql-store.ts");
  const base = rssMiB();
  const began = performance.now();
  const db = await createPgliteClient({ dataDir: join(dir, "pgdata") });
  const openMs = performance.now() - began;
  const opened = rssMiB();
  const store = new SqlStore(db);
  await store.migrate();
  const migrated = rssMiB();
  await store.close();
  return { base, openMs, opened, migrated };
}

/** Child: the embedded core and worker on an existing folder, idle then after 1,000 jobs. */
async function runChild(dir: string, jobs: number): Promise<Record<string, number>> {
  const { loadConfig } = await import("../actors/process/config.ts");
  const { silentLogger } = await import("../actors/observability/logger.ts");
  const { openCore, startSystem } = await import("../actors/process/system.ts");
  const began = performance.now();
  const core = await openCore(loadConfig({ TROUPE_DATA_DIR: dir, LOG_LEVEL: "silent" }), {
    logger: silentLogger(),
  });
  const system = await startSystem(core, { worker: true });
  const startMs = performance.now() - began;
  await sleep(3000);
  const idle = rssMiB();
  const idlePeak = peakMiB();
  const enc = new TextEncoder();
  const subject = `${core.bus.subjects.jobPrefix}noop`;
  const t = performance.now();
  const cpu = cpuMs();
  for (let i = 0; i < jobs; i++) {
    await core.bus.publishRaw(subject, enc.encode(JSON.stringify({ payload: {} })), { msgId: `p${i}` });
  }
  while (((await core.store.countByStatus()).success ?? 0) < jobs) await sleep(20);
  const rate = jobs / ((performance.now() - t) / 1000);
  const cpuPerJobMs = (cpuMs() - cpu) / jobs;
  await sleep(1000);
  const afterJobs = rssMiB();
  const heapAfterJobs = process.memoryUsage().heapUsed / 1048576;
  const peak = peakMiB();
  await system.stop();
  return { startMs, idle, idlePeak, afterJobs, heapAfterJobs, peak, rate, cpuPerJobMs };
}

function child(mode: string, dir: string, set: string): Promise<Record<string, number>> {
  const self = new URL(import.meta.url).pathname;
  const args = "Deno" in globalThis
    ? ["run", "-A", "--v8-flags=--expose-gc", self, mode, dir, set]
    : ["--expose-gc", self, mode, dir, set];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.on(
      "exit",
      (code) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split("\n").pop()!))
          : reject(new Error(`pglite-footprint ${mode} child exited ${code}`)),
    );
  });
}

/** Runs every set `rounds` times, interleaved, and prints the medians. */
export async function pgliteFootprint(
  rounds = 5,
  jobs = 1000,
  only?: RegExp,
): Promise<Record<string, Record<string, number>>> {
  const sets = Object.keys(SETTING_SETS).filter((name) => !only || only.test(name));
  const results: Record<string, Record<string, number[]>> = {};
  const template = mkdtempSync(join(tmpdir(), "troupe-pglite-template-"));
  const { initMs } = await child("--init", template, Object.keys(SETTING_SETS)[0]!);
  console.log(`pglite: initdb of a fresh folder took ${initMs!.toFixed(0)} ms`);
  for (let r = 0; r < rounds; r++) {
    for (const set of sets) {
      const dir = mkdtempSync(join(tmpdir(), "troupe-pglite-footprint-"));
      cpSync(template, dir, { recursive: true });
      try {
        const figures = {
          ...(await child("--open", dir, set)),
          ...(await child("--run", dir, `${set}\n${jobs}`)),
        };
        const into = (results[set] ??= {});
        for (const [name, value] of Object.entries(figures)) (into[name] ??= []).push(value);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  rmSync(template, { recursive: true, force: true });
  const medians: Record<string, Record<string, number>> = {};
  for (const [set, figures] of Object.entries(results)) {
    const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)]));
    medians[set] = m;
    console.log(
      `pglite ${set}: fresh folder opened in ${m.openMs!.toFixed(0)} ms, RSS ${
        m.base!.toFixed(0)
      } MiB before, ${m.opened!.toFixed(0)} opened, ${
        m.migrated!.toFixed(0)
      } migrated; embedded worker on the folder: started in ${m.startMs!.toFixed(0)} ms, RSS ${
        m.idle!.toFixed(0)
      } MiB idle (peak ${m.idlePeak!.toFixed(0)}), ${m.afterJobs!.toFixed(0)} after ${jobs} jobs (JS heap ${
        m.heapAfterJobs!.toFixed(0)
      } MiB used; peak ${m.peak!.toFixed(0)}); ${m.rate!.toFixed(0)} jobs/s, ${
        m.cpuPerJobMs!.toFixed(2)
      } ms CPU a job`,
    );
  }
  return medians;
}

const [mode, dir, arg] = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
if (mode === "--init" || mode === "--open" || mode === "--run") {
  const [set, jobs] = arg!.split("\n");
  use(SETTING_SETS[set!]!);
  const figures = mode === "--init"
    ? await initChild(dir!)
    : mode === "--open"
    ? await openChild(dir!)
    : await runChild(dir!, Number(jobs));
  process.stdout.write(JSON.stringify(figures) + "\n");
  process.exit(0);
} else if (import.meta.url === new URL(process.argv[1]!, "file://").href) {
  const i = process.argv.indexOf("--sets");
  await pgliteFootprint(
    flag("--rounds", 5),
    flag("--jobs", 1000),
    i > 0 ? new RegExp(process.argv[i + 1]!) : undefined,
  );
}
