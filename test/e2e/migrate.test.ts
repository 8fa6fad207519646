import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDatabaseUrl } from "../harness/postgres-server.ts";
import { runCli } from "../support/cli.ts";

describe("troupe migrate", () => {
  it("applies migrations to PostgreSQL once, then says the database is up to date", async () => {
    const env = { DATABASE_URL: await testDatabaseUrl(), LOG_LEVEL: "silent", NATS_URL: "" };
    const first = await runCli(["migrate"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Applied migrations 1, 2/);
    const second = await runCli(["migrate"], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
  });

  it("fails with exit 4 and no password when PostgreSQL is unreachable", async () => {
    const r = await runCli(["migrate"], {
      DATABASE_URL: "postgres://troupe:pw-hunter2@127.0.0.1:1/x",
      LOG_LEVEL: "silent",
      NATS_URL: "",
    });
    assert.equal(r.code, 4, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
    assert.match(r.stderr, /ECONNREFUSED|connect/i);
  });
});
