/**
 * The CLI never hands a terminal the control characters of what it prints: job
 * ids, kinds and error messages from the API (here a stand-in answering what an
 * old or hostile server could) come out escaped, `\x1b[2J` as the text `\x1b[2J`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { freePort, runCli } from "../support/cli.ts";

const EVIL_ID = "job-\u001b[2J\u001b[H-fake\r\nok";
const EVIL_KIND = "noop\u009b31m";

/** Any raw character a terminal obeys (C0 but the newline ending each line, DEL, C1, bidi overrides). */
// deno-lint-ignore no-control-regex -- control characters are what must not be there
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

describe("CLI output holds no raw control characters", () => {
  let server: Server;
  let env: Record<string, string>;

  before(async () => {
    const port = await freePort();
    const job = {
      id: EVIL_ID,
      kind: EVIL_KIND,
      status: "failed",
      attempts: 1,
      maxAttempts: 1,
      payload: { note: "x\u009by\u202ez" },
      result: null,
      lastError: { code: "X", message: "bad \u001b]0;title\u0007 thing" },
      org: null,
      runAt: "2026-01-01T00:00:00.000Z",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url?.startsWith("/jobs?")) return res.end(JSON.stringify({ jobs: [job], nextCursor: null }));
      if (req.method === "POST") {
        res.statusCode = 409;
        return res.end(
          JSON.stringify({
            error: { code: "CONFLICT", message: `Cannot cancel job "${EVIL_ID}": it is already failed` },
          }),
        );
      }
      return res.end(JSON.stringify(job));
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    env = {
      TROUPE_URL: `http://127.0.0.1:${port}`,
      TROUPE_TOKEN: "stand-in-token-0123456789",
      NATS_URL: "",
      DATABASE_URL: "",
    };
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("troupe list escapes a job id holding \\x1b[2J, \\r\\n and a C1 kind", async () => {
    const r = await runCli(["list"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!RAW.test(r.stdout), JSON.stringify(r.stdout));
    assert.ok(r.stdout.includes("job-\\x1b[2J\\x1b[H-fake\\r\\nok"), r.stdout);
    assert.ok(r.stdout.includes("noop\\x9b31m"), r.stdout);
    assert.equal(r.stdout.trim().split("\n").length, 1, "one job, one line: no faked lines");
  });

  it("troupe status prints JSON that parses back to the same values, with nothing raw", async () => {
    const r = await runCli(["status", "job-1"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!RAW.test(r.stdout), JSON.stringify(r.stdout));
    const parsed = JSON.parse(r.stdout) as { id: string; kind: string; payload: { note: string } };
    assert.equal(parsed.id, EVIL_ID);
    assert.equal(parsed.kind, EVIL_KIND);
    assert.equal(parsed.payload.note, "x\u009by\u202ez");
  });

  it("an error message holding the id is escaped on stderr", async () => {
    const r = await runCli(["cancel", "job-1"], env);
    assert.equal(r.code, 2);
    assert.ok(!RAW.test(r.stderr), JSON.stringify(r.stderr));
    assert.ok(r.stderr.includes("\\x1b[2J"), r.stderr);
  });
});
