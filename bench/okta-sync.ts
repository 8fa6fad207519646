/**
 * `node bench/okta-sync.ts [--rounds 3] [--users 10000] [--groups 100]
 * [--limit 60] [--window-ms 6000] [--latency-ms 50]` (or `deno run -A
 * bench/okta-sync.ts`): reading an Okta org of 10,000 users (200 a page), its
 * groups and every group's members from the Okta stand-in
 * (test/support/standins/okta.ts), whose rate limit is Okta's 600 requests a
 * minute per bucket scaled down in time: 60 requests per 6-second window (the
 * same rate, ten times shorter, so a run takes seconds, not minutes). Each
 * answer is held back `--latency-ms` (a stand-in for the network and Okta's own
 * time). Two ways, over the same stand-in, alternating in each round:
 *
 * - troupe: the Okta provider through the sync engine (`runSync`, four sources
 *   at once) into a sink that only counts, pacing itself by
 *   `X-Rate-Limit-Remaining`/`X-Rate-Limit-Reset`;
 * - naive: one loop over the same requests (users, deprovisioned users, groups,
 *   then each group's members, following `Link` next pages) that ignores the
 *   rate-limit headers and, on a 429, waits out the documented window (a
 *   "minute": `--window-ms`) before trying the same page again.
 *
 * Each round uses a fresh stand-in (fresh windows). Prints each round (wall
 * time, requests, 429s, entries), the medians and the ratio troupe / naive
 * (target ≤ 0.5).
 *
 * @module
 */
import process from "node:process";
import { createOktaProvider } from "../adapters/okta/mod.ts";
import type { DirectoryCovers, DirectoryEntry } from "../adapters/sync/directory.ts";
import { runSync } from "../adapters/sync/engine.ts";
import type { SyncSink } from "../adapters/sync/port.ts";
import { generateOktaModel, type OktaModel, startOktaStandIn } from "../test/support/standins/okta.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(value) ? value : fallback;
};
const rounds = arg("rounds", 3);
const users = arg("users", 10_000);
const groups = arg("groups", 100);
const limit = arg("limit", 60);
const windowMs = arg("window-ms", 6_000);
const latencyMs = arg("latency-ms", 50);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sink that only counts entries. */
function countingSink() {
  let entries = 0;
  const sink: SyncSink<DirectoryEntry, DirectoryCovers> = {
    beginRun: () => Promise.resolve({ started: true }),
    upsert: (_run, items) => {
      entries += items.length;
      return Promise.resolve({ created: items.length, updated: 0 });
    },
    markStale: () => Promise.resolve(0),
    finishRun: () => Promise.resolve(),
  };
  return { sink, count: () => entries };
}

async function troupe(url: string, token: string): Promise<number> {
  const counting = countingSink();
  const summary = await runSync({
    provider: createOktaProvider(),
    target: { scope: "bench", org: null, credentials: { orgUrl: url, token } },
    sink: counting.sink,
    runId: "bench",
    signal: new AbortController().signal,
  });
  if (!summary.complete) {
    throw new Error(`troupe: partial sync: ${JSON.stringify(summary.failedPages.slice(0, 3))}`);
  }
  return counting.count();
}

async function naive(url: string, token: string): Promise<number> {
  let entries = 0;
  /** Every item of a listing, page after page, waiting out each 429. */
  async function all(first: string): Promise<{ id: string }[]> {
    const out: { id: string }[] = [];
    let next: string | undefined = `${url}${first}`;
    while (next) {
      const response: Response = await fetch(next, {
        headers: { authorization: `SSWS ${token}`, accept: "application/json" },
      });
      if (response.status === 429) {
        await response.body?.cancel();
        await sleep(windowMs);
        continue;
      }
      if (!response.ok) throw new Error(`naive: HTTP ${response.status} on ${next}`);
      out.push(...await response.json() as { id: string }[]);
      next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
    }
    return out;
  }
  entries += (await all("/api/v1/users?limit=200")).length;
  entries +=
    (await all(`/api/v1/users?${new URLSearchParams({ search: 'status eq "DEPROVISIONED"', limit: "200" })}`))
      .length;
  const list = await all("/api/v1/groups?limit=200");
  entries += list.length;
  for (const group of list) entries += (await all(`/api/v1/groups/${group.id}/users?limit=200`)).length;
  return entries;
}

function expected(model: OktaModel): number {
  let edges = 0;
  for (const members of model.members.values()) edges += members.length;
  return model.users.length + model.groups.length + edges;
}

console.log(
  `Okta stand-in: ${users} users, ${groups} groups, limit ${limit} requests per ${windowMs} ms per bucket ` +
    `(Okta's ${Math.round(limit * 60_000 / windowMs)}/minute, time scaled by ${60_000 / windowMs}), ` +
    `${latencyMs} ms per answer; ${rounds} rounds`,
);
const times: Record<"troupe" | "naive", number[]> = { troupe: [], naive: [] };
for (let round = 0; round < rounds; round++) {
  const ways = round % 2 === 0 ? (["troupe", "naive"] as const) : (["naive", "troupe"] as const);
  for (const way of ways) {
    const model = generateOktaModel({ users, groups });
    const okta = await startOktaStandIn(model, { rateLimit: limit, windowMs, latencyMs });
    try {
      const start = performance.now();
      const entries = await (way === "troupe" ? troupe : naive)(okta.url, okta.tokens[0]!);
      const ms = performance.now() - start;
      times[way].push(ms);
      const want = expected(model);
      console.log(
        `round ${round + 1} ${way.padEnd(6)} ${
          (ms / 1000).toFixed(2).padStart(6)
        } s, ${okta.stats.requests} requests, ` +
          `${okta.stats.throttled} answered 429, ${entries} entries${
            entries === want ? "" : ` (expected ${want})`
          }`,
      );
    } finally {
      await okta.close();
    }
  }
}
const t = median(times.troupe);
const n = median(times.naive);
console.log(
  `median: troupe ${(t / 1000).toFixed(2)} s, naive ${(n / 1000).toFixed(2)} s, ratio ${
    (t / n).toFixed(2)
  } (target ≤ 0.5)`,
);
