/**
 * The Bus contract: every implementation (NATS JetStream, in-memory) runs it.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Bus,
  BusFullError,
  type BusOptions,
  type JobDelivery,
  type StreamRecord,
  type Subscription,
} from "../../bus/bus.ts";
import { delay } from "../support/wait.ts";

export interface BusContractOptions {
  name: string;
  /** A fresh bus in a namespace of its own, with `options` applied; init() already called. */
  create: (options: BusOptions) => Promise<Bus>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function pullAll(bus: Bus, count: number, timeoutMs = 5000): Promise<JobDelivery[]> {
  const out: JobDelivery[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    out.push(...await bus.pullJobs({ max: count - out.length, expiresMs: 1000 }));
  }
  return out;
}

async function collect(records: AsyncIterable<StreamRecord>, count: number): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  for await (const r of records) {
    out.push(r);
    if (out.length === count) break;
  }
  return out;
}

/** Reads a subscription until it has been quiet for `quietMs`, then closes it. */
async function drain(subscription: Subscription, quietMs = 400): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  let timer = setTimeout(() => void subscription.close(), quietMs);
  for await (const r of subscription) {
    out.push(r);
    clearTimeout(timer);
    timer = setTimeout(() => void subscription.close(), quietMs);
  }
  clearTimeout(timer);
  return out;
}

/** Waits until `read()` gives what `ok` accepts; returns the last value read. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await delay(200);
    value = await read();
  }
  return value;
}

export function runBusContract({ name, create }: BusContractOptions): void {
  describe(`Bus contract: ${name}`, () => {
    const buses: Bus[] = [];
    const make = async (options: BusOptions = {}) => {
      const bus = await create({ ackWaitMs: 1000, ...options });
      buses.push(bus);
      return bus;
    };
    after(async () => {
      for (const bus of buses) await bus.close();
    });

    it("publishJob() then pullJobs() delivers the message with its subject, headers and first delivery count", async () => {
      const bus = await make();
      const ack = await bus.publishJob("noop", enc("hello"), {
        msgId: "m1",
        headers: { traceparent: "00-abc-def-01" },
      });
      assert.equal(ack.duplicate, false);
      const [d] = await pullAll(bus, 1);
      assert.ok(d);
      assert.equal(d.subject, bus.subjects.job("noop"));
      assert.equal(dec(d.data), "hello");
      assert.equal(d.deliveryCount, 1);
      assert.equal(d.headers.traceparent, "00-abc-def-01");
      assert.equal(d.headers["Nats-Msg-Id"], "m1");
      await d.ack();
    });

    it("an acked message is gone; pullJobs() returns [] after expiresMs when there is nothing", async () => {
      const bus = await make();
      await bus.publishJob("noop", enc("x"));
      const [d] = await pullAll(bus, 1);
      await d!.ack();
      const started = Date.now();
      assert.deepEqual(await bus.pullJobs({ max: 10, expiresMs: 1200 }), []);
      assert.ok(Date.now() - started >= 900, "waited for expiresMs");
    });

    it("redelivers an unacked message after the ack deadline with deliveryCount 2", async () => {
      const bus = await make({ ackWaitMs: 1000 });
      await bus.publishJob("noop", enc("again"));
      const [first] = await pullAll(bus, 1);
      assert.equal(first?.deliveryCount, 1);
      const [second] = await pullAll(bus, 1, 5000);
      assert.ok(second, "redelivered");
      assert.equal(second.deliveryCount, 2);
      assert.equal(second.seq, first!.seq);
      await second.ack();
    });

    it("working() postpones redelivery", async () => {
      const bus = await make({ ackWaitMs: 1000 });
      await bus.publishJob("noop", enc("busy"));
      const [d] = await pullAll(bus, 1);
      for (let i = 0; i < 4; i++) {
        await delay(400);
        await d!.working();
      }
      assert.deepEqual(await bus.pullJobs({ max: 1, expiresMs: 300 }), [], "not redelivered while working");
      await d!.ack();
    });

    it("nak(delay) redelivers, not before the delay", async () => {
      const bus = await make();
      await bus.publishJob("noop", enc("later"));
      const [d] = await pullAll(bus, 1);
      const nakedAt = Date.now();
      await d!.nak(1200);
      const [again] = await pullAll(bus, 1, 5000);
      assert.ok(again);
      assert.ok(Date.now() - nakedAt >= 1100, `redelivered after ${Date.now() - nakedAt} ms`);
      await again.ack();
    });

    it("term() never redelivers", async () => {
      const bus = await make({ ackWaitMs: 1000 });
      await bus.publishJob("noop", enc("poison"));
      const [d] = await pullAll(bus, 1);
      await d!.term("poison");
      assert.deepEqual(await bus.pullJobs({ max: 1, expiresMs: 2000 }), []);
    });

    it("drops a msgId seen inside the dedupe window, keeps distinct ones", async () => {
      const bus = await make();
      const a = await bus.publishJob("noop", enc("1"), { msgId: "same" });
      const b = await bus.publishJob("noop", enc("2"), { msgId: "same" });
      const c = await bus.publishJob("noop", enc("3"), { msgId: "other" });
      assert.equal(a.duplicate, false);
      assert.equal(b.duplicate, true);
      assert.equal(c.duplicate, false);
      const got = await pullAll(bus, 2);
      await Promise.all(got.map((d) => d.ack()));
      assert.deepEqual(got.map((d) => dec(d.data)).sort(), ["1", "3"]);
      assert.deepEqual(await bus.pullJobs({ max: 1, expiresMs: 1000 }), [], "the duplicate was never stored");
    });

    it("takes a msgId seen outside the dedupe window", async () => {
      const bus = await make({ duplicateWindowMs: 1000 });
      await bus.publishJob("noop", enc("1"), { msgId: "w" });
      await delay(1300);
      const again = await bus.publishJob("noop", enc("2"), { msgId: "w" });
      assert.equal(again.duplicate, false);
      const got = await pullAll(bus, 2);
      assert.equal(got.length, 2);
      await Promise.all(got.map((d) => d.ack()));
    });

    it("never hands one message to two concurrent pullers", async () => {
      const bus = await make({ ackWaitMs: 5000 });
      for (let i = 0; i < 50; i++) await bus.publishJob("noop", enc(String(i)));
      const [x, y] = await Promise.all([pullAll(bus, 25, 3000), pullAll(bus, 25, 3000)]);
      const seqs = [...x, ...y].map((d) => d.seq);
      assert.equal(new Set(seqs).size, seqs.length, "no message twice");
      const rest = await pullAll(bus, 50 - seqs.length, 3000);
      assert.equal(seqs.length + rest.length, 50);
      await Promise.all([...x, ...y, ...rest].map((d) => d.ack()));
    });

    it("refuses new work with BusFullError when the jobs stream is full", async () => {
      const bus = await make({ maxJobMessages: 3 });
      for (let i = 0; i < 3; i++) await bus.publishJob("noop", enc(String(i)));
      await assert.rejects(bus.publishJob("noop", enc("overflow")), BusFullError);
      const got = await pullAll(bus, 3);
      assert.deepEqual(got.map((d) => dec(d.data)).sort(), ["0", "1", "2"], "nothing seen was deleted");
      await Promise.all(got.map((d) => d.ack()));
    });

    it("refuses a message over the size limit", async () => {
      const bus = await make({ maxMessageBytes: 2048 });
      await assert.rejects(bus.publishJob("noop", new Uint8Array(4096)), /too large|exceeds/i);
    });

    it("refuses kinds and job ids that would break subjects", async () => {
      const bus = await make();
      assert.throws(() => bus.publishJob("a.*", enc("x")), /Invalid kind/);
      assert.throws(() => bus.publishJob("a b", enc("x")), /Invalid kind/);
      assert.throws(() => bus.subjects.event("x>"), /Invalid job id/);
    });

    it("replays a job's events then follows live ones, without gaps or repeats", async () => {
      const bus = await make();
      await bus.publishEvents([{ jobId: "j1", data: enc("e1") }, { jobId: "j2", data: enc("other") }, {
        jobId: "j1",
        data: enc("e2"),
      }]);
      const sub = bus.watchEvents("j1", "all");
      const reading = collect(sub, 4);
      await delay(200);
      await bus.publishEvents([{ jobId: "j1", data: enc("e3") }]);
      await bus.publishEvents([{ jobId: "j1", data: enc("e4") }]);
      const got = await reading;
      await sub.close();
      assert.deepEqual(got.map((r) => dec(r.data)), ["e1", "e2", "e3", "e4"]);
      const seqs = got.map((r) => r.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    });

    it("watches from after a sequence (resume)", async () => {
      const bus = await make();
      await bus.publishEvents([{ jobId: "r", data: enc("a") }, { jobId: "r", data: enc("b") }, {
        jobId: "r",
        data: enc("c"),
      }]);
      const first = bus.watchEvents("r", "all");
      const all = await collect(first, 3);
      await first.close();
      const resumed = bus.watchEvents("r", { afterSeq: all[0]!.seq });
      const rest = await collect(resumed, 2);
      await resumed.close();
      assert.deepEqual(rest.map((r) => dec(r.data)), ["b", "c"]);
    });

    it("replays and follows a job's logs", async () => {
      const bus = await make();
      await bus.publishLog("L", enc("line 1"));
      const sub = bus.watchLogs("L", "all");
      const reading = collect(sub, 2);
      await bus.publishLog("L", enc("line 2"));
      assert.deepEqual((await reading).map((r) => dec(r.data)), ["line 1", "line 2"]);
      await sub.close();
    });

    it("a logs stream over its byte bound drops the oldest chunks and keeps the newest whole", async () => {
      const bus = await make({ logsMaxBytes: 8192, maxMessageBytes: 2048 });
      const chunk = (i: number) => `${String(i).padStart(3, "0")}${"x".repeat(997)}`;
      for (let i = 0; i < 20; i++) await bus.publishLog("big", enc(chunk(i)));
      const kept = (await drain(bus.watchLogs("big", "all"))).map((r) => dec(r.data));
      assert.ok(
        kept.length >= 4 && kept.length <= 8,
        `kept ${kept.length} chunks of 1,000 bytes under 8,192`,
      );
      assert.deepEqual(
        kept,
        Array.from({ length: kept.length }, (_, i) => chunk(20 - kept.length + i)),
        "the newest, whole and in order",
      );
      const info = await bus.streamInfo("logs");
      assert.equal(info.messages, kept.length);
      assert.ok(info.bytes <= 8192 && info.bytes >= kept.length * 1000, `${info.bytes} bytes counted`);
    });

    it("an events stream over its byte bound drops the oldest events", async () => {
      const bus = await make({ eventsMaxBytes: 8192, maxMessageBytes: 2048 });
      const event = (i: number) => `${String(i).padStart(3, "0")}${"e".repeat(997)}`;
      for (let i = 0; i < 20; i++) await bus.publishEvents([{ jobId: `j${i % 3}`, data: enc(event(i)) }]);
      const kept = await until(
        async () => (await drain(bus.watchEvents(undefined, "all"))).map((r) => dec(r.data)),
        (k) => k.at(-1) === event(19),
      );
      assert.ok(
        kept.length >= 4 && kept.length <= 8,
        `kept ${kept.length} events of 1,000 bytes under 8,192`,
      );
      assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => event(20 - kept.length + i)));
      assert.ok((await bus.streamInfo("events")).bytes <= 8192);
    });

    it("keeps at most logsMaxChunksPerJob chunks and eventsMaxPerJob events per job, the newest, without touching other jobs", async () => {
      const bus = await make({ logsMaxChunksPerJob: 3, eventsMaxPerJob: 2 });
      for (let i = 1; i <= 5; i++) {
        await bus.publishLog("A", enc(`a${i}`));
        if (i <= 2) await bus.publishLog("B", enc(`b${i}`));
        await bus.publishEvents([
          { jobId: "A", data: enc(`ea${i}`) },
          ...(i === 1 ? [{ jobId: "B", data: enc("eb1") }] : []),
        ]);
      }
      assert.deepEqual((await drain(bus.watchLogs("A", "all"))).map((r) => dec(r.data)), ["a3", "a4", "a5"]);
      assert.deepEqual((await drain(bus.watchLogs("B", "all"))).map((r) => dec(r.data)), ["b1", "b2"]);
      const events = await until(
        async () => (await drain(bus.watchEvents("A", "all"))).map((r) => dec(r.data)),
        (e) => e.at(-1) === "ea5",
      );
      assert.deepEqual(events, ["ea4", "ea5"]);
      assert.deepEqual((await drain(bus.watchEvents("B", "all"))).map((r) => dec(r.data)), ["eb1"]);
      assert.equal((await bus.streamInfo("logs")).messages, 5);
    });

    it("drops events and logs older than eventsMaxAgeMs", async () => {
      const bus = await make({ eventsMaxAgeMs: 1000, duplicateWindowMs: 1000 });
      await bus.publishLog("old", enc("old"));
      await bus.publishEvents([{ jobId: "old", data: enc("old") }]);
      await delay(1200);
      await bus.publishLog("old", enc("new"));
      await bus.publishEvents([{ jobId: "old", data: enc("new") }]);
      const logs = await until(
        async () => (await drain(bus.watchLogs("old", "all"), 200)).map((r) => dec(r.data)),
        (l) => l.join() === "new",
      );
      assert.deepEqual(logs, ["new"]);
      const events = await until(
        async () => (await drain(bus.watchEvents("old", "all"), 200)).map((r) => dec(r.data)),
        (e) => e.join() === "new",
      );
      assert.deepEqual(events, ["new"]);
    });

    it("purgeJobs() empties the jobs stream", async () => {
      const bus = await make();
      for (let i = 0; i < 5; i++) await bus.publishJob("noop", enc(String(i)));
      assert.equal((await bus.jobsInfo()).messages, 5);
      await bus.purgeJobs();
      assert.equal((await bus.jobsInfo()).messages, 0);
      assert.deepEqual(await bus.pullJobs({ max: 5, expiresMs: 1000 }), []);
    });

    it("isConnected() is true while open and false once closed", async () => {
      const bus = await create({});
      assert.equal(bus.isConnected(), true);
      await bus.close();
      assert.equal(bus.isConnected(), false);
    });

    it("publish() reaches live subscribers whose filter matches (wildcards), and no one else", async () => {
      const bus = await make();
      const ns = bus.subjects.namespace;
      const all = bus.subscribe(`${ns}.agent.*.heartbeat`);
      const one = bus.subscribe(`${ns}.agent.a1.>`);
      await delay(50);
      await bus.publish(`${ns}.agent.a1.heartbeat`, enc("a1"));
      await bus.publish(`${ns}.agent.b2.heartbeat`, enc("b2"));
      await bus.publish(`${ns}.agent.a1.run`, enc("run"));
      const got = await collect(all, 2);
      assert.deepEqual(got.map((r) => dec(r.data)), ["a1", "b2"]);
      const mine = await collect(one, 2);
      assert.deepEqual(mine.map((r) => [r.subject, dec(r.data)]), [[`${ns}.agent.a1.heartbeat`, "a1"], [
        `${ns}.agent.a1.run`,
        "run",
      ]]);
      await all.close();
      await one.close();
    });

    it("request() gets serve()'s reply; with no responder, or after close(), it fails as transient UNAVAILABLE", async () => {
      const bus = await make();
      const subject = bus.subjects.agent("a1", "status");
      const responder = bus.serve(subject, (data) => enc(`re:${dec(data)}`));
      await delay(50);
      assert.equal(dec(await bus.request(subject, enc("ping"), { timeoutMs: 2000 })), "re:ping");
      await responder.close();
      await delay(50);
      await assert.rejects(
        bus.request(subject, enc("ping"), { timeoutMs: 300 }),
        (error: Error & { code?: string }) => {
          assert.equal(error.name, "NoResponderError");
          assert.equal(error.code, "UNAVAILABLE");
          assert.match(error.message, /No one answered/);
          return true;
        },
      );
    });
  });
}
