/**
 * A target without credentials uses the SDK's EnvironmentCredential
 * (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET); with none set the
 * plan fails permanently. This file sets those variables in its own process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import process from "node:process";
import { createAzureDiscoveryProvider } from "../../../../adapters/discovery/azure/mod.ts";
import type { DiscoveryProvider } from "../../../../adapters/discovery/provider.ts";
import { PermanentError } from "../../../../machines/errors.ts";
import { armStorage, drain } from "./fixtures.ts";
import { type AzureStandIn, startAzureStandIn } from "./stand-in.ts";

const VARIABLES = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"] as const;

describe("Azure discovery with credentials from the environment", () => {
  let standIn: AzureStandIn;
  let provider: DiscoveryProvider;
  const sub = randomUUID();
  const clear = () => VARIABLES.forEach((name) => delete process.env[name]);

  before(async () => {
    standIn = await startAzureStandIn();
    standIn.items(sub, "storageAccounts").push(armStorage(sub, "rg", "envacct", "northeurope"));
    provider = createAzureDiscoveryProvider({
      authorityHost: standIn.url,
      resourceManagerEndpoint: standIn.url,
      trustedCertificates: [standIn.ca],
    });
  });
  after(async () => {
    clear();
    await provider.close?.();
    await standIn.close();
  });

  it("EnvironmentCredential's variables authenticate a target without credentials", async () => {
    process.env.AZURE_TENANT_ID = standIn.app.tenantId;
    process.env.AZURE_CLIENT_ID = standIn.app.clientId;
    process.env.AZURE_CLIENT_SECRET = standIn.app.clientSecret;
    const sources = await provider.plan({ scope: sub, org: null }, new AbortController().signal);
    const storage = sources.find((s) => s.covers.types[0] === "storage.account");
    assert.ok(storage);
    const { resources } = await drain(storage);
    assert.deepEqual(resources.map((r) => r.name), ["envacct"]);
    assert.equal(standIn.requestsOf("token")[0]?.form?.client_id, standIn.app.clientId);
  });

  it("no variables and no credentials: PermanentError", async () => {
    clear();
    const error = await provider.plan({ scope: sub, org: null }, new AbortController().signal).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PermanentError, String(error));
    assert.equal(error.code, "AZURE_CREDENTIAL_UNAVAILABLE");
  });
});
