/**
 * `node bench/ldap-sync.ts [--rounds 5] [--users 10000] [--groups 1000]` (or
 * `deno run -A bench/ldap-sync.ts`): reading an OpenLDAP directory of 10,000
 * users and 1,000 nested groups (test/support/ldif.ts) behind a size limit of
 * 500, from one slapd started for the run, two ways, alternating in each round:
 *
 * - troupe: the LDAP provider through the sync engine (`runSync`) into a sink
 *   that only counts (the database is not what is measured here): OUs, users,
 *   then groups in two passes (DNs, then members resolved to entryUUIDs),
 *   pages of 500, each entry mapped to a directory entry;
 * - ldapsearch: `ldapsearch -E pr=500/noprompt` dumping the same entries
 *   (one search for OUs, users and groups, the same attributes) to a pipe
 *   that counts them.
 *
 * Both bind as the same read-only account, over plain LDAP and over LDAPS
 * (the CA in LDAPTLS_CACERT for ldapsearch). Prints each round, then a table
 * of medians and the ratio troupe / ldapsearch (target ≤ 2), with the CPU
 * time each client used (this process; ldapsearch under bash's `time`) and
 * the load average, since wall times on a shared machine move with its load.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createLdapProvider } from "../adapters/ldap/mod.ts";
import { OPENLDAP_MAPPING } from "../adapters/ldap/mapping.ts";
import type { DirectoryCovers, DirectoryEntry } from "../adapters/sync/directory.ts";
import { runSync } from "../adapters/sync/engine.ts";
import type { SyncSink } from "../adapters/sync/port.ts";
import { startSlapd } from "../test/harness/slapd.ts";
import { generateDirectory } from "../test/support/ldif.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) =>
  Number(argv[argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rounds = arg("rounds", 5);
const users = arg("users", 10_000);
const groups = arg("groups", 1_000);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A sink that counts what it is given. */
function countingSink(): SyncSink<DirectoryEntry, DirectoryCovers> & { items: number } {
  const sink = {
    items: 0,
    beginRun: () => Promise.resolve({ started: true as const }),
    upsert: (_run: unknown, items: DirectoryEntry[]) => {
      sink.items += items.length;
      return Promise.resolve({ created: items.length, updated: 0 });
    },
    markStale: () => Promise.resolve(0),
    finishRun: () => Promise.resolve(),
  };
  return sink;
}

/**
 * Runs ldapsearch (under bash's `time`, for its CPU time) and counts the
 * entries it printed; resolves with the count and the CPU milliseconds.
 */
function ldapsearch(
  args: string[],
  env: Record<string, string>,
): Promise<{ entries: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const child = spawn("bash", ["-c", `TIMEFORMAT='%U %S'; time ldapsearch ${quoted}`], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let entries = 0;
    let tail = "";
    let errors = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const text = tail + chunk;
      const lines = text.split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("dn: ")) entries++;
    });
    child.stderr.on("data", (d) => (errors += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`ldapsearch exited ${code}: ${errors}`));
      const [user, sys] = errors.trim().split(/\s+/).slice(-2).map(Number);
      resolve({ entries, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 });
    });
  });
}

/** CPU milliseconds (user + system) this process used since `since`. */
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

async function main(): Promise<void> {
  const runtime = "Deno" in globalThis
    ? `deno ${(globalThis as { Deno?: { version: { deno: string } } }).Deno!.version.deno}`
    : `node ${process.version}`;
  const model = generateDirectory({ users, groups });
  const expected = users + groups + model.organizations.length;
  const server = await startSlapd({ ldif: model.ldif, sizeLimit: 500 });
  const passwordFile = join(server.dir, "reader.pw");
  writeFileSync(passwordFile, server.readerPassword);
  const caFile = join(server.dir, "ca.pem");
  writeFileSync(caFile, server.ca);
  const provider = createLdapProvider();
  const m = OPENLDAP_MAPPING;
  const filter =
    `(|${m.filters.organizations}${m.filters.users}(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))`;
  const attributes = [...new Set([...m.organizationAttributes, ...m.userAttributes, ...m.groupAttributes])];
  const times: Record<string, number[]> = {};
  const record = (name: string, ms: number) => (times[name] ??= []).push(ms);
  console.log(
    `# LDAP sync bench (load average ${
      loadavg()[0]!.toFixed(1)
    } on ${cpus().length} cores): ${users} users, ${groups} groups, ${model.organizations.length} OUs; size limit 500, pages of 500; ${runtime}`,
  );
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [transport, url] of [["ldap", server.url], ["ldaps", server.ldapsUrl]] as const) {
        const sink = countingSink();
        const cpu = process.cpuUsage();
        let start = performance.now();
        const summary = await runSync({
          provider,
          target: {
            scope: "bench",
            org: null,
            credentials: {
              url,
              bindDN: server.readerDN,
              password: server.readerPassword,
              baseDN: server.suffix,
              ...(transport === "ldaps" ? { ca: server.ca } : {}),
            },
          },
          sink,
          runId: `bench-${round}-${transport}`,
          signal: new AbortController().signal,
        });
        const troupe = performance.now() - start;
        const troupeCpu = cpuMs(cpu);
        if (!summary.complete || sink.items !== expected) {
          throw new Error(`troupe read ${sink.items} of ${expected} entries (complete: ${summary.complete})`);
        }
        record(`troupe ${transport}`, troupe);
        record(`troupe cpu ${transport}`, troupeCpu);
        start = performance.now();
        const { entries: dumped, cpuMs: dumpCpu } = await ldapsearch([
          "-x",
          "-LLL",
          "-H",
          url,
          "-D",
          server.readerDN,
          "-y",
          passwordFile,
          "-b",
          server.suffix,
          "-E",
          "pr=500/noprompt",
          filter,
          ...attributes,
        ], { LDAPTLS_CACERT: caFile, LDAPTLS_REQCERT: "demand" });
        const dump = performance.now() - start;
        if (dumped !== expected) throw new Error(`ldapsearch dumped ${dumped} of ${expected} entries`);
        record(`ldapsearch ${transport}`, dump);
        record(`ldapsearch cpu ${transport}`, dumpCpu);
        console.log(
          `round ${round} ${transport.padEnd(5)} troupe ${troupe.toFixed(0).padStart(5)} ms ` +
            `(cpu ${troupeCpu.toFixed(0)} ms, ${summary.pages} pages), ` +
            `ldapsearch ${dump.toFixed(0).padStart(5)} ms (cpu ${dumpCpu.toFixed(0)} ms)`,
        );
      }
    }
  } finally {
    await provider.close?.();
    await server.stop();
  }
  console.log(
    `\n# medians of ${rounds} (${expected} entries each); load average ${
      loadavg()[0]!.toFixed(1)
    } on ${cpus().length} cores`,
  );
  console.log(
    "| transport | troupe (provider + engine) | ldapsearch -E pr=500 | troupe / ldapsearch | client CPU troupe | client CPU ldapsearch |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const transport of ["ldap", "ldaps"]) {
    const t = median(times[`troupe ${transport}`]!);
    const l = median(times[`ldapsearch ${transport}`]!);
    const tc = median(times[`troupe cpu ${transport}`]!);
    const lc = median(times[`ldapsearch cpu ${transport}`]!);
    console.log(
      `| ${transport} | ${t.toFixed(0)} ms | ${l.toFixed(0)} ms | ${(t / l).toFixed(2)}x | ${
        tc.toFixed(0)
      } ms | ${lc.toFixed(0)} ms |`,
    );
  }
}

await main();
