/**
 * RecordStream, the bounded events/logs stream of the in-memory bus: trims the
 * oldest records first by bytes, per subject and by age (an injected clock),
 * and agrees with a plain model over a long random run.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RecordStream } from "../../bus/record-stream.ts";

const data = (n: number) => new Uint8Array(n);

// The counting itself, without the per-record memory overhead (the memory bus's tests cover that).
describe("RecordStream", () => {
  it("drops records older than maxAgeMs at the next append or replay (injected clock)", () => {
    let now = 1_000;
    const stream = new RecordStream(
      { maxBytes: 1e9, maxPerSubject: 1e9, maxAgeMs: 500, overheadBytes: 0 },
      () => now,
    );
    stream.append("s.a", data(1), {});
    now += 300;
    stream.append("s.b", data(1), {});
    now += 250;
    assert.deepEqual(stream.replay(undefined, 0).map((r) => r.subject), ["s.b"], "the first is 550 ms old");
    assert.deepEqual(stream.info(), { messages: 1, bytes: 4 });
    now += 300;
    assert.deepEqual(stream.replay(undefined, 0), []);
    assert.deepEqual(stream.info(), { messages: 0, bytes: 0 });
  });

  it("counts subject, headers and data against maxBytes and drops the oldest whole records", () => {
    const stream = new RecordStream({ maxBytes: 100, maxPerSubject: 1e9, maxAgeMs: 1e9, overheadBytes: 0 });
    for (let i = 0; i < 5; i++) stream.append("s.x", data(30), { k: "v" });
    // each record: 3 (subject) + 30 + 1 + 1 + 4 = 39 bytes: two fit under 100
    assert.deepEqual(stream.replay("s.x", 0).map((r) => r.seq), [4, 5]);
    assert.deepEqual(stream.info(), { messages: 2, bytes: 78 });
  });

  it("replays and counts right when per-subject trimming leaves thousands of removed entries behind an older record", () => {
    const stream = new RecordStream({ maxBytes: 1e9, maxPerSubject: 2, maxAgeMs: 1e9, overheadBytes: 0 });
    stream.append("s.old", data(1), {});
    for (let i = 0; i < 5_000; i++) stream.append("s.hot", data(1), {});
    assert.deepEqual(stream.replay(undefined, 0).map((r) => r.seq), [1, 5_000, 5_001]);
    assert.deepEqual(stream.replay("s.hot", 4_000).map((r) => r.seq), [5_000, 5_001]);
    assert.deepEqual(stream.info(), { messages: 3, bytes: 6 + 2 * 6 });
  });

  it("matches a plain model over a long random run of subjects, sizes and times", () => {
    let now = 0;
    const bounds = { maxBytes: 5_000, maxPerSubject: 7, maxAgeMs: 400, overheadBytes: 0 };
    const stream = new RecordStream(bounds, () => now);
    let model: { seq: number; subject: string; size: number; at: number }[] = [];
    let seq = 0;
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(random() * 5);
      const subject = `s.${Math.floor(random() * (step < 10_000 ? 3 : 40))}`;
      const size = Math.floor(random() * 300);
      stream.append(subject, data(size), {});
      model.push({ seq: ++seq, subject, size: size + subject.length, at: now });
      const mine = model.filter((r) => r.subject === subject);
      if (mine.length > bounds.maxPerSubject) {
        const drop = new Set(mine.slice(0, mine.length - bounds.maxPerSubject).map((r) => r.seq));
        model = model.filter((r) => !drop.has(r.seq));
      }
      let bytes = model.reduce((n, r) => n + r.size, 0);
      while (model.length > 0 && (bytes > bounds.maxBytes || model[0]!.at <= now - bounds.maxAgeMs)) {
        bytes -= model.shift()!.size;
      }
      if (step % 97 === 0) {
        assert.deepEqual(
          stream.replay(undefined, 0).map((r) => r.seq),
          model.map((r) => r.seq),
          `step ${step}`,
        );
        assert.deepEqual(
          stream.replay(subject, 0).map((r) => r.seq),
          model.filter((r) => r.subject === subject).map((r) => r.seq),
        );
        assert.deepEqual(stream.info(), { messages: model.length, bytes });
      }
    }
  });
});
