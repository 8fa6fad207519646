/**
 * `discovery.kubernetes` through the real worker, scheduler and gateway, once per
 * backend, against the Kubernetes API stand-in: a sync fills the inventory, a
 * later complete sync marks what disappeared deleted, a partial one deletes
 * nothing and names the failed page, a schedule fires the sync, and the
 * reference metric names count it all. Credentials come by reference from a
 * mounted secret file.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../actors/process/config.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";
import { type Core, openCore, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { createGateway } from "../../../actors/gateway/gateway.ts";
import { asAdmin, TEST_TOKENS } from "../../support/gateway.ts";
import type { JobRow } from "../../../adapters/postgres/store.ts";
import { type Backend, backendEnv } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";
import { kubeconfigFor, type KubeStandIn, startKubeStandIn } from "./kubernetes/stand-in.ts";
import { sampleCluster } from "./kubernetes/fixtures.ts";

const KIND = "discovery.kubernetes";

export function runDiscoveryWorkerScenarios(backend: Backend): void {
  describe(`discovery.kubernetes through the worker on ${backend}`, () => {
    let k8s: KubeStandIn;
    let cluster: ReturnType<typeof sampleCluster>;
    let core: Core;
    let system: RunningSystem;
    let secrets: string;
    let cleanup = () => {};
    let total = 0;

    before(async () => {
      cluster = sampleCluster();
      total = Object.values(cluster).reduce((n, list) => n + list.length, 0);
      k8s = await startKubeStandIn(cluster);
      secrets = mkdtempSync(join(tmpdir(), "troupe-secrets-"));
      writeFileSync(
        join(secrets, "k8s-prod.json"),
        JSON.stringify({ kubeconfig: kubeconfigFor(k8s.url, k8s.token) }),
      );
      writeFileSync(
        join(secrets, "k8s-wrong.json"),
        JSON.stringify({ kubeconfig: kubeconfigFor(k8s.url, "wrong-token-s3cr3t") }),
      );
      const made = await backendEnv(backend);
      cleanup = made.cleanup;
      const env = {
        ...made.env,
        TROUPE_CREDENTIALS_DIR: secrets,
        TROUPE_BACKOFF_BASE_MS: "10",
        TROUPE_BACKOFF_MAX_MS: "50",
        TROUPE_SHUTDOWN_GRACE_MS: "200",
        TROUPE_SCHEDULER_TICK_MS: "100",
      };
      core = await openCore(loadConfig(env), { logger: silentLogger(), env });
      system = await startSystem(core, { worker: true, reconciler: true, scheduler: true });
    });

    after(async () => {
      await system?.stop();
      await k8s?.close();
      rmSync(secrets, { recursive: true, force: true });
      cleanup();
    });

    const final = (id: string) =>
      waitFor(async () => {
        const job = await core.store.getJob(id);
        return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
      }, { what: `job "${id}" to end`, timeoutMs: 30_000 });
    const live = async () =>
      (await core.inventory.listResources({ provider: "kubernetes", scope: "prod", limit: 1000 })).resources;
    const sync = async (id: string): Promise<JobRow> => {
      await core.jobs.submit({
        kind: KIND,
        id,
        payload: { scope: "prod", credentials: "k8s-prod" },
        org: "acme",
      });
      return await final(id);
    };
    const metric = async (pattern: RegExp) => {
      const { body } = await system.metrics.render();
      const line = body.split("\n").find((l) => pattern.test(l));
      return line ? Number(line.split(" ").at(-1)) : 0;
    };

    it("a sync reads the whole cluster into resources, with links and the org", async () => {
      const job = await sync("k8s-sync-1");
      assert.equal(job.status, "success", JSON.stringify(job.lastError));
      const result = job.result as { complete: boolean; created: number; deleted: number; sources: number };
      assert.deepEqual([result.complete, result.created, result.deleted, result.sources], [
        true,
        total,
        0,
        8,
      ]);
      const rows = await live();
      assert.equal(rows.length, total);
      assert.ok(rows.every((r) => r.org === "acme"));
      const pod = rows.find((r) => r.type === "pod" && r.externalId === "shop/web-0");
      assert.ok(pod);
      const full = await core.inventory.getResource(pod.id);
      const ns = full?.links.find((l) => l.relation === "in" && l.type === "namespace");
      assert.equal(ns?.externalId, "shop");
      assert.ok(ns?.id, "the namespace link resolves to the namespace's row");
      const [run] = await core.inventory.listRuns({ jobId: "k8s-sync-1" });
      assert.equal(run?.status, "success");
      assert.equal(
        await metric(/^worker_discovery_jobs_executed_total\{provider="kubernetes",status="success"\}/),
        1,
      );
      assert.equal(
        await metric(/^worker_entities_synced\{connector="kubernetes",operation="created"\}/),
        total,
      );
      assert.ok(await metric(/^worker_discovery_poll_duration_seconds_count\{provider="kubernetes"\}/) >= 1);
    });

    it("a later complete sync, throttled once, marks the pods that went away deleted", async () => {
      const removed = cluster.pods.splice(0, 2).map((p) =>
        `${(p.metadata as { namespace: string }).namespace}/${(p.metadata as { name: string }).name}`
      );
      k8s.fail({
        match: (r) => r.path === "/api/v1/pods",
        status: 429,
        reason: "TooManyRequests",
        retryAfter: "1",
      });
      const job = await sync("k8s-sync-2");
      assert.equal(job.status, "success", JSON.stringify(job.lastError));
      assert.equal((job.result as { deleted: number }).deleted, 2);
      assert.equal(k8s.requests.filter((r) => r.path === "/api/v1/pods" && r.status === 429).length, 1);
      const deleted = (await core.inventory.listResources({ scope: "prod", state: "deleted" })).resources.map(
        (r) => r.externalId,
      ).sort();
      assert.deepEqual(deleted, removed.sort());
      assert.equal(await metric(/^worker_entities_synced\{connector="kubernetes",operation="deleted"\}/), 2);
    });

    it("a partial sync deletes nothing, fails the job naming the failed page, and records the run as partial", async () => {
      const gone = cluster.pods.splice(0, 1);
      k8s.fail({
        match: (r) => r.path === "/api/v1/services",
        status: 403,
        reason: "Forbidden",
        message: "services is forbidden",
      });
      const job = await sync("k8s-sync-3");
      assert.equal(job.status, "failed");
      const error = job.lastError as { code: string; message: string };
      assert.equal(error.code, "DISCOVERY_PARTIAL");
      assert.match(error.message, /service page 1/);
      assert.match(error.message, /nothing marked deleted/);
      const [run] = await core.inventory.listRuns({ jobId: "k8s-sync-3" });
      assert.equal(run?.status, "partial");
      assert.deepEqual(run?.failedPages?.map((f) => [f.source, f.page, f.retryable]), [[
        "service",
        1,
        false,
      ]]);
      const podGone = `${(gone[0]?.metadata as { namespace: string }).namespace}/${
        (gone[0]?.metadata as { name: string }).name
      }`;
      assert.ok(
        (await live()).some((r) => r.externalId === podGone),
        "the vanished pod is still live: a partial sync deletes nothing",
      );
      assert.equal(
        await metric(/^worker_discovery_jobs_executed_total\{provider="kubernetes",status="partial"\}/),
        1,
      );
    });

    it("bad credentials fail the job at once without echoing them; an unknown reference says where it looked", async () => {
      await core.jobs.submit({
        kind: KIND,
        id: "k8s-bad-token",
        payload: { scope: "prod", credentials: "k8s-wrong" },
      });
      const bad = await final("k8s-bad-token");
      assert.equal(bad.status, "failed");
      assert.equal(bad.attempts, 1, "permanent: not retried");
      assert.doesNotMatch(JSON.stringify(bad.lastError), /s3cr3t/);
      await core.jobs.submit({
        kind: KIND,
        id: "k8s-no-ref",
        payload: { scope: "prod", credentials: "nope" },
      });
      const missing = await final("k8s-no-ref");
      assert.equal(missing.status, "failed");
      assert.match(JSON.stringify(missing.lastError), /CREDENTIALS_NOT_FOUND.*TROUPE_CREDENTIALS_NOPE/);
      await assert.rejects(
        core.jobs.submit({ kind: KIND, payload: { scope: "prod", credentials: { token: "inline" } } }),
        /payload\.credentials/,
      );
    });

    it("a payload without a scope syncs the kubeconfig's current context", async () => {
      await core.jobs.submit({ kind: KIND, id: "k8s-default-scope", payload: { credentials: "k8s-prod" } });
      const job = await final("k8s-default-scope");
      assert.equal(job.status, "success", JSON.stringify(job.lastError));
      assert.equal((job.result as { scope: string }).scope, "prod");
      const [run] = await core.inventory.listRuns({ jobId: "k8s-default-scope" });
      assert.equal(run?.scope, "prod");
    });

    it("a schedule fires the sync and takes on its status; /resources and /discovery/runs serve the result", async () => {
      await core.schedules.create({
        id: "k8s-prod",
        kind: KIND,
        payload: { scope: "prod", credentials: "k8s-prod" },
        intervalSeconds: 3600,
      });
      const row = await waitFor(async () => {
        const s = await core.schedules.get("k8s-prod");
        return s && ["success", "failed"].includes(s.status) ? s : undefined;
      }, { what: "the scheduled sync to end", timeoutMs: 30_000 });
      assert.equal(row.status, "success", JSON.stringify(row.lastError));
      assert.match(row.lastJobId ?? "", /^schedule-k8s-prod-\d+$/);
      const app = asAdmin(createGateway({
        jobs: core.jobs,
        store: core.store,
        bus: core.bus,
        logger: silentLogger(),
        maxBodyBytes: 4096,
        inventory: { schedules: core.schedules, resources: core.inventory },
        tokens: TEST_TOKENS,
      }));
      const pods = await (await app.request("/resources?provider=kubernetes&type=pod&limit=2")).json() as {
        resources: { type: string }[];
        nextCursor: string | null;
      };
      assert.equal(pods.resources.length, 2);
      assert.ok(pods.nextCursor);
      assert.ok(pods.resources.every((r) => r.type === "pod"));
      const bad = await app.request("/resources?provider=ibm");
      assert.equal(bad.status, 422);
      const runs = await (await app.request(`/discovery/runs?jobId=${row.lastJobId}`)).json() as {
        runs: { status: string }[];
      };
      assert.deepEqual(runs.runs.map((r) => r.status), ["success"]);
    });
  });
}
