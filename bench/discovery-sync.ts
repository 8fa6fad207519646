/**
 * `node bench/discovery-sync.ts [--rounds 3] [--resources 10000] [--pages 20]`:
 * a discovery sync of 10,000 resources across 20 pages (four Kubernetes lists of
 * five pages each) from the Kubernetes API stand-in, with throttling injected
 * (a 429 with `Retry-After: 1` on the second page of every list), into a
 * throwaway PostgreSQL. Two ways, over the same stand-in, the same SDK
 * provider and the same database, alternating in each round:
 *
 * - troupe: the sync engine (`runSync`): four sources at once, each page
 *   written as one batched upsert while the next page is fetched;
 * - naive: a sequential loop over the same sources and pages, sleeping out each
 *   Retry-After, writing each resource with its own INSERT … ON CONFLICT.
 *
 * Prints each round, the medians, the ratio (troupe / naive; target ≤ 0.25),
 * resources missed (target 0), and the batched upsert rate into PostgreSQL.
 *
 * @module
 */
import process from "node:process";
import { createPostgresClient } from "../adapters/postgres/mod.ts";
import { migrate } from "../adapters/postgres/migrations.ts";
import { SqlInventory } from "../adapters/postgres/sql-inventory.ts";
import type { SqlClient } from "../adapters/postgres/store.ts";
import { runSync } from "../adapters/sync/engine.ts";
import { createKubernetesDiscoveryProvider } from "../adapters/discovery/kubernetes/mod.ts";
import type { DiscoveredResource, DiscoverySource } from "../adapters/discovery/provider.ts";
import { toJobErrorInfo } from "../machines/errors.ts";
import { startPostgres } from "../test/harness/postgres-server.ts";
import {
  type ClusterObjects,
  kubeconfigFor,
  startKubeStandIn,
} from "../test/adapters/discovery/kubernetes/stand-in.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) =>
  Number(argv[argv.indexOf(`--${name}`) + 1] || fallback) || fallback;
const rounds = arg("rounds", 3);
const total = arg("resources", 10_000);
const pages = arg("pages", 20);
const LISTS = ["/api/v1/namespaces", "/api/v1/pods", "/api/v1/services", "/api/v1/serviceaccounts"] as const;
const perList = Math.floor(total / LISTS.length);
const pageSize = Math.ceil(total / pages);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function cluster(): ClusterObjects {
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    uid: crypto.randomUUID(),
    resourceVersion: "1",
    creationTimestamp: "2026-01-01T00:00:00Z",
    labels: { app: name.slice(0, 10) },
  });
  const range = (f: (i: number) => Record<string, unknown>) =>
    Array.from({ length: perList }, (_, i) => f(i));
  return {
    namespaces: range((i) => ({ metadata: meta(`ns-${i}`), status: { phase: "Active" } })),
    pods: range((i) => ({
      metadata: meta(`pod-${i}`, `ns-${i % 50}`),
      spec: {
        nodeName: `node-${i % 7}`,
        serviceAccountName: "default",
        containers: [{ name: "app", image: "shop/web:1" }],
      },
      status: { phase: "Running", podIP: `10.1.${Math.floor(i / 250)}.${i % 250}` },
    })),
    services: range((i) => ({
      metadata: meta(`svc-${i}`, `ns-${i % 50}`),
      spec: {
        type: "ClusterIP",
        clusterIP: `10.96.${Math.floor(i / 250)}.${i % 250}`,
        ports: [{ port: 80 }],
      },
    })),
    deployments: [],
    persistentVolumes: [],
    serviceAccounts: range((i) => ({ metadata: meta(`sa-${i}`, `ns-${i % 50}`) })),
    roleBindings: [],
    clusterRoleBindings: [],
  };
}

/** The reference worker's shape: one page after another, one statement per resource. */
async function naiveSync(
  db: SqlClient,
  sources: DiscoverySource[],
  scope: string,
  runId: string,
): Promise<number> {
  let written = 0;
  for (const source of sources) {
    let token: string | undefined;
    do {
      let page;
      for (;;) {
        try {
          page = await source.fetchPage(token, new AbortController().signal);
          break;
        } catch (error) {
          const info = toJobErrorInfo(error);
          if (info.kind !== "transient") throw error;
          await new Promise((r) => setTimeout(r, info.retryAfterMs ?? 1000));
        }
      }
      for (const r of page.items) {
        await db.query(
          `INSERT INTO resources (provider, scope, type, external_id, category, name, region, attributes, run_tag)
           VALUES ('kubernetes', $1, $2, $3, $4, $5, $6, $7::text::jsonb, $8)
           ON CONFLICT (provider, scope, type, external_id) DO UPDATE SET name = EXCLUDED.name, attributes = EXCLUDED.attributes,
             run_tag = EXCLUDED.run_tag, last_seen = now(), deleted_at = NULL`,
          [scope, r.type, r.externalId, r.category, r.name, r.region, JSON.stringify(r.attributes), runId],
        );
        written++;
      }
      token = page.next;
    } while (token);
  }
  return written;
}

async function main(): Promise<void> {
  const objects = cluster();
  const k8s = await startKubeStandIn(objects);
  const pg = await startPostgres();
  const db = createPostgresClient({ url: pg.url, max: 10 });
  await migrate(db);
  const inventory = new SqlInventory(db);
  const provider = createKubernetesDiscoveryProvider({ pageSize });
  const target = (scope: string) => ({
    scope: "bench",
    org: null,
    credentials: { kubeconfig: kubeconfigFor(k8s.url, k8s.token, ["bench"]) },
    _scope: scope,
  });
  const throttle = () => {
    for (const path of LISTS) {
      let seen = 0;
      k8s.fail({
        match: (r) => r.path === path && r.continue !== null && ++seen === 1,
        status: 429,
        reason: "TooManyRequests",
        retryAfter: "1",
      });
    }
  };
  const missed = async (scope: string, runId: string) => {
    const [row] = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM resources WHERE provider = 'kubernetes' AND scope = $1 AND run_tag = $2",
      [scope, runId],
    );
    return LISTS.length * perList - Number(row?.n ?? 0);
  };
  console.log(
    `discovery sync: ${LISTS.length * perList} resources, ${LISTS.length} lists × ${
      Math.ceil(perList / pageSize)
    } pages of ${pageSize}, a 429 Retry-After: 1 on page 2 of each list`,
  );
  const times = { troupe: [] as number[], naive: [] as number[] };
  let missedTotal = 0;
  for (let round = 0; round < rounds; round++) {
    for (const way of round % 2 ? ["naive", "troupe"] as const : ["troupe", "naive"] as const) {
      const scope = `${way}-${round}`;
      const runId = `${scope}-run`;
      throttle();
      const sources = await provider.plan({ ...target(scope), scope: "bench" }, new AbortController().signal);
      const started = performance.now();
      if (way === "troupe") {
        // Same sources, but written under this round's scope.
        const summary = await runSync({
          provider: { provider: "kubernetes", plan: () => Promise.resolve(sources) },
          target: { scope, org: null },
          sink: inventory,
          runId,
          signal: new AbortController().signal,
          concurrency: 4,
        });
        if (!summary.complete) throw new Error(`incomplete sync: ${JSON.stringify(summary.failedPages)}`);
      } else {
        await naiveSync(db, sources, scope, runId);
      }
      const ms = performance.now() - started;
      const lost = await missed(scope, runId);
      missedTotal += lost;
      times[way].push(ms);
      console.log(`round ${round + 1} ${way.padEnd(6)} ${ms.toFixed(0).padStart(6)} ms, missed ${lost}`);
    }
  }
  const t = median(times.troupe);
  const n = median(times.naive);
  console.log(
    `median: troupe ${t.toFixed(0)} ms, naive ${n.toFixed(0)} ms, ratio ${
      (t / n).toFixed(3)
    } (target ≤ 0.25), missed ${missedTotal} in all`,
  );

  // Upsert rate: the inventory's batched write alone, pages of 500, fresh then again (updates).
  const batch: DiscoveredResource[] = Array.from({ length: total }, (_, i) => ({
    type: "pod",
    category: "compute",
    externalId: `ns/p-${i}`,
    name: `p-${i}`,
    region: null,
    attributes: { phase: "Running", node: `node-${i % 7}`, labels: { app: "web" } },
    links: [{ relation: "in", type: "namespace", externalId: `ns-${i % 50}` }],
  }));
  for (const phase of ["insert", "update"]) {
    const started = performance.now();
    for (let i = 0; i < batch.length; i += 500) {
      await inventory.upsert(
        { runId: `rate-${phase}`, provider: "kubernetes", scope: "rate", org: null },
        batch.slice(i, i + 500),
      );
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `upsert rate (${phase}, pages of 500 with one link each): ${(total / seconds).toFixed(0)} resources/s`,
    );
  }
  await provider.close?.();
  await db.close();
  await k8s.close();
  await pg.stop();
}

await main();
