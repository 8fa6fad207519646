/**
 * The Inventory port's contract (plus the SQL reads and the reference views),
 * run once per SQL implementation: PGlite and PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { SqlClient } from "../../adapters/postgres/store.ts";
import { migrate } from "../../adapters/postgres/migrations.ts";
import { SqlInventory } from "../../adapters/postgres/sql-inventory.ts";
import type { DiscoveredResource } from "../../adapters/discovery/provider.ts";
import type { RunRef } from "../../adapters/discovery/inventory.ts";

const vpc = (id: string, region = "us-east-1"): DiscoveredResource => ({
  type: "ec2.vpc",
  category: "network",
  externalId: id,
  name: id,
  region,
  attributes: { cidr: "10.0.0.0/16" },
});
const subnet = (id: string, vpcId: string, region = "us-east-1"): DiscoveredResource => ({
  type: "ec2.subnet",
  category: "network",
  externalId: id,
  name: id,
  region,
  attributes: {},
  links: [{ relation: "in", type: "ec2.vpc", externalId: vpcId }],
});
const instance = (id: string, subnetId: string, vpcId: string, region = "us-east-1"): DiscoveredResource => ({
  type: "ec2.instance",
  category: "compute",
  externalId: id,
  name: `web-${id}`,
  region,
  attributes: { state: "running" },
  links: [{ relation: "in", type: "ec2.subnet", externalId: subnetId }, {
    relation: "in",
    type: "ec2.vpc",
    externalId: vpcId,
  }],
});

export function runInventoryContract(options: { name: string; open: () => Promise<SqlClient> }): void {
  describe(`Inventory contract: ${options.name}`, () => {
    let db: SqlClient;
    let inventory: SqlInventory;
    let n = 0;
    const scope = () => `acct${Date.now()}${n++}`;
    const run = (s: string, id: string): RunRef => ({ runId: id, provider: "aws", scope: s, org: "acme" });

    before(async () => {
      db = await options.open();
      await migrate(db);
      inventory = new SqlInventory(db);
    });
    after(async () => await db.close());

    it("upserts a page in one go: counts created then updated, rewrites links, keeps first_seen", async () => {
      const s = scope();
      const first = await inventory.upsert(run(s, "r1"), [
        vpc("vpc-1"),
        subnet("sub-1", "vpc-1"),
        instance("i-1", "sub-1", "vpc-1"),
      ]);
      assert.deepEqual(first, { created: 3, updated: 0 });
      const listed = await inventory.listResources({ scope: s, type: "ec2.instance" });
      assert.equal(listed.resources.length, 1);
      const before = listed.resources[0]!;
      assert.equal(before.org, "acme");
      assert.equal(before.runTag, "r1");
      // Same instance, now only in the VPC; a duplicate in the same page: the last one wins.
      const moved = {
        ...instance("i-1", "sub-1", "vpc-1"),
        links: [{ relation: "in", type: "ec2.vpc", externalId: "vpc-1" }],
      };
      const second = await inventory.upsert(run(s, "r2"), [{ ...moved, name: "old" }, moved]);
      assert.deepEqual(second, { created: 0, updated: 1 });
      const got = await inventory.getResource(before.id);
      assert.ok(got);
      assert.equal(got.name, "web-i-1");
      assert.equal(got.runTag, "r2");
      assert.equal(got.firstSeen.getTime(), before.firstSeen.getTime());
      assert.deepEqual(got.links.map((l) => [l.relation, l.type, l.externalId]), [[
        "in",
        "ec2.vpc",
        "vpc-1",
      ]]);
      assert.ok(got.links[0]?.id, "the link resolves to the VPC's row");
      const vpcRow = (await inventory.listResources({ scope: s, type: "ec2.vpc" })).resources[0]!;
      const vpcFull = await inventory.getResource(vpcRow.id);
      assert.deepEqual(vpcFull?.linkedFrom.map((l) => l.externalId).sort(), ["i-1", "sub-1"]);
    });

    it("marks deleted only unseen resources of the covered types and regions, and revives one seen again", async () => {
      const s = scope();
      await inventory.upsert(run(s, "a"), [
        vpc("vpc-e", "us-east-1"),
        vpc("vpc-w", "us-west-2"),
        subnet("sub-e", "vpc-e"),
        instance("i-e", "sub-e", "vpc-e"),
      ]);
      // Run b sees only vpc-e; it covers ec2.vpc in us-east-1 and us-west-2, and ec2.subnet in us-east-1 (not instances).
      await inventory.upsert(run(s, "b"), [vpc("vpc-e")]);
      const deleted = await inventory.markStale(run(s, "b"), [
        { types: ["ec2.vpc"], region: "us-east-1" },
        { types: ["ec2.vpc"], region: "us-west-2" },
        { types: ["ec2.subnet"], region: "us-east-1" },
      ]);
      assert.equal(deleted, 2, "vpc-w and sub-e");
      const live = (await inventory.listResources({ scope: s })).resources.map((r) => r.externalId).sort();
      assert.deepEqual(live, ["i-e", "vpc-e"]);
      const gone = (await inventory.listResources({ scope: s, state: "deleted" })).resources.map((r) =>
        r.externalId
      ).sort();
      assert.deepEqual(gone, ["sub-e", "vpc-w"]);
      assert.ok(
        (await inventory.listResources({ scope: s, state: "deleted" })).resources.every((r) =>
          r.deletedAt instanceof Date
        ),
      );
      // Seen again: live again.
      await inventory.upsert(run(s, "c"), [vpc("vpc-w", "us-west-2")]);
      assert.equal(
        (await inventory.listResources({ scope: s, externalId: undefined, type: "ec2.vpc" } as never))
          .resources.length,
        2,
      );
      // A null region covers every region of the type.
      assert.equal(
        await inventory.markStale(run(s, "c"), [{ types: ["ec2.vpc"], region: null }]),
        1,
        "vpc-e, not seen by c",
      );
    });

    it("lets one run per scope in; a run whose job is not running is closed as abandoned", async () => {
      const s = scope();
      const start = (runId: string, jobId: string) =>
        inventory.beginRun({ runId, jobId, attempt: 1, provider: "aws", scope: s, org: null });
      // Job j1 is running with a live lease.
      await db.query(
        `INSERT INTO jobs (id, kind, status, max_attempts, lease_expires_at) VALUES ($1, 'discovery.aws', 'running', 3, now() + interval '1 minute')`,
        [`${s}-j1`],
      );
      assert.deepEqual(await start(`${s}-j1:1`, `${s}-j1`), { started: true });
      assert.deepEqual(await start(`${s}-j2:1`, `${s}-j2`), { started: false, busyJobId: `${s}-j1` });
      // The same job again (a takeover after a crash) replaces its own run.
      assert.deepEqual(await start(`${s}-j1:2`, `${s}-j1`), { started: true });
      // j1 ends: j2 may start, and j1's run is closed as abandoned.
      await db.query(`UPDATE jobs SET status = 'failed' WHERE id = $1`, [`${s}-j1`]);
      assert.deepEqual(await start(`${s}-j2:1`, `${s}-j2`), { started: true });
      await inventory.finishRun(`${s}-j2:1`, {
        status: "partial",
        sources: 3,
        pages: 7,
        created: 1,
        updated: 2,
        deleted: 0,
        failedPages: [{
          source: "ec2.vpc us-east-1",
          page: 2,
          code: "AWS_THROTTLING",
          message: "slow down",
          retryable: true,
        }],
        error: "partial",
      });
      const runs = await inventory.listRuns({ scope: s });
      const byId = Object.fromEntries(runs.map((r) => [r.id, r]));
      assert.equal(byId[`${s}-j1:1`]?.status, "abandoned");
      assert.equal(byId[`${s}-j1:2`]?.status, "abandoned");
      assert.equal(byId[`${s}-j2:1`]?.status, "partial");
      assert.deepEqual(byId[`${s}-j2:1`]?.failedPages?.map((f) => [f.source, f.page]), [[
        "ec2.vpc us-east-1",
        2,
      ]]);
      // Two different scopes run side by side.
      assert.deepEqual(
        await inventory.beginRun({
          runId: `${s}-x`,
          jobId: `${s}-j3`,
          attempt: 1,
          provider: "gcp",
          scope: s,
          org: null,
        }),
        { started: true },
      );
    });

    it("serves the reference schema's views: entities, networking_resources (parent), data_stores, services, network_entity_mappings", async () => {
      const s = scope();
      await inventory.upsert(run(s, "v"), [
        vpc("vpc-v"),
        subnet("sub-v", "vpc-v"),
        instance("i-v", "sub-v", "vpc-v"),
        {
          type: "s3.bucket",
          category: "data",
          externalId: "logs",
          name: "logs",
          region: "eu-west-1",
          attributes: {},
        },
        {
          type: "lambda.function",
          category: "service",
          externalId: "arn:fn",
          name: "fn",
          region: "us-east-1",
          attributes: {},
        },
      ]);
      const entity = await db.query<Record<string, unknown>>("SELECT * FROM entities WHERE scope = $1", [s]);
      assert.deepEqual(
        entity.map((e) => [e.name, e.entity_type, e.resource_id, e.is_active, e.organization_id]),
        [["web-i-v", "compute", "i-v", true, "acme"]],
      );
      const nets = await db.query<Record<string, unknown>>(
        "SELECT * FROM networking_resources WHERE scope = $1 ORDER BY name",
        [s],
      );
      const vpcId = Number(nets.find((r) => r.name === "vpc-v")?.id);
      assert.equal(Number(nets.find((r) => r.name === "sub-v")?.parent_id), vpcId);
      assert.equal(nets.find((r) => r.name === "vpc-v")?.parent_id, null);
      const stores = await db.query<Record<string, unknown>>("SELECT * FROM data_stores WHERE scope = $1", [
        s,
      ]);
      assert.deepEqual(stores.map((r) => [r.name, r.storage_type, r.storage_provider, r.location_region]), [[
        "logs",
        "s3.bucket",
        "aws",
        "eu-west-1",
      ]]);
      const services = await db.query<Record<string, unknown>>("SELECT * FROM services WHERE scope = $1", [
        s,
      ]);
      assert.deepEqual(services.map((r) => r.name), ["fn"]);
      const entityId = Number(entity[0]?.id);
      const mappings = await db.query<Record<string, unknown>>(
        "SELECT * FROM network_entity_mappings WHERE entity_id = $1 ORDER BY network_id",
        [entityId],
      );
      assert.equal(mappings.length, 2, "the instance is in a subnet and a VPC");
      assert.ok(mappings.every((m) => m.relationship_type === "in"));
      assert.ok(mappings.some((m) => Number(m.network_id) === vpcId));
    });

    it("lists with filters and pages by cursor; a bad cursor is a validation error", async () => {
      const s = scope();
      await inventory.upsert(
        run(s, "p"),
        Array.from(
          { length: 25 },
          (_, i) => vpc(`vpc-${String(i).padStart(2, "0")}`, i % 2 ? "eu-west-1" : "us-east-1"),
        ),
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await inventory.listResources({ scope: s, limit: 10, ...(cursor ? { cursor } : {}) });
        seen.push(...page.resources.map((r) => r.externalId));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 25);
      assert.equal(new Set(seen).size, 25);
      assert.equal((await inventory.listResources({ scope: s, region: "eu-west-1" })).resources.length, 12);
      assert.deepEqual(
        (await inventory.listResources({ scope: s, name: "VPC-0" })).resources.map((r) => r.name).sort()
          .slice(0, 2),
        ["vpc-00", "vpc-01"],
      );
      assert.equal(
        (await inventory.listResources({ scope: s, name: "%" })).resources.length,
        0,
        "LIKE wildcards are literal",
      );
      await assert.rejects(inventory.listResources({ cursor: "garbage" }), { name: "ValidationError" });
    });
  });
}
