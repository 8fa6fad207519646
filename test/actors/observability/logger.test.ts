/**
 * The logger's error serializer against real errors of postgres.js (PostgreSQL)
 * and PGlite: no line carries the data a statement carried.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../../actors/observability/logger.ts";
import {
  createPgliteClient,
  createPostgresClient,
  type SqlClient,
  SqlStore,
} from "../../../adapters/postgres/mod.ts";
import { testDatabaseUrl } from "../../harness/postgres-server.ts";
import { TroupeError } from "../../../machines/errors.ts";

const SECRET = "hunter2-marker";

/** A logger writing into an array of parsed lines. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines, text: () => lines.join("") };
}

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

for (const backend of ["PGlite", "PostgreSQL"] as const) {
  describe(`createLogger() with ${backend} errors`, () => {
    let client: SqlClient;
    let store: SqlStore;
    before(async () => {
      client = backend === "PGlite"
        ? await createPgliteClient()
        : createPostgresClient({ url: await testDatabaseUrl() });
      store = new SqlStore(client);
      await store.migrate();
    });
    after(() => store?.close());

    it("logs a refused jsonb value with its code but without the statement's data", async () => {
      const error = await thrown(() =>
        store.admit([{
          id: "nul-1",
          kind: "noop",
          payload: { password: SECRET, a: `x\u0000${SECRET}` },
          maxAttempts: 1,
        }])
      );
      // The raw error does hold the data (that is what is being kept out of the log).
      assert.match(JSON.stringify({ ...(error as object) }), /hunter2/);
      const { logger, lines, text } = capture();
      logger.warn({ err: error, count: 1 }, "Cannot admit jobs");
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0] as string) as { err: Record<string, unknown> };
      assert.equal(line.err.code, "22P05");
      assert.equal(line.err.message, "unsupported Unicode escape sequence");
      assert.doesNotMatch(text(), /hunter2/);
      for (const field of ["where", "detail", "query", "params", "parameters"]) {
        assert.equal(line.err[field], undefined, field);
      }
    });

    it("cuts the value out of a data error's message, also as a cause", async () => {
      const error = await thrown(() => client.query("SELECT $1::text::int AS n", [SECRET]));
      assert.match((error as Error).message, /hunter2/, "PostgreSQL quotes the value");
      const wrapped = new TroupeError("Cannot read the job", { cause: error });
      const { logger, text } = capture();
      logger.error({ err: wrapped }, "Failed");
      const line = JSON.parse(text()) as {
        err: { message: string; stack: string; cause: { code: string; message: string } };
      };
      assert.equal(line.err.message, "Cannot read the job");
      assert.equal(line.err.cause.code, "22P02");
      assert.equal(line.err.cause.message, "invalid input syntax for type integer");
      assert.doesNotMatch(text(), /hunter2/);
    });
  });
}

describe("createLogger()", () => {
  it("logs a JSON syntax error without the slice of input V8 quotes", () => {
    let error: unknown;
    try {
      JSON.parse(`${SECRET} and more`);
    } catch (e) {
      error = e;
    }
    assert.match((error as Error).message, /hunter2/);
    const { logger, text } = capture();
    logger.warn({ err: error }, "Bad body");
    assert.doesNotMatch(text(), /hunter2/);
    assert.match(text(), /"type":"SyntaxError"/);
  });
});
