/**
 * The test command (`npm test`): makes sure nats-server and PostgreSQL are
 * installed, starts one throwaway nats-server and one PostgreSQL cluster on free
 * loopback ports (each test file then uses its own namespace and database; tests
 * that kill servers start their own), runs every test file under Node, then under
 * Deno, and ends with one line `N passed, N failed` covering both runtimes.
 *
 * Also installs bubblewrap and openssl when missing.
 *
 * Flags: `--runtime node|deno` (default both), then optional file paths.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";

const root = new URL("..", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules", ".bin", name);

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (entry.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out.sort();
}

function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

function postgresInstalled(): boolean {
  if (hasCommand("initdb") && hasCommand("postgres")) return true;
  try {
    return readdirSync("/usr/lib/postgresql").some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  } catch {
    return false;
  }
}

/** Installs nats-server and PostgreSQL from Debian when missing (as root), else says what to install. */
function ensureServers(): void {
  const missing: string[] = [];
  if (!hasCommand("nats-server") && !existsSync("/usr/sbin/nats-server")) missing.push("nats-server");
  if (!postgresInstalled()) missing.push("postgresql");
  // The exec sandbox runs commands under bubblewrap (issue 4); openssl makes the mTLS tests' certificates.
  if (!hasCommand("bwrap")) missing.push("bubblewrap");
  if (!hasCommand("openssl")) missing.push("openssl");
  // promtool checks /metrics against Prometheus' own naming rules (test/actors/observability/metrics.test.ts).
  if (!hasCommand("promtool")) missing.push("prometheus");
  // Exec jobs reach the outside through user-mode networking in a network namespace of their own.
  if (!hasCommand("slirp4netns")) missing.push("slirp4netns");
  // The LDAP connector's tests run a real OpenLDAP (test/harness/slapd.ts); its bench compares with ldapsearch.
  if (!hasCommand("slapd") && !existsSync("/usr/sbin/slapd")) missing.push("slapd");
  if (!hasCommand("ldapsearch")) missing.push("ldap-utils");
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(
      `The tests need these Debian packages: ${
        missing.join(" ")
      }. Install them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    process.exit(2);
  }
  console.log(`Installing ${missing.join(", ")} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env,
  });
  if (update.status !== 0 || install.status !== 0) {
    console.error(`Could not install ${missing.join(" ")} with apt-get`);
    process.exit(2);
  }
}

function run(command: string, argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: root, env: { ...process.env, ...env }, stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

interface Counts {
  passed: number;
  failed: number;
}

function nodeCounts(tapFile: string): Counts {
  const text = existsSync(tapFile) ? readFileSync(tapFile, "utf8") : "";
  const pass = /^# pass (\d+)/m.exec(text);
  const fail = /^# fail (\d+)/m.exec(text);
  const cancelled = /^# cancelled (\d+)/m.exec(text);
  return {
    passed: Number(pass?.[1] ?? 0),
    failed: Number(fail?.[1] ?? 0) + Number(cancelled?.[1] ?? 0) + (pass ? 0 : 1),
  };
}

function decode(s: string): string {
  return s.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}

/** Counts leaf tests of Deno's JUnit report (a describe() is a test with steps there). */
function denoCounts(junitFile: string): Counts {
  if (!existsSync(junitFile)) return { passed: 0, failed: 1 };
  const text = readFileSync(junitFile, "utf8");
  const cases: { name: string; file: string; failed: boolean }[] = [];
  const re = /<testcase name="([^"]*)" classname="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of text.matchAll(re)) {
    cases.push({
      name: decode(m[1] ?? ""),
      file: m[2] ?? "",
      failed: (m[4] ?? "").includes("<failure") || (m[4] ?? "").includes("<error"),
    });
  }
  const names = new Set(cases.map((c) => c.name));
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const isParent = [...names].some((n) => n.startsWith(`${c.name} > `));
    if (isParent && !c.failed) continue;
    if (isParent && c.failed) {
      // A group that failed in a hook (no failing child) still counts as one failure.
      const childFailed = cases.some((o) => o.name.startsWith(`${c.name} > `) && o.failed);
      if (!childFailed) failed++;
      continue;
    }
    if (c.failed) failed++;
    else passed++;
  }
  return { passed, failed };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let runtimes = ["node", "deno"];
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runtime") runtimes = [argv[++i] as string];
    else files.push(argv[i] as string);
  }
  const tests = files.length ? files : findTests(join(root, "test"));
  ensureServers();
  const { startNatsServer } = await import("./harness/nats-server.ts");
  const { startPostgres } = await import("./harness/postgres-server.ts");
  console.log("Starting a throwaway nats-server and PostgreSQL cluster...");
  const [nats, pg] = await Promise.all([startNatsServer(), startPostgres()]);
  const env = {
    TROUPE_TEST_NATS_URL: nats.url,
    TROUPE_TEST_PG_URL: pg.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
  };
  const work = mkdtempSync(join(tmpdir(), "troupe-test-"));
  const totals: Record<string, Counts> = {};
  try {
    if (runtimes.includes("node")) {
      console.log(`\n== Node ${process.version}: ${tests.length} files ==`);
      const tap = join(work, "node.tap");
      await run(bin("node"), [
        "--test",
        "--test-concurrency=2",
        "--test-timeout=180000",
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=tap",
        `--test-reporter-destination=${tap}`,
        ...tests,
      ], env);
      totals.node = nodeCounts(tap);
    }
    if (runtimes.includes("deno")) {
      console.log(`\n== Deno: ${tests.length} files ==`);
      const junit = join(work, "deno.xml");
      await run(bin("deno"), ["test", "-A", "--no-check", `--junit-path=${junit}`, ...tests], env);
      totals.deno = denoCounts(junit);
    }
  } finally {
    await Promise.allSettled([nats.stop(), pg.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
  let passed = 0;
  let failed = 0;
  for (const [name, counts] of Object.entries(totals)) {
    console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed`);
    passed += counts.passed;
    failed += counts.failed;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

await main();
