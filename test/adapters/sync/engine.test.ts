/**
 * The sync engine over the real SQL inventory (PGlite), with a provider scripted
 * in the test: what the engine does with pages, throttling, failures and aborts.
 * Each provider's own listing is tested against its stand-in elsewhere.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPgliteClient } from "../../../adapters/postgres/mod.ts";
import { migrate } from "../../../adapters/postgres/migrations.ts";
import { SqlInventory } from "../../../adapters/postgres/sql-inventory.ts";
import type { SqlClient } from "../../../adapters/postgres/store.ts";
import { runSync, type SyncOptions } from "../../../adapters/sync/engine.ts";
import type {
  DiscoveredResource,
  DiscoveryProvider,
  DiscoverySource,
  ResourceCovers,
} from "../../../adapters/discovery/provider.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";

type Fault = { page: number; error: Error; times: number };

/** A source serving `count` resources of `type` in pages of `size`, failing pages as told. */
function scripted(
  type: string,
  region: string | null,
  count: number,
  size: number,
  faults: Fault[] = [],
  log?: { active: number; max: number; calls: string[] },
): DiscoverySource {
  const resources: DiscoveredResource[] = Array.from({ length: count }, (_, i) => ({
    type,
    category: "compute",
    externalId: `${type}-${region}-${i}`,
    name: `${type} ${i}`,
    region,
    attributes: { i },
  }));
  return {
    name: `${type} ${region ?? "global"}`,
    covers: { types: [type], region },
    async fetchPage(token) {
      const page = token ? Number(token) : 1;
      if (log) {
        log.active++;
        log.max = Math.max(log.max, log.active);
        log.calls.push(`${type}:${page}`);
      }
      try {
        await new Promise((r) => setTimeout(r, 2));
        const fault = faults.find((f) => f.page === page && f.times > 0);
        if (fault) {
          fault.times--;
          throw fault.error;
        }
        const slice = resources.slice((page - 1) * size, page * size);
        return page * size < count ? { items: slice, next: String(page + 1) } : { items: slice };
      } finally {
        if (log) log.active--;
      }
    },
  };
}

function provider(sources: DiscoverySource[]): DiscoveryProvider {
  return { provider: "aws", plan: () => Promise.resolve(sources) };
}

describe("Sync engine", () => {
  let db: SqlClient;
  let inventory: SqlInventory;
  let n = 0;
  const scope = () => `s${n++}`;
  const sleeps: number[] = [];
  const sleep = (ms: number) => {
    sleeps.push(ms);
    return Promise.resolve();
  };
  const sync = (
    s: string,
    runId: string,
    sources: DiscoverySource[],
    extra: Partial<SyncOptions<DiscoveredResource, ResourceCovers>> = {},
  ) =>
    runSync({
      provider: provider(sources),
      target: { scope: s, org: null },
      sink: inventory,
      runId,
      signal: new AbortController().signal,
      sleep,
      random: () => 1,
      ...extra,
    });

  before(async () => {
    db = await createPgliteClient();
    await migrate(db);
    inventory = new SqlInventory(db);
  });
  after(async () => await db.close());

  it("reads every page of every source and marks what a complete sync did not see deleted", async () => {
    const s = scope();
    const first = await sync(s, "r1", [scripted("vm", "r1", 23, 5), scripted("net", null, 4, 10)]);
    assert.deepEqual({
      complete: first.complete,
      pages: first.pages,
      items: first.items,
      created: first.created,
      deleted: first.deleted,
    }, {
      complete: true,
      pages: 6,
      items: 27,
      created: 27,
      deleted: 0,
    });
    // The cloud lost 3 VMs: the next complete sync marks exactly those deleted.
    const second = await sync(s, "r2", [scripted("vm", "r1", 20, 5), scripted("net", null, 4, 10)]);
    assert.equal(second.updated, 24);
    assert.equal(second.deleted, 3);
    const gone = (await inventory.listResources({ scope: s, state: "deleted" })).resources.map((r) =>
      r.externalId
    ).sort();
    assert.deepEqual(gone, ["vm-r1-20", "vm-r1-21", "vm-r1-22"]);
  });

  it("retries a throttled page after its Retry-After and then goes on from the same token", async () => {
    const s = scope();
    sleeps.length = 0;
    const log = { active: 0, max: 0, calls: [] as string[] };
    const summary = await sync(s, "t1", [
      scripted("vm", "r1", 12, 5, [{
        page: 2,
        error: new TransientError("429 slow down", { code: "THROTTLED", retryAfterMs: 2000 }),
        times: 2,
      }], log),
    ]);
    assert.equal(summary.complete, true);
    assert.equal(summary.items, 12);
    assert.deepEqual(sleeps, [2000, 2000], "Retry-After honoured each time");
    assert.deepEqual(log.calls, ["vm:1", "vm:2", "vm:2", "vm:2", "vm:3"]);
  });

  it("a partial sync deletes nothing and names the failed pages; other sources still complete", async () => {
    const s = scope();
    await sync(s, "p0", [scripted("vm", "r1", 10, 5), scripted("db", "r1", 3, 5)]);
    sleeps.length = 0;
    // The cloud now has fewer of each, but page 2 of vm is denied and db's first page is throttled past its attempts.
    const summary = await sync(s, "p1", [
      scripted("vm", "r1", 7, 5, [{
        page: 2,
        error: new PermanentError("AccessDenied", { code: "AWS_ACCESS_DENIED" }),
        times: 1,
      }]),
      scripted("db", "r1", 1, 5, [{
        page: 1,
        error: new TransientError("503", { code: "UNAVAILABLE" }),
        times: 99,
      }]),
      scripted("fn", "r1", 2, 5),
    ], { pageAttempts: 3 });
    assert.equal(summary.complete, false);
    assert.equal(summary.deleted, 0);
    assert.deepEqual(summary.failedPages.map((f) => [f.source, f.page, f.code, f.retryable]), [
      ["db r1", 1, "UNAVAILABLE", true],
      ["vm r1", 2, "AWS_ACCESS_DENIED", false],
    ]);
    assert.equal(sleeps.length, 2, "the transient page was tried 3 times");
    assert.equal(
      (await inventory.listResources({ scope: s, state: "deleted" })).resources.length,
      0,
      "nothing marked deleted",
    );
    assert.equal(
      (await inventory.listResources({ scope: s, type: "fn" })).resources.length,
      2,
      "the good source was written",
    );
  });

  it("reads at most `concurrency` sources at once", async () => {
    const s = scope();
    const log = { active: 0, max: 0, calls: [] as string[] };
    const sources = Array.from({ length: 10 }, (_, i) => scripted(`t${i}`, "r1", 12, 3, [], log));
    const summary = await sync(s, "c1", sources, { concurrency: 3 });
    assert.equal(summary.items, 120);
    assert.equal(log.max, 3);
  });

  it("throws the inventory's error when a page cannot be written, and stops", async () => {
    const s = scope();
    const broken = new SqlInventory({
      ...db,
      query: db.query.bind(db),
      exec: db.exec.bind(db),
      close: db.close.bind(db),
      transaction: () => Promise.reject(new Error("connection terminated")),
    } as SqlClient);
    await assert.rejects(
      runSync({
        provider: provider([scripted("vm", "r1", 20, 5)]),
        target: { scope: s, org: null },
        sink: broken,
        runId: "w1",
        signal: new AbortController().signal,
        sleep,
      }),
      /connection terminated/,
    );
    assert.equal((await inventory.listResources({ scope: s, state: "all" })).resources.length, 0);
  });

  it("stops with the signal's reason when aborted", async () => {
    const s = scope();
    const controller = new AbortController();
    const source = scripted("vm", "r1", 50, 1);
    const slow: DiscoverySource = {
      ...source,
      async fetchPage(token, signal) {
        if (token === "5") controller.abort(new Error("cancelled by user"));
        return await source.fetchPage(token, signal);
      },
    };
    await assert.rejects(
      runSync({
        provider: provider([slow]),
        target: { scope: s, org: null },
        sink: inventory,
        runId: "a1",
        signal: controller.signal,
      }),
      /cancelled by user/,
    );
    assert.ok((await inventory.listResources({ scope: s })).resources.length < 50);
    assert.equal((await inventory.listResources({ scope: s, state: "deleted" })).resources.length, 0);
  });
});

describe("Sync engine: expired page tokens", () => {
  it("reads a source again from its first page when its token expired, at most twice", async () => {
    const db = await createPgliteClient();
    await migrate(db);
    const inventory = new SqlInventory(db);
    const calls: string[] = [];
    let expiries = 1;
    const resources = (from: number, to: number): DiscoveredResource[] =>
      Array.from(
        { length: to - from },
        (_, i) => ({
          type: "pod",
          category: "compute",
          externalId: `p${from + i}`,
          name: null,
          region: null,
          attributes: {},
        }),
      );
    const source = (): DiscoverySource => ({
      name: "pod",
      covers: { types: ["pod"], region: null },
      fetchPage(token) {
        calls.push(token ?? "first");
        if (token === "2" && expiries-- > 0) {
          return Promise.reject(new TransientError("410 Gone", { code: "PAGE_TOKEN_EXPIRED" }));
        }
        return Promise.resolve(
          token === "2" ? { items: resources(5, 8) } : { items: resources(0, 5), next: "2" },
        );
      },
    });
    const ok = await runSync({
      provider: provider([source()]),
      target: { scope: "k", org: null },
      sink: inventory,
      runId: "e1",
      signal: new AbortController().signal,
    });
    assert.equal(ok.complete, true);
    assert.equal(ok.items, 13, "page 1 read twice");
    assert.deepEqual(calls, ["first", "2", "first", "2"]);
    expiries = 99;
    calls.length = 0;
    const failed = await runSync({
      provider: provider([source()]),
      target: { scope: "k", org: null },
      sink: inventory,
      runId: "e2",
      signal: new AbortController().signal,
    });
    assert.equal(failed.complete, false);
    assert.deepEqual(failed.failedPages.map((f) => f.code), ["PAGE_TOKEN_EXPIRED"]);
    assert.deepEqual(
      calls,
      ["first", "2", "first", "2", "first", "2"],
      "two restarts, then the page counts as failed",
    );
    assert.equal(failed.deleted, 0);
    await db.close();
  });
});
