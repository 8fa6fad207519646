/**
 * Secret fields out of payloads: the marks kinds put in their schemas
 * (`.meta({ writeOnly: true })`) and what the API shows of a payload.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import {
  hasSecrets,
  REDACTED,
  redactPayload,
  restoreRedacted,
} from "../../../actors/plugins/redact-payload.ts";
import { KindRegistry } from "../../../actors/plugins/kind-registry.ts";
import { execPayloadSchema } from "../../../adapters/exec-job/schema.ts";
import { awsIamPolicySchema } from "../../../adapters/aws-iam/schema.ts";
import { discoveryPayloadSchema } from "../../../adapters/discovery/schema.ts";
import { defineKind } from "../../../machines/job-kind.ts";

const secret = z.string().meta({ writeOnly: true });

describe("redactPayload()", () => {
  it("shows marked fields as *** in objects, records, arrays and every union branch, and leaves the rest", () => {
    const schema = z.object({
      user: z.string(),
      password: secret.optional(),
      env: z.record(z.string(), secret),
      hops: z.array(z.object({ host: z.string(), key: secret })),
      auth: z.union([z.string(), z.object({ token: secret })]),
    });
    const payload = {
      user: "ann",
      password: "pw-1",
      env: { A: "a-1", B: "b-1" },
      hops: [{ host: "h1", key: "k-1" }, { host: "h2", key: "k-2" }],
      auth: { token: "t-1" },
    };
    assert.deepEqual(redactPayload(schema, payload), {
      user: "ann",
      password: REDACTED,
      env: { A: REDACTED, B: REDACTED },
      hops: [{ host: "h1", key: REDACTED }, { host: "h2", key: REDACTED }],
      auth: { token: REDACTED },
    });
    assert.equal(payload.password, "pw-1", "the payload itself is not changed");
    assert.deepEqual(redactPayload(schema, { user: "bob", auth: "plain" }), { user: "bob", auth: "plain" });
  });

  it("follows the marks on a payload that fails its schema, and leaves other shapes alone", () => {
    const schema = z.strictObject({ password: secret, n: z.number() });
    assert.deepEqual(redactPayload(schema, { password: 42, extra: "x", n: "bad" }), {
      password: REDACTED,
      extra: "x",
      n: "bad",
    });
    assert.equal(redactPayload(schema, "a string payload"), "a string payload");
    assert.equal(redactPayload(schema, null), null);
  });

  it("exec: every env value is secret, envFrom references and the rest stay visible", () => {
    assert.ok(hasSecrets(execPayloadSchema));
    const shown = redactPayload(execPayloadSchema, {
      command: ["psql"],
      env: { DB_PASSWORD: "hunter2", MODE: "fast" },
      envFrom: { API_KEY: "api-prod" },
      agent: "a1",
    });
    assert.deepEqual(shown, {
      command: ["psql"],
      env: { DB_PASSWORD: REDACTED, MODE: REDACTED },
      envFrom: { API_KEY: "api-prod" },
      agent: "a1",
    });
  });

  it("aws.iam.policy: the external id is secret; discovery names credentials and has nothing to hide", () => {
    const shown = redactPayload(awsIamPolicySchema, {
      action: "attach",
      accountId: "111122223333",
      externalId: "ext-secret-1",
    }) as Record<string, unknown>;
    assert.equal(shown.externalId, REDACTED);
    assert.equal(shown.accountId, "111122223333");
    assert.equal(hasSecrets(discoveryPayloadSchema), false);
  });
});

describe("restoreRedacted()", () => {
  it("gives a secret that reads *** back its stored value, and takes every other change as sent", () => {
    const stored = { command: ["a"], env: { DB_PASSWORD: "hunter2", MODE: "slow", OLD: "gone" } };
    const incoming = { command: ["b"], env: { DB_PASSWORD: REDACTED, MODE: "fast", NEW: REDACTED } };
    assert.deepEqual(restoreRedacted(execPayloadSchema, incoming, stored), {
      command: ["b"],
      env: { DB_PASSWORD: "hunter2", MODE: "fast", NEW: REDACTED },
    });
  });

  it("leaves a *** where nothing is secret alone", () => {
    const schema = z.object({ name: z.string() });
    assert.deepEqual(restoreRedacted(schema, { name: REDACTED }, { name: "real" }), { name: REDACTED });
  });
});

describe("KindRegistry.redact()", () => {
  const kinds = new KindRegistry([
    defineKind({
      kind: "t.secret",
      description: "test",
      schema: z.object({ key: secret, name: z.string() }),
      run: () => Promise.resolve(),
    }),
  ]);

  it("redacts by the kind's schema", () => {
    assert.deepEqual(kinds.redact("t.secret", { key: "k", name: "n" }), { key: REDACTED, name: "n" });
  });

  it("shows no payload of a kind it does not know (nothing says which fields are secret)", () => {
    assert.equal(kinds.redact("t.unknown", { anything: "s3cret" }), REDACTED);
    assert.equal(kinds.redact("t.unknown", null), null);
  });
});
