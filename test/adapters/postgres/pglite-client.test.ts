/**
 * createPgliteClient(): the embedded PostgreSQL starts with the small-footprint
 * settings (PGLITE_SETTINGS), which win over the data folder's postgresql.conf,
 * and a caller may ask for PGlite's own.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPgliteClient,
  PGLITE_SETTINGS,
  pgliteStartParams,
} from "../../../adapters/postgres/pglite-client.ts";

async function show(settings?: Record<string, string>, dataDir?: string): Promise<Record<string, string>> {
  const db = await createPgliteClient({ ...(dataDir ? { dataDir } : {}), ...(settings ? { settings } : {}) });
  try {
    const out: Record<string, string> = {};
    for (const name of ["shared_buffers", "work_mem", "maintenance_work_mem", "fsync"]) {
      const [row] = await db.query<Record<string, string>>(`show ${name}`);
      out[name] = row![name]!;
    }
    return out;
  } finally {
    await db.close();
  }
}

describe("createPgliteClient()", () => {
  it("starts PostgreSQL with PGLITE_SETTINGS, over the data folder's postgresql.conf", async () => {
    const dir = mkdtempSync(join(tmpdir(), "troupe-pglite-client-"));
    try {
      const first = await show(undefined, dir);
      assert.deepEqual(
        {
          shared_buffers: first.shared_buffers,
          work_mem: first.work_mem,
          maintenance_work_mem: first.maintenance_work_mem,
        },
        PGLITE_SETTINGS,
      );
      assert.equal(first.fsync, "off", "PGlite's own start parameters are kept");
      // Reopened: the folder now exists, and initdb's postgresql.conf says 128MB.
      assert.equal((await show(undefined, dir)).shared_buffers, PGLITE_SETTINGS.shared_buffers);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts with PGlite's own settings when given none", async () => {
    const own = await show({});
    assert.equal(own.shared_buffers, "128MB");
    assert.equal(own.maintenance_work_mem, "64MB");
  });

  it("pgliteStartParams() appends -c name=value to PGlite's start parameters", () => {
    const params = pgliteStartParams({ shared_buffers: "8MB" });
    assert.equal(params[0], "--single");
    assert.deepEqual(params.slice(-2), ["-c", "shared_buffers=8MB"]);
  });
});
