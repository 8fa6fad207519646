/**
 * ldaptsConnect() against servers that misbehave at the socket level: one
 * that accepts connections and never answers (a hung directory), and a port
 * nothing listens on.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { ldaptsConnect } from "../../../adapters/ldap/client.ts";
import { ldapCredentialsSchema } from "../../../adapters/ldap/schema.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import { freePort } from "../../harness/free-port.ts";

describe("ldaptsConnect()", () => {
  let silent: Server;
  let port: number;
  const sockets = new Set<Socket>();
  const credentials = (url: string) =>
    ldapCredentialsSchema.parse({
      url,
      bindDN: "cn=reader,dc=x",
      password: "pw-silent-1234",
      baseDN: "dc=x",
    });

  before(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    port = (silent.address() as { port: number }).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("a bind the server never answers is a TransientError LDAP_TIMEOUT after timeoutMs", async () => {
    const connect = ldaptsConnect({ timeoutMs: 300, connectTimeoutMs: 1_000 });
    await assert.rejects(
      connect(credentials(`ldap://127.0.0.1:${port}`), new AbortController().signal),
      (error) => {
        assert.ok(error instanceof TransientError, `${error}`);
        assert.equal(error.code, "LDAP_TIMEOUT");
        assert.match(error.message, /^Cannot bind as "cn=reader,dc=x" to ldap:\/\/127\.0\.0\.1:\d+/);
        assert.equal(error.message.includes("pw-silent-1234"), false);
        return true;
      },
    );
  });

  it("an abort while the bind waits rejects at once with the signal's reason", async () => {
    const connect = ldaptsConnect({ timeoutMs: 60_000, connectTimeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = connect(credentials(`ldap://127.0.0.1:${port}`), controller.signal);
    setTimeout(() => controller.abort(new Error("operator cancelled")), 50);
    await assert.rejects(pending, /operator cancelled/);
  });

  it("an abort while StartTLS waits rejects at once too", async () => {
    const connect = ldaptsConnect({ timeoutMs: 60_000, connectTimeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = connect(
      { ...credentials(`ldap://127.0.0.1:${port}`), startTLS: true },
      controller.signal,
    );
    setTimeout(() => controller.abort(new Error("stop the upgrade")), 50);
    await assert.rejects(pending, /stop the upgrade/);
  });

  it("a port nothing listens on is a TransientError LDAP_CONNECTION", async () => {
    const connect = ldaptsConnect({ timeoutMs: 1_000, connectTimeoutMs: 1_000 });
    const closed = await freePort();
    await assert.rejects(
      connect(credentials(`ldap://127.0.0.1:${closed}`), new AbortController().signal),
      (error) => {
        assert.ok(error instanceof TransientError && !(error instanceof PermanentError), `${error}`);
        assert.equal(error.code, "LDAP_CONNECTION");
        return true;
      },
    );
  });
});
