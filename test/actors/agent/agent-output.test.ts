/**
 * Bounded output of exec jobs, end to end on the embedded system and on NATS +
 * PostgreSQL with a real agent under bubblewrap: the output cap counts log chunks as stored (JSON, where
 * a NUL byte takes six), reaching it stops the command and fails the job with
 * OUTPUT_LIMIT, a flood never grows the agent's memory, and the logs stream
 * keeps within its own byte bound.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { loadConfig } from "../../../actors/process/config.ts";
import { type Core, type RunningSystem, startSystem } from "../../../actors/process/system.ts";
import type { StreamRecord } from "../../../bus/bus.ts";
import { decodeLogChunk } from "../../../bus/log-chunk.ts";
import type { JobRow } from "../../../adapters/postgres/store.ts";
import { backendEnv, openTestCore } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const CAP = 1024 * 1024;
const LOGS_MAX_BYTES = 2.5 * 1024 * 1024;

for (const backend of ["embedded", "nats+postgres"] as const) {
  describe(`exec job output bounds (${backend}, real sandbox)`, () => {
    let core: Core;
    let system: RunningSystem;
    let workRoot: string;
    let cleanup = () => {};

    before(async () => {
      const made = await backendEnv(backend);
      cleanup = made.cleanup;
      workRoot = mkdtempSync(join(tmpdir(), "troupe-agent-output-"));
      core = await openTestCore(made.env, {
        env: {
          TROUPE_AGENT_NAME: "out",
          TROUPE_AGENT_WORK_ROOT: workRoot,
          TROUPE_SHUTDOWN_GRACE_MS: "0",
          TROUPE_AGENT_MAX_OUTPUT_BYTES: String(CAP),
          TROUPE_LOGS_MAX_BYTES: String(LOGS_MAX_BYTES),
        },
      });
      system = await startSystem(core, { worker: true, agent: true });
      await waitFor(() => core.agents.isAlive("out"), { what: "the agent's first heartbeat" });
    });
    after(async () => {
      await system?.stop();
      cleanup();
      rmSync(workRoot, { recursive: true, force: true });
    });

    const run = async (command: string[], timeoutMs = 60_000): Promise<{ job: JobRow; tookMs: number }> => {
      const started = Date.now();
      const { id } = await core.jobs.submit({ kind: "exec", payload: { agent: "out", command, timeoutMs } });
      const job = await waitFor(async () => {
        const row = await core.store.getJob(id);
        return row && ["success", "failed", "cancelled"].includes(row.status) ? row : undefined;
      }, { timeoutMs: 40_000, what: `job ${id} to end` });
      return { job, tookMs: Date.now() - started };
    };
    const recordsOf = async (id: string): Promise<StreamRecord[]> => {
      const out: StreamRecord[] = [];
      const sub = core.bus.watchLogs(id, "all");
      let timer = setTimeout(() => void sub.close(), 400);
      for await (const record of sub) {
        out.push(record);
        clearTimeout(timer);
        timer = setTimeout(() => void sub.close(), 400);
      }
      clearTimeout(timer);
      return out;
    };
    const errorOf = (job: JobRow) => job.lastError as { code: string; message: string };

    it("a NUL flood is capped as stored (six bytes a NUL), not as written, and fails the job with OUTPUT_LIMIT", async () => {
      const { job } = await run(["head", "-c", "20000000", "/dev/zero"]);
      assert.equal(job.status, "failed");
      assert.equal(job.attempts, 1, "not retried");
      assert.equal(errorOf(job).code, "OUTPUT_LIMIT");
      assert.match(
        errorOf(job).message,
        new RegExp(`reached the cap of ${CAP} bytes as stored and the command was stopped`),
      );
      assert.match(errorOf(job).message, /\(\d+ bytes written, \d+ dropped\)/);
      const records = await recordsOf(job.id);
      const stored = records.reduce((n, r) => n + r.data.byteLength, 0);
      assert.ok(stored <= CAP, `stored ${stored} bytes, over the cap of ${CAP}`);
      assert.ok(stored > CAP * 0.9, `stored ${stored} bytes: the cap was used`);
      const chunks = records.map((r) => decodeLogChunk(job.id, r.data));
      assert.deepEqual(
        chunks.map((c) => c.seq),
        chunks.map((_, i) => i + 1),
        "sequence numbers without gaps",
      );
      const nuls = chunks.filter((c) => c.stream === "stdout").reduce((n, c) => n + c.text.length, 0);
      assert.ok(nuls < CAP / 5, `${nuls} NULs kept: each is stored as \\u0000`);
      const last = chunks.at(-1)!;
      assert.equal(last.stream, "system");
      assert.match(last.text, new RegExp(`output reached the cap of ${CAP} bytes: the command is stopped`));
    });

    it("a 1 GB output is stopped at the cap at once, without the agent's memory growing", async () => {
      const before = process.memoryUsage().rss;
      const { job, tookMs } = await run([
        "sh",
        "-c",
        "head -c 1000000000 /dev/zero; echo finished >&2; sleep 30",
      ]);
      const grown = process.memoryUsage().rss - before;
      assert.equal(job.status, "failed");
      assert.equal(errorOf(job).code, "OUTPUT_LIMIT");
      assert.ok(tookMs < 20_000, `ended after ${tookMs} ms: stopped at the cap, not after its own 30 s`);
      assert.ok(grown < 150 * 1024 * 1024, `the process grew by ${Math.round(grown / 1048576)} MiB`);
      const text = (await recordsOf(job.id)).map((r) => decodeLogChunk(job.id, r.data).text).join("");
      assert.equal(text.includes("finished"), false, "the command never got past its flood");
    });

    it("an endless writer (yes) ends with OUTPUT_LIMIT instead of running until its timeout", async () => {
      const { job, tookMs } = await run(["yes"], 600_000);
      assert.equal(job.status, "failed");
      assert.equal(errorOf(job).code, "OUTPUT_LIMIT");
      assert.ok(tookMs < 20_000, `ended after ${tookMs} ms`);
    });

    it("output within the cap succeeds untouched", async () => {
      const { job } = await run(["sh", "-c", "printf 'a\\000b\\n'"]);
      assert.equal(job.status, "success", JSON.stringify(job.lastError));
      const result = job.result as { outputTruncated: boolean; outputLimitBytes: number; stoppedBy?: string };
      assert.equal(result.outputTruncated, false);
      assert.equal(result.outputLimitBytes, CAP);
      assert.equal(result.stoppedBy, undefined);
      const text = (await recordsOf(job.id)).map((r) => decodeLogChunk(job.id, r.data).text).join("");
      assert.equal(text, "a\u0000b\n");
    });

    it("the logs stream keeps within TROUPE_LOGS_MAX_BYTES after all these floods", async () => {
      const info = await core.bus.streamInfo("logs");
      assert.ok(info.bytes <= LOGS_MAX_BYTES, `${info.bytes} bytes kept`);
      assert.ok(info.messages > 0);
    });
  });
}

describe("loadConfig() stream bounds", () => {
  it("derives the per-job chunk bound from the agent's output cap and reads the byte bounds", () => {
    assert.deepEqual(loadConfig({}).streams, { logsMaxChunksPerJob: 262_144 });
    assert.deepEqual(
      loadConfig({
        TROUPE_AGENT_MAX_OUTPUT_BYTES: "6400",
        TROUPE_LOGS_MAX_BYTES: "1073741824",
        TROUPE_EVENTS_MAX_BYTES: "65536",
      }).streams,
      { logsMaxChunksPerJob: 100, logsMaxBytes: 1_073_741_824, eventsMaxBytes: 65_536 },
    );
    assert.equal(loadConfig({ TROUPE_LOGS_MAX_CHUNKS_PER_JOB: "7" }).streams.logsMaxChunksPerJob, 7);
    assert.throws(() => loadConfig({ TROUPE_LOGS_MAX_BYTES: "10" }), /TROUPE_LOGS_MAX_BYTES/);
  });
});
