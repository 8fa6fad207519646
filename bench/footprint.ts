/**
 * `npm run bench -- --only footprint` (or `node bench/footprint.ts`): what a
 * Troupe process costs before it does any work, on Node and on Deno, each figure
 * the median of 5 runs, next to the bare runtime measured in the same run:
 *
 * - `troupe --help` wall time (peer: the runtime printing its version); Node
 *   runs bin/troupe.js as `npx troupe` does, with its compile cache warmed by
 *   one call (in a folder of this run), and `node main.ts --help` without it;
 * - `troupe status <id>` against the HTTP API of a running `troupe start`;
 * - embedded `troupe start`: time to `/readyz` on an existing data folder, and
 *   its RSS idle, then after one job of every kind the process can run here;
 * - `troupe worker` on NATS + PostgreSQL: time to "Worker started", idle RSS.
 *
 * @module
 */
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/harness/free-port.ts";

const root = new URL("..", import.meta.url).pathname;
const RUNS = 5;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Runtime {
  name: string;
  bin: string;
  /** argv running main.ts with these arguments. */
  main(args: string[]): string[];
  version: string[];
}

const runtimes: Runtime[] = [
  {
    name: "node",
    bin: join(root, "node_modules/.bin/node"),
    // As `npx troupe` runs it: bin/troupe.js turns Node's compile cache on, then imports main.ts.
    main: (args) => [join(root, "bin/troupe.js"), ...args],
    version: ["--version"],
  },
  {
    name: "deno",
    bin: join(root, "node_modules/.bin/deno"),
    main: (args) => ["run", "-A", join(root, "main.ts"), ...args],
    version: ["--version"],
  },
];

function timed(
  bin: string,
  args: string[],
  env: Record<string, string> = {},
  okCodes = [0],
): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: root, env: { ...process.env, ...env }, stdio: "ignore" });
    child.on("error", reject);
    child.on(
      "exit",
      (code) =>
        okCodes.includes(code ?? -1)
          ? resolve(performance.now() - started)
          : reject(new Error(`${bin} ${args.join(" ")} exited ${code}`)),
    );
  });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

function start(
  rt: Runtime,
  args: string[],
  env: Record<string, string>,
): ChildProcess & { output: () => string } {
  const child = spawn(rt.bin, rt.main(args), {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(10);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([done, sleep(15_000).then(() => child.kill("SIGKILL"))]);
}

/** One runtime's figures. */
async function measure(rt: Runtime, backend: { natsUrl: string; databaseUrl: () => Promise<string> }) {
  const help: number[] = [];
  const bare: number[] = [];
  const helpUncached: number[] = [];
  // Node's compile cache (turned on by bin/troupe.js) in a folder of this run, warmed by one call.
  const cacheDir = mkdtempSync(join(tmpdir(), "troupe-compile-cache-"));
  const cache = rt.name === "node" ? { NODE_COMPILE_CACHE: cacheDir } : {};
  await timed(rt.bin, rt.main(["--help"]), cache);
  for (let i = 0; i < RUNS; i++) {
    bare.push(await timed(rt.bin, rt.version));
    help.push(await timed(rt.bin, rt.main(["--help"]), cache));
    // The peer without the cache: main.ts type-stripped and compiled on every call.
    if (rt.name === "node") helpUncached.push(await timed(rt.bin, [join(root, "main.ts"), "--help"]));
  }
  const dir = mkdtempSync(join(tmpdir(), "troupe-footprint-"));
  const ready: number[] = [];
  const idle: number[] = [];
  const status: number[] = [];
  let afterJobs = NaN;
  try {
    // First start migrates the fresh folder; the measured ones open an existing folder.
    for (let i = 0; i <= RUNS; i++) {
      const port = await freePort();
      const began = performance.now();
      const child = start(rt, ["start"], {
        TROUPE_DATA_DIR: dir,
        PORT: String(port),
        NATS_URL: "",
        DATABASE_URL: "",
        ...cache,
      });
      const base = `http://127.0.0.1:${port}`;
      await until(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true);
      const tookMs = performance.now() - began;
      await sleep(2000);
      if (i > 0) {
        ready.push(tookMs);
        idle.push(rssMiB(child.pid!));
        status.push(
          // "nope" is not a job: exit 3 after a full round trip to the API.
          await timed(rt.bin, rt.main(["status", "nope"]), {
            TROUPE_DATA_DIR: dir,
            TROUPE_URL: base,
            ...cache,
          }, [3]),
        );
      }
      if (i === RUNS) afterJobs = await rssAfterJobs(child, base, dir);
      await stop(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const worker: number[] = [];
  const workerRss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const began = performance.now();
    const child = start(rt, ["worker"], {
      NATS_URL: backend.natsUrl,
      DATABASE_URL: await backend.databaseUrl(),
      TROUPE_NAMESPACE: `footprint${process.pid}x${rt.name}${i}`,
      ...cache,
    });
    await until(() => /Worker started/.test(child.output()));
    worker.push(performance.now() - began);
    await sleep(2000);
    workerRss.push(rssMiB(child.pid!));
    await stop(child);
  }
  rmSync(cacheDir, { recursive: true, force: true });
  return {
    helpMs: median(help),
    helpUncachedMs: helpUncached.length ? median(helpUncached) : NaN,
    bareMs: median(bare),
    statusMs: median(status),
    readyMs: median(ready),
    idleRssMiB: median(idle),
    rssAfterJobsMiB: afterJobs,
    workerReadyMs: median(worker),
    workerIdleRssMiB: median(workerRss),
  };
}

/** Runs one job of each kind that can run without outside services, then the process's RSS. */
async function rssAfterJobs(child: ChildProcess, base: string, dir: string): Promise<number> {
  const token = readFileSync(join(dir, "admin-token"), "utf8").trim();
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const jobs: [string, unknown][] = [
    ["noop", {}],
    ["exec", { command: ["true"], network: "none" }],
    // These fail (no cloud here) after loading their SDK, which is what is measured.
    ["aws.iam.policy", {
      action: "attach",
      accountId: "111122223333",
      principalType: "role",
      principalName: "x",
      policyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
    }],
    ["discovery.kubernetes", { scope: "none" }],
    ["discovery.aws", { scope: "111122223333" }],
    ["discovery.gcp", { scope: "none" }],
    ["discovery.azure", { scope: "00000000-0000-0000-0000-000000000000" }],
  ];
  const ids: string[] = [];
  for (const [kind, payload] of jobs) {
    const res = await fetch(`${base}/jobs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ kind, payload, maxAttempts: 1 }),
    });
    ids.push(((await res.json()) as { id: string }).id);
  }
  await until(async () => {
    for (const id of ids) {
      const job = await (await fetch(`${base}/jobs/${id}`, { headers })).json() as { status: string };
      if (!["success", "failed"].includes(job.status)) return false;
    }
    return true;
  }, 180_000);
  await sleep(2000);
  return rssMiB(child.pid!);
}

/** The footprint figures of both runtimes, printed as they come. */
export async function footprint(backend: { natsUrl: string; databaseUrl: () => Promise<string> }) {
  const out: Record<string, unknown> = {};
  for (const rt of runtimes) {
    const r = await measure(rt, backend);
    console.log(
      `footprint ${rt.name}: --help ${r.helpMs.toFixed(0)} ms (bare ${rt.name} --version ${
        r.bareMs.toFixed(0)
      } ms, ` +
        `${(r.helpMs / r.bareMs).toFixed(1)}x${
          Number.isNaN(r.helpUncachedMs)
            ? ""
            : `; node main.ts --help without the compile cache ${r.helpUncachedMs.toFixed(0)} ms`
        }); status over HTTP ${r.statusMs.toFixed(0)} ms; ` +
        `troupe start /readyz ${r.readyMs.toFixed(0)} ms on an existing folder, idle RSS ${
          r.idleRssMiB.toFixed(0)
        } MiB, ` +
        `${r.rssAfterJobsMiB.toFixed(0)} MiB after one job of every kind; ` +
        `troupe worker ready ${r.workerReadyMs.toFixed(0)} ms, idle RSS ${r.workerIdleRssMiB.toFixed(0)} MiB`,
    );
    out[rt.name] = r;
  }
  return out;
}
