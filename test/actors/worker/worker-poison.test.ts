/**
 * Poison messages, on both backends (embedded: memory bus + PGlite; real: NATS
 * JetStream + PostgreSQL): one batch holds good jobs and every kind of body
 * PostgreSQL cannot store. Every message is stored or refused, the good jobs
 * run, nothing is redelivered over and over, and the captured log holds none of
 * the payloads' text.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../actors/process/config.ts";
import { createLogger } from "../../../actors/observability/logger.ts";
import {
  builtinKinds,
  type Core,
  openCore,
  type RunningSystem,
  startSystem,
} from "../../../actors/process/system.ts";
import { z } from "zod";
import { defineKind, type JobKind } from "../../../machines/job-kind.ts";
import { PermanentError } from "../../../machines/errors.ts";
import type { JobRow } from "../../../adapters/postgres/store.ts";
import { type Backend, backendEnv } from "../../support/system.ts";
import { waitFor } from "../../support/wait.ts";

const SECRET = "hunter2-poison-marker";
const MAX_PAYLOAD = 262_144;
const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const deepList = (depth: number, inner: string) =>
  `${"[".repeat(depth)}${JSON.stringify(inner)}${"]".repeat(depth)}`;

/** A kind whose handler produces what PostgreSQL cannot store: a result, a ref or an error message. */
const outputKind = defineKind({
  kind: "test.output",
  description: "returns or throws text PostgreSQL cannot store",
  schema: z.object({ make: z.enum(["nul-result", "deep-result", "nul-ref", "cut-error", "marked-result"]) }),
  run({ payload }) {
    if (payload.make === "nul-result") return Promise.resolve({ result: { text: `out\u0000put` } });
    if (payload.make === "deep-result") {
      let deep: unknown = 1;
      for (let i = 0; i < 20_000; i++) deep = [deep];
      return Promise.resolve({ result: { deep } });
    }
    if (payload.make === "marked-result") return Promise.resolve({ result: { note: "refuse-me" } });
    if (payload.make === "nul-ref") {
      return Promise.resolve({ refs: [{ system: "test", ref: "ref\u0000one" }] });
    }
    // A message that quotes something cut in the middle of a surrogate pair, and a NUL.
    return Promise.reject(new PermanentError(`Bad name "${"\u{1F600}".repeat(3).slice(0, 5)}" near \u0000`));
  },
}) as unknown as JobKind;

/** Refuses, inside PostgreSQL, rows the envelope's rules cannot foresee: the worker's last line of defence. */
const REFUSING_TRIGGER = `
CREATE FUNCTION test_refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payload::text LIKE '%refuse-me%' OR NEW.id LIKE 'refuse-always%' OR NEW.result::text LIKE '%refuse-me%' THEN
    RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER test_refuse_marked BEFORE INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION test_refuse_marked();`;

for (const backend of ["embedded", "nats+postgres"] as Backend[]) {
  describe(`Worker on ${backend} with poison messages`, () => {
    let core: Core;
    let system: RunningSystem | undefined;
    let cleanup = () => {};
    const log: string[] = [];
    let published = 0;

    before(async () => {
      const made = await backendEnv(backend);
      cleanup = made.cleanup;
      const config = loadConfig({
        ...made.env,
        TROUPE_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
        TROUPE_BACKOFF_BASE_MS: "20",
        TROUPE_BACKOFF_MAX_MS: "100",
        TROUPE_SHUTDOWN_GRACE_MS: "200",
      });
      const logger = createLogger({
        level: "debug",
        destination: { write: (line: string) => void log.push(line) },
      });
      core = await openCore(config, { logger, kinds: [...builtinKinds(), outputKind] });
      await core.db.exec(REFUSING_TRIGGER);
      const subject = core.bus.subjects.job("noop");
      const publish = async (body: unknown, headers: Record<string, string> = {}) => {
        published++;
        const msgId = headers["Nats-Msg-Id"];
        await core.bus.publishRaw(subject, enc(body), { headers, ...(msgId ? { msgId } : {}) });
      };
      // One batch: the worker starts after everything is on the bus.
      await publish({ id: "good-1", payload: {} });
      await publish({ id: "p-nul", payload: { password: SECRET, a: `x\u0000${SECRET}` } });
      await publish({ payload: { [`k\u0000${SECRET}`]: 1, note: SECRET } }, { "Nats-Msg-Id": "p-nulkey" });
      await publish({ id: "good-2", payload: { result: SECRET } }, { "Troupe-Actor": `token:a\u0000b` });
      await publish({ id: "p-high", payload: { x: `\ud800${SECRET}` } });
      await publish([`${SECRET}\udc00`], { "Nats-Msg-Id": "p-low" });
      await publish(`{"id":"p-deep","payload":${deepList(50_000, SECRET)}}`);
      await publish({ id: "p-big", payload: { result: SECRET.repeat(MAX_PAYLOAD / SECRET.length) } });
      await publish({ payload: { note: `${SECRET}\u0000` } });
      await publish({ payload: { result: [`\ud800${SECRET}`] } });
      await publish(`{"payload":${deepList(10_000, SECRET)}}`);
      await publish({ payload: { result: SECRET.repeat(MAX_PAYLOAD / SECRET.length) } });
      await publish({ id: `bad\u0000id`, payload: { note: SECRET } });
      await publish({ payload: { note: SECRET } }, { "Nats-Msg-Id": `hdr\u0000id` });
      await publish({ id: "t-refused", payload: { result: { note: SECRET, marker: "refuse-me" } } });
      await publish({ id: "refuse-always-1", payload: { result: SECRET } });
      await publish({ id: "good-3", payload: {} });
      for (const make of ["nul-result", "deep-result", "nul-ref", "cut-error", "marked-result"]) {
        published++;
        await core.bus.publishJob("test.output", enc({ id: `out-${make}`, payload: { make } }), {
          msgId: `out-${make}`,
        });
      }
      system = await startSystem(core, { worker: true });
    });

    after(async () => {
      await system?.stop();
      await core?.close();
      cleanup();
    });

    const final = (id: string) =>
      waitFor(async () => {
        const job = await core.store.getJob(id);
        return job && ["success", "failed", "cancelled"].includes(job.status) ? job : undefined;
      }, { what: `job "${id}" to end`, timeoutMs: 20_000 });
    const rejected = () =>
      core.db.query<{ subject: string; reason: string; headers: Record<string, string> }>(
        "SELECT subject, reason, headers FROM rejected_messages ORDER BY id",
      );

    it("runs the good jobs of the batch, an actor header holding U+0000 included", async () => {
      for (const id of ["good-1", "good-2", "good-3"]) assert.equal((await final(id)).status, "success", id);
      const [pending] = await core.store.jobEvents("good-2");
      assert.equal(pending?.data.actor, "token:a\uFFFDb");
    });

    it("turns each poison message with an id into a failed job without its payload, naming the rule and the path", async () => {
      const expectations: [string, RegExp][] = [
        ["p-nul", /^Payload refused: a string at "payload\.a" holds U\+0000, which PostgreSQL cannot store$/],
        ["p-nulkey", /^Payload refused: a key of the object at "payload" holds U\+0000/],
        ["p-high", /^Payload refused: a string at "payload\.x" holds a lone UTF-16 surrogate/],
        ["p-low", /^Payload refused: a string at "payload\[0\]" holds a lone UTF-16 surrogate/],
        ["p-deep", /^Payload refused: "payload\[0\].*\[0\]" nests objects and arrays deeper than 64 levels$/],
        ["p-big", /exceeds the limit of 262144 bytes/],
      ];
      for (const [id, pattern] of expectations) {
        const job = await final(id);
        assert.equal(job.status, "failed", id);
        assert.equal(job.attempts, 0, `${id} never ran`);
        assert.equal(job.payload, null, `${id} keeps no payload`);
        assert.match((job.lastError as { message: string }).message, pattern, id);
      }
    });

    it("fails each poison message without an id under its derived id", async () => {
      const patterns = [
        /holds U\+0000/,
        /holds a lone UTF-16 surrogate/,
        /deeper than 64 levels/,
        /exceeds the limit of 262144 bytes/,
      ];
      const failed = await waitFor(async () => {
        const { jobs } = await core.store.listJobs({ status: "failed", kind: "noop", limit: 100 });
        const derived = jobs.filter((j: JobRow) => /^m\d+-/.test(j.id));
        return derived.length >= patterns.length ? derived : undefined;
      }, { what: "the id-less poison messages to fail" });
      for (const pattern of patterns) {
        const job = failed.find((j) => pattern.test((j.lastError as { message: string }).message));
        assert.ok(job, `a derived-id job failed with ${pattern}`);
        assert.equal(job.payload, null);
        assert.equal(job.attempts, 0);
      }
    });

    it("records messages whose id holds U+0000 as rejected, in storable text", async () => {
      const rows = await waitFor(async () => {
        const found = await rejected();
        return found.filter((r) => /Invalid (job id|Nats-Msg-Id)/.test(r.reason)).length >= 2
          ? found
          : undefined;
      }, { what: "two rejected messages" });
      const byHeader = rows.find((r) => /Invalid Nats-Msg-Id "hdr\uFFFDid"/.test(r.reason));
      assert.ok(byHeader, JSON.stringify(rows.map((r) => r.reason)));
      assert.equal(byHeader.headers["Nats-Msg-Id"], "hdr\uFFFDid");
      assert.ok(rows.some((r) => /Invalid job id "bad\uFFFDid"/.test(r.reason)));
    });

    it("admits a batch PostgreSQL refuses one row of row by row: that row fails without payload, or is recorded when even that is refused", async () => {
      const refused = await final("t-refused");
      assert.equal(refused.status, "failed");
      assert.equal(refused.payload, null);
      assert.deepEqual(refused.lastError, {
        kind: "permanent",
        code: "UNSTORABLE",
        message: "Job refused: PostgreSQL cannot store its row (SQLSTATE 22023)",
      });
      assert.equal(await core.store.getJob("refuse-always-1"), undefined);
      await waitFor(async () => (await rejected()).find((r) => /SQLSTATE 22023/.test(r.reason)), {
        what: "the unstorable row to be recorded",
      });
    });

    it("fails a job whose result cannot be stored, and stores refs and error messages made storable", async () => {
      const nul = await final("out-nul-result");
      assert.equal(nul.status, "failed");
      assert.equal(nul.result, null);
      assert.deepEqual(nul.lastError, {
        kind: "permanent",
        code: "UNSTORABLE",
        message: 'Result refused: a string at "result.text" holds U+0000, which PostgreSQL cannot store',
      });
      const deep = await final("out-deep-result");
      assert.match(
        (deep.lastError as { message: string }).message,
        /^Result refused: "result\.deep\[0\].*" nests objects/,
      );
      const ref = await final("out-nul-ref");
      assert.equal(ref.status, "success");
      assert.deepEqual(await core.store.jobRefs("out-nul-ref"), [{ system: "test", ref: "ref\uFFFDone" }]);
      const cut = await final("out-cut-error");
      assert.equal(cut.status, "failed");
      assert.equal(
        (cut.lastError as { message: string }).message,
        'Bad name "\u{1F600}\u{1F600}\uFFFD" near \uFFFD',
      );
      // An outcome PostgreSQL refuses for a reason the rules do not foresee fails its job alone.
      const marked = await final("out-marked-result");
      assert.equal(marked.status, "failed");
      assert.equal(marked.result, null);
      assert.deepEqual(marked.lastError, {
        kind: "permanent",
        code: "UNSTORABLE",
        message: "Outcome refused: PostgreSQL cannot store it (SQLSTATE 22023)",
      });
      assert.deepEqual((await core.store.jobEvents("out-marked-result")).map((e) => e.status).slice(-2), [
        "running",
        "failed",
      ]);
      // And the worker goes on committing: a job after them succeeds.
      await core.bus.publishJob("noop", enc({ id: "good-after-output", payload: {} }), {
        msgId: "good-after-output",
      });
      published++;
      assert.equal((await final("good-after-output")).status, "success");
    });

    it("redelivers no message over and over and logs none of the payloads' text", async () => {
      for (const id of ["good-1", "good-3", "p-nul", "t-refused", "out-cut-error"]) await final(id);
      // Poison used to come back every second: give it time to show.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const received = system!.worker!.stats.received;
      assert.ok(received >= published, `received ${received} of ${published}`);
      assert.ok(received <= published + 2, `received ${received} deliveries of ${published} messages`);
      const text = log.join("");
      // The refused batch was logged, with its error's code.
      assert.match(text, /admitting them one by one.*|"code":"22023"/);
      assert.match(text, /"code":"22023"/);
      assert.doesNotMatch(text, /hunter2/);
      assert.doesNotMatch(text, /refuse-me/);
    });
  });
}
