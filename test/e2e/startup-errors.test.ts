/**
 * What a service command says and exits with when it cannot start, as a user
 * sees it: `troupe worker`, `gateway` and `migrate` in a child process against a
 * real PostgreSQL that refuses (password authentication, unknown role, unknown
 * database), a real nats-server that refuses (authorization), addresses nobody
 * answers on, a garbage NATS_URL and a port in use. Exit 4 is unreachable, 5 bad
 * configuration (README, "CLI exit codes"); the message names the system and
 * host:port and never the password.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { type PostgresServer, startPostgres } from "../harness/postgres-server.ts";
import { type NatsServer, startNatsServer } from "../harness/nats-server.ts";
import { freePort, runCli } from "../support/cli.ts";

const secret = "Wr0ng-S3cret-pw";

describe("troupe service commands that cannot start", () => {
  let pg: PostgresServer;
  let nats: NatsServer;
  let dir: string;
  let trusted: string;

  before(async () => {
    [pg, nats] = await Promise.all([
      startPostgres(),
      startNatsServer({ args: ["--user", "troupe", "--pass", "right-password"] }),
    ]);
    dir = mkdtempSync(join(tmpdir(), "troupe-startup-"));
    // Passwords over TCP, except the superuser (the harness's own connections) and a role
    // "ghost" that does not exist (trusted, so the server says so instead of asking a password).
    writeFileSync(
      join(pg.dataDir, "pg_hba.conf"),
      [
        "local all all trust",
        "host all postgres 127.0.0.1/32 trust",
        "host all ghost 127.0.0.1/32 trust",
        "host all all 127.0.0.1/32 scram-sha-256",
        "",
      ].join("\n"),
    );
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe("CREATE ROLE app LOGIN PASSWORD 'right-password'");
      await sql`select pg_reload_conf()`;
    } finally {
      await sql.end();
    }
    trusted = pg.url;
  });
  after(async () => {
    await Promise.all([pg?.stop(), nats?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a command with only the variables given (plus a quiet log). */
  const troupe = (args: string[], env: Record<string, string>) =>
    runCli(args, {
      NATS_URL: "",
      DATABASE_URL: "",
      DB_URL: "",
      NATS_USER: "",
      NATS_PASSWORD: "",
      NATS_TOKEN: "",
      TROUPE_API_TOKENS: "",
      TROUPE_DATA_DIR: dir,
      LOG_LEVEL: "silent",
      ...env,
    });
  const pgAt = (user: string, database: string) =>
    `postgres://${user}:${secret}@127.0.0.1:${pg.port}/${database}`;

  /** The one error line: `troupe: <message>`, with no password anywhere in the output. */
  function errorLine(r: { stdout: string; stderr: string }): string {
    assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), `the password leaked: ${r.stderr}`);
    return r.stderr.trim().split("\n").at(-1) ?? "";
  }

  it("a wrong PostgreSQL password is bad configuration (5), naming PostgreSQL at host:port", async () => {
    const r = await troupe(["worker"], { DATABASE_URL: pgAt("app", "postgres"), NATS_URL: nats.url });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(
      errorLine(r),
      `troupe: Cannot connect to PostgreSQL at 127.0.0.1:${pg.port}: password authentication failed for user "app" (check DATABASE_URL)`,
    );
  });

  it("an unknown PostgreSQL role or database is bad configuration (5), for `migrate` too", async () => {
    const role = await troupe(["worker"], { DATABASE_URL: pgAt("ghost", "postgres") });
    assert.equal(role.code, 5, role.stderr);
    assert.match(
      errorLine(role),
      new RegExp(
        `^troupe: Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${pg.port}: role "ghost" does not exist`,
      ),
    );
    const database = await troupe(["migrate"], { DATABASE_URL: pgAt("postgres", "no_such_db") });
    assert.equal(database.code, 5, database.stderr);
    assert.match(
      errorLine(database),
      /^troupe: Cannot connect to PostgreSQL at .+: database "no_such_db" does not exist/,
    );
  });

  it("PostgreSQL at an unknown host or a closed port is unreachable (4)", async () => {
    const port = await freePort();
    const unknown = await troupe(["migrate"], {
      DATABASE_URL: `postgres://app:${secret}@no-such-host.invalid:5432/troupe`,
    });
    assert.equal(unknown.code, 4, unknown.stderr);
    assert.equal(
      errorLine(unknown),
      "troupe: Cannot connect to PostgreSQL at no-such-host.invalid:5432: no such host (ENOTFOUND)",
    );
    const closed = await troupe(["worker"], {
      DATABASE_URL: pgAt("app", "troupe").replace(`:${pg.port}/`, `:${port}/`),
    });
    assert.equal(closed.code, 4, closed.stderr);
    assert.equal(
      errorLine(closed),
      `troupe: Cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
  });

  it("PostgreSQL at an address that accepts and never answers is unreachable (4), not a hang", async () => {
    // What a firewall or a proxy holding the connection looks like. The driver gives up after 10 s here;
    // a peer that answers with nonsense is cut at 15 s by the probe itself (connect-errors.test.ts).
    const sockets: import("node:net").Socket[] = [];
    const silent: Server = await new Promise((resolve, reject) => {
      const server = createServer((socket) => sockets.push(socket));
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await troupe(["migrate"], {
        DATABASE_URL: `postgres://app:${secret}@127.0.0.1:${port}/troupe`,
      });
      assert.equal(r.code, 4, r.stderr);
      assert.equal(
        errorLine(r),
        `troupe: Cannot connect to PostgreSQL at 127.0.0.1:${port}: no answer in time (CONNECT_TIMEOUT)`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("NATS on a closed port is unreachable (4)", async () => {
    const port = await freePort();
    const closed = await troupe(["worker"], { DATABASE_URL: trusted, NATS_URL: `nats://127.0.0.1:${port}` });
    assert.equal(closed.code, 4, closed.stderr);
    assert.equal(
      errorLine(closed),
      `troupe: Cannot connect to NATS at 127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
  });

  it("NATS refusing the credentials is bad configuration (5)", {
    // nats.js transport-node 3.4.0 drops a refused socket with removeAllListeners() then destroy();
    // Deno's node:net may still emit the server's ECONNRESET on it, an uncaught error (exit 1) in
    // about half the runs, before Troupe can answer. Node never does; the classification itself
    // is tested on both runtimes in test/actors/process/connect-errors.test.ts.
    skip: "Deno" in globalThis
      ? "nats.js on Deno: an uncaught ECONNRESET after an authorization violation"
      : false,
  }, async () => {
    const denied = await troupe(["worker"], {
      DATABASE_URL: trusted,
      NATS_URL: nats.url,
      NATS_USER: "troupe",
      NATS_PASSWORD: secret,
    });
    assert.equal(denied.code, 5, denied.stderr);
    assert.match(
      errorLine(denied),
      new RegExp(`^troupe: Cannot connect to NATS at 127\\.0\\.0\\.1:${nats.port}: authorization violation`),
    );
  });

  it("a garbage NATS_URL is bad configuration (5), said before PostgreSQL is even tried", async () => {
    for (const natsUrl of ["not a url", `http://troupe:${secret}@127.0.0.1:${nats.port}`]) {
      // PostgreSQL is unreachable here: a 4 would mean the address was tried before NATS_URL was read.
      const r = await troupe(["worker"], {
        DATABASE_URL: "postgres://app@127.0.0.1:1/troupe",
        NATS_URL: natsUrl,
      });
      assert.equal(r.code, 5, r.stderr);
      assert.match(
        errorLine(r),
        /^troupe: Invalid configuration: NATS_URL: the server \(".+"\) (is not a URL|has scheme "http:")/,
      );
    }
  });

  it("a port in use stops `gateway` and `start` at once (5), naming the address, before any work", async () => {
    const busy: Server = await new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
    const port = (busy.address() as { port: number }).port;
    try {
      for (const command of ["gateway", "start"]) {
        const data = mkdtempSync(join(dir, `${command}-`));
        const r = await troupe([command], { PORT: String(port), TROUPE_DATA_DIR: data });
        assert.equal(r.code, 5, r.stderr);
        assert.equal(
          errorLine(r),
          `troupe: Cannot listen on 127.0.0.1:${port}: the port is in use by another process (EADDRINUSE); set PORT to a free one`,
        );
        assert.equal(
          existsSync(join(data, "pgdata")),
          false,
          `${command} opened its database before checking the port`,
        );
      }
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
