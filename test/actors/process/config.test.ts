import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../actors/process/config.ts";
import { ConfigError } from "../../../machines/errors.ts";

describe("loadConfig()", () => {
  it("defaults to the embedded system on port 8000", () => {
    const c = loadConfig({});
    assert.equal(c.natsUrl, undefined);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.port, 8000);
    assert.equal(c.namespace, "troupe");
    assert.equal(c.ackWaitMs, c.leaseMs);
  });

  it("takes DB_URL as an alias of DATABASE_URL", () => {
    assert.equal(loadConfig({ DB_URL: "postgres://h/db" }).databaseUrl, "postgres://h/db");
    assert.equal(
      loadConfig({ DB_URL: "postgres://a/x", DATABASE_URL: "postgres://b/y" }).databaseUrl,
      "postgres://b/y",
    );
  });

  it("names every bad variable and never echoes a secret value", () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: "eighty",
          LOG_LEVEL: "loud",
          DATABASE_URL: "mysql://u:hunter2@h/db",
          TROUPE_NAMESPACE: "a.b",
        }),
      (error: Error) =>
        error instanceof ConfigError && /PORT/.test(error.message) && /LOG_LEVEL/.test(error.message) &&
        /DATABASE_URL/.test(error.message) && /TROUPE_NAMESPACE/.test(error.message) &&
        !error.message.includes("hunter2"),
    );
  });

  it("reads booleans and numbers", () => {
    const c = loadConfig({
      METRICS_ENABLED: "false",
      TROUPE_CONCURRENCY: "12",
      TROUPE_LEASE_MS: "5000",
      TROUPE_ACK_WAIT_MS: "7000",
    });
    assert.equal(c.metricsEnabled, false);
    assert.equal(c.concurrency, 12);
    assert.equal(c.ackWaitMs, 7000);
  });
});
