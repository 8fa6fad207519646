/**
 * Mutual TLS with real certificates and real handshakes: `troupe`'s gateway on
 * HTTPS with TLS_CLIENT_CA; the client certificate's OU is the role.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:https";
import { X509Certificate } from "node:crypto";
import { loadConfig } from "../../../actors/process/config.ts";
import { roleFromOu, verifyAgainstCa } from "../../../actors/gateway/client-certificate.ts";
import { type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { createTestPki, type Issued, type TestPki } from "../../support/certificates.ts";

interface Reply {
  status: number;
  body: string;
}

function call(
  port: number,
  ca: string,
  method: string,
  path: string,
  options: { client?: Issued; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path,
      ca,
      servername: "localhost",
      ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
      headers: { "content-type": "application/json" },
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("Gateway over mutual TLS", () => {
  let pki: TestPki;
  let system: RunningSystem;
  let port: number;
  let cleanup = () => {};
  const certs = {} as Record<"admin" | "viewer" | "listed" | "unknown" | "foreign", Issued>;

  before(async () => {
    pki = createTestPki();
    certs.admin = pki.client("admin", "/CN=alice/OU=admin");
    certs.viewer = pki.client("viewer", "/CN=bob/OU=Viewer");
    certs.listed = pki.client("listed", "/CN=carol/OU=ops/OU=ADMIN");
    certs.unknown = pki.client("unknown", "/CN=dave/OU=auditor");
    certs.foreign = pki.foreignClient("foreign", "/CN=mallory/OU=admin");
    const made = await backendEnv("embedded");
    cleanup = made.cleanup;
    const core = await openTestCore(made.env, {
      env: {
        PORT: "0",
        TLS_CERT: pki.server.certFile,
        TLS_KEY: pki.server.keyFile,
        TLS_CLIENT_CA: pki.ca.certFile,
      },
    });
    system = await startSystem(core, { worker: true, gateway: true });
    port = system.server!.port;
  });
  after(async () => {
    await system?.stop();
    cleanup();
    pki?.cleanup();
  });

  it("an admin certificate submits; the audit trail names its subject", async () => {
    const res = await call(port, pki.ca.cert, "POST", "/jobs", {
      client: certs.admin,
      body: '{"kind":"noop","id":"mtls-1"}',
    });
    assert.equal(res.status, 202, res.body);
    const history = await call(port, pki.ca.cert, "GET", "/jobs/mtls-1/history", { client: certs.admin });
    const events =
      (JSON.parse(history.body) as { events: { status: string; data: { actor?: string } }[] }).events;
    assert.match(events[0]!.data.actor ?? "", /^cert:.*CN=alice.*OU=admin/, JSON.stringify(events));
  });

  it("a viewer certificate (OU matched case-insensitively) reads but cannot submit", async () => {
    assert.equal((await call(port, pki.ca.cert, "GET", "/jobs", { client: certs.viewer })).status, 200);
    const denied = await call(port, pki.ca.cert, "POST", "/jobs", {
      client: certs.viewer,
      body: '{"kind":"noop"}',
    });
    assert.equal(denied.status, 403);
    assert.equal(JSON.parse(denied.body).error.code, "FORBIDDEN");
  });

  it("an OU given as a list grants the most allowed known role", async () => {
    assert.equal(
      (await call(port, pki.ca.cert, "POST", "/jobs/noop", { client: certs.listed, body: "{}" })).status,
      202,
    );
  });

  it("an unknown OU is denied everything, reads included", async () => {
    const res = await call(port, pki.ca.cert, "GET", "/jobs", { client: certs.unknown });
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.body).error.message, /OU names no known role/);
  });

  it("a certificate from a foreign CA is refused, as is a client without one; probes stay open", async () => {
    const foreign = await call(port, pki.ca.cert, "GET", "/jobs", { client: certs.foreign });
    assert.equal(foreign.status, 401);
    assert.match(JSON.parse(foreign.body).error.message, /Client certificate refused/);
    const submit = await call(port, pki.ca.cert, "POST", "/jobs", {
      client: certs.foreign,
      body: '{"kind":"noop","id":"mtls-foreign"}',
    });
    assert.equal(submit.status, 401);
    assert.equal(
      (await call(port, pki.ca.cert, "GET", "/jobs/mtls-foreign", { client: certs.admin })).status,
      404,
    );
    assert.equal((await call(port, pki.ca.cert, "GET", "/jobs")).status, 401);
    assert.equal((await call(port, pki.ca.cert, "GET", "/healthz")).status, 200);
  });

  it("verifyAgainstCa() (Deno's check) refuses a foreign issuer and a certificate outside its validity", () => {
    const ca = new X509Certificate(pki.ca.cert);
    assert.equal(verifyAgainstCa(new X509Certificate(certs.admin.cert), ca, new Date()), undefined);
    assert.match(
      verifyAgainstCa(new X509Certificate(certs.foreign.cert), ca, new Date()) ?? "",
      /not issued by/,
    );
    const later = new Date(Date.now() + 10 * 86_400_000);
    assert.match(
      verifyAgainstCa(new X509Certificate(certs.admin.cert), ca, later) ?? "",
      /not valid at this time/,
    );
    assert.equal(roleFromOu(["ops", "Viewer"]), "viewer");
    assert.equal(roleFromOu("auditor"), undefined);
  });

  it("configuration names the variable when TLS material is missing or half set", () => {
    assert.throws(() => loadConfig({ TLS_CERT: pki.server.certFile }), /TLS_CERT and TLS_KEY go together/);
    assert.throws(() => loadConfig({ TLS_CLIENT_CA: pki.ca.certFile }), /TLS_CLIENT_CA needs TLS_CERT/);
  });
});
