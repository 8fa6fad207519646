import { describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createPostgresStore } from "../../../adapters/postgres/mod.ts";
import { runStoreContract } from "../../contract/store.contract.ts";
import { testDatabaseUrl } from "../../harness/postgres-server.ts";

runStoreContract({
  name: "PostgreSQL (postgres.js)",
  create: async () => createPostgresStore({ url: await testDatabaseUrl() }),
});

describe("PostgreSQL store specifics", () => {
  it("concurrent migrate() calls apply each migration once", async () => {
    const url = await testDatabaseUrl();
    const stores = await Promise.all([1, 2, 3].map(() => createPostgresStore({ url })));
    const applied = await Promise.all(stores.map((s) => s.migrate()));
    assert.deepEqual(applied.flat(), [1, 2, 3]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("works again after its connections are terminated (pg_terminate_backend)", async () => {
    const url = await testDatabaseUrl();
    const store = await createPostgresStore({ url, max: 2 });
    await store.migrate();
    await store.admit([{ id: "before", kind: "noop", payload: null, maxAttempts: 1 }]);
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const killed =
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'troupe' and datname = current_database()`;
    assert.ok(killed.length >= 1);
    let ok = false;
    for (let i = 0; i < 3 && !ok; i++) {
      ok = await store.ping().catch(() => false);
    }
    assert.ok(ok, "reconnected within three calls");
    assert.equal((await store.getJob("before"))?.status, "pending");
    await admin.end();
    await store.close();
  });

  it("never puts the connection password in an error", async () => {
    const store = await createPostgresStore({ url: "postgres://troupe:hunter2secret@127.0.0.1:1/x" });
    await assert.rejects(
      store.ping(),
      (error: Error) =>
        !String(error.message).includes("hunter2secret") && !String(error.stack).includes("hunter2secret"),
    );
    await store.close();
  });
});
