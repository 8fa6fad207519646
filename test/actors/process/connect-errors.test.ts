/**
 * Start-up errors sorted into the CLI's exit codes: PostgreSQL and NATS
 * unreachable (UNAVAILABLE, exit 4) or refusing us (ConfigError, exit 5), a
 * garbage NATS_URL, and a listen address that cannot be had; every message
 * names the system and host:port and never a password.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import {
  natsAddress,
  natsConnectError,
  parseNatsServers,
  postgresAddress,
  postgresConnectError,
  probePostgres,
} from "../../../actors/process/connect-errors.ts";
import { checkListenAddress, listenError } from "../../../actors/process/port-check.ts";
import { ConfigError, ErrorCode, TransientError } from "../../../machines/errors.ts";

const url = "postgres://troupe:p%40ss-S3cret@db.internal:6543/troupe";
const withCode = (code: string, message = `failed ${code}`) => Object.assign(new Error(message), { code });

describe("postgresAddress()", () => {
  it("gives host:port without user or password, 5432 and localhost by default, every host of a list", () => {
    assert.equal(postgresAddress(url), "db.internal:6543");
    assert.equal(postgresAddress("postgres://u:pw@db/x"), "db:5432");
    assert.equal(postgresAddress("postgresql:///x"), "localhost:5432");
    assert.equal(postgresAddress("postgres://u:pw@[::1]:5433/x"), "[::1]:5433");
    assert.equal(postgresAddress("postgres://u:p@w@h1:5433,h2/x?sslmode=require"), "h1:5433,h2:5432");
  });
});

describe("postgresConnectError()", () => {
  it("makes an unreachable server UNAVAILABLE (exit 4), naming PostgreSQL and host:port", () => {
    for (
      const [code, reason] of [
        ["ENOTFOUND", "no such host (ENOTFOUND)"],
        ["ECONNREFUSED", "connection refused (ECONNREFUSED)"],
        ["CONNECT_TIMEOUT", "no answer in time (CONNECT_TIMEOUT)"],
        ["57P03", "the database system is starting up"],
      ] as const
    ) {
      const error = postgresConnectError(withCode(code, reason), url);
      assert.ok(error instanceof TransientError, code);
      assert.equal(error.code, ErrorCode.unavailable);
      assert.equal(error.message, `Cannot connect to PostgreSQL at db.internal:6543: ${reason}`);
    }
  });

  it("makes a refusal bad configuration (exit 5): role, database, password, pg_hba, TLS trust", () => {
    for (
      const code of ["28000", "28P01", "3D000", "SASL_SIGNATURE_MISMATCH", "DEPTH_ZERO_SELF_SIGNED_CERT"]
    ) {
      const error = postgresConnectError(withCode(code, `refused ${code}`), url);
      assert.ok(error instanceof ConfigError, code);
      assert.equal(
        error.message,
        `Cannot connect to PostgreSQL at db.internal:6543: refused ${code} (check DATABASE_URL)`,
      );
    }
  });

  it("never repeats the password, encoded or not, even when the cause carries it", () => {
    for (const secret of ["p%40ss-S3cret", "p@ss-S3cret"]) {
      const error = postgresConnectError(withCode("28P01", `bad ${secret}`), url) as Error;
      assert.ok(!error.message.includes("S3cret"), error.message);
      assert.ok(!error.message.includes("troupe:"), error.message);
    }
  });

  it("returns any other error unchanged (a failed migration is not a failed connection)", () => {
    const other = withCode("42P01", 'relation "x" does not exist');
    assert.equal(postgresConnectError(other, url), other);
    const plain = new Error("boom");
    assert.equal(postgresConnectError(plain, url), plain);
  });
});

describe("probePostgres()", () => {
  it("gives up on a server that never answers: UNAVAILABLE, no answer within the time", async () => {
    const silent = { query: () => new Promise<never>(() => {}) };
    await assert.rejects(probePostgres(silent, url, { timeoutMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, ErrorCode.unavailable);
      assert.equal(
        error.message,
        "Cannot connect to PostgreSQL at db.internal:6543: no answer within 0.05 s",
      );
      return true;
    });
  });

  it("classifies the first query's failure and passes when it answers", async () => {
    const refusing = { query: () => Promise.reject(withCode("3D000", 'database "troupe" does not exist')) };
    await assert.rejects(probePostgres(refusing, url), ConfigError);
    await probePostgres({ query: () => Promise.resolve([{ "?column?": 1 }]) }, url);
  });
});

describe("parseNatsServers()", () => {
  it("takes nats://, tls:// and bare host:port servers, comma-separated", () => {
    assert.deepEqual(parseNatsServers("nats://a:4222, tls://b:4443,c:4222,d,[::1]:4222"), [
      "nats://a:4222",
      "tls://b:4443",
      "c:4222",
      "d",
      "[::1]:4222",
    ]);
  });

  it("refuses garbage as bad configuration naming NATS_URL and the server, never its credentials", () => {
    for (
      const [value, why] of [
        ["not a url", /server \("not a url"\) is not a URL like nats:\/\/host:4222/],
        ["http://u:pw-S3cret@host:4222", /server \("http:\/\/\*\*\*@host:4222"\) has scheme "http:"/],
        ["foo://bar", /has scheme "foo:"/],
        ["nats://host:99999", /is not a URL/],
        ["nats://host:4222/path", /has a path or query/],
        ["nats://a:4222,", /server 2 of 2 \(""\) is empty/],
      ] as const
    ) {
      assert.throws(() => parseNatsServers(value), (error: unknown) => {
        assert.ok(error instanceof ConfigError, value);
        assert.match(error.message, /^Invalid configuration: NATS_URL: /);
        assert.match(error.message, why);
        assert.ok(!error.message.includes("S3cret"), error.message);
        return true;
      });
    }
  });
});

describe("natsConnectError()", () => {
  const servers = ["nats://u:pw-S3cret@n1:4222", "n2"];

  it("names host:port of every server without credentials", () => {
    assert.equal(natsAddress(servers), "n1:4222,n2:4222");
  });

  it("makes refused, unknown host and no answer UNAVAILABLE (exit 4)", () => {
    const refused = new TransientError("Cannot connect to NATS at nats://n1:4222: connection refused", {
      code: ErrorCode.unavailable,
      cause: Object.assign(new Error("connection refused"), { name: "ConnectionError" }),
    });
    const unknownHost = new TransientError("x", { cause: withCode("ENOTFOUND") });
    for (
      const [error, reason] of [
        [refused, "connection refused (ECONNREFUSED)"],
        [unknownHost, "no such host (ENOTFOUND)"],
      ] as const
    ) {
      const made = natsConnectError(error, servers);
      assert.ok(made instanceof TransientError);
      assert.equal(made.code, ErrorCode.unavailable);
      assert.equal(made.message, `Cannot connect to NATS at n1:4222,n2:4222: ${reason}`);
    }
  });

  it("makes an authorization violation bad configuration (exit 5), naming the settings, not their values", () => {
    const denied = Object.assign(new Error("Authorization Violation"), { name: "AuthorizationError" });
    const made = natsConnectError(new TransientError("x", { cause: denied }), servers);
    assert.ok(made instanceof ConfigError);
    assert.match(
      made.message,
      /^Cannot connect to NATS at n1:4222,n2:4222: authorization violation \(check NATS_USER/,
    );
    assert.ok(!made.message.includes("S3cret"));
  });
});

describe("checkListenAddress() and listenError()", () => {
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(server));
    });

  it("refuses a port in use as bad configuration naming the address, and frees a free one again", async () => {
    const busy = await listen(0);
    const port = (busy.address() as { port: number }).port;
    try {
      await assert.rejects(checkListenAddress("127.0.0.1", port), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(
          error.message,
          `Cannot listen on 127.0.0.1:${port}: the port is in use by another process (EADDRINUSE); set PORT to a free one`,
        );
        return true;
      });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
    await checkListenAddress("127.0.0.1", port);
    const again = await listen(port); // the check left the port free
    await new Promise((resolve) => again.close(resolve));
  });

  it("knows Deno's AddrInUse and leaves other errors alone", () => {
    const deno = Object.assign(new Error("Address already in use (os error 98)"), { name: "AddrInUse" });
    assert.match(
      String((listenError(deno, "::1", 8000) as Error).message),
      /^Cannot listen on \[::1\]:8000: /,
    );
    const other = new Error("boom");
    assert.equal(listenError(other, "127.0.0.1", 8000), other);
  });
});
