import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { derivedJobId, encodeEnvelope, parseJobMessage } from "../../bus/envelope.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (body: string, headers: Record<string, string> = {}, kind: string | undefined = "noop", max = 1024) =>
  parseJobMessage({ kind, data: enc(body), headers, seq: 7 }, { maxPayloadBytes: max });

describe("parseJobMessage()", () => {
  it("takes the id from the body first, then Nats-Msg-Id", () => {
    const a = parse('{"id":"body-id","payload":{}}', { "Nats-Msg-Id": "hdr" });
    assert.equal(a.ok && a.envelope.id, "body-id");
    const b = parse('{"payload":{}}', { "Nats-Msg-Id": "hdr" });
    assert.equal(b.ok && b.envelope.id, "hdr");
  });

  it("derives the same id for the same message when none is given", () => {
    const a = parse('{"payload":{"x":1}}');
    const b = parse('{"payload":{"x":1}}');
    assert.ok(a.ok && b.ok);
    assert.equal(a.envelope.id, b.envelope.id);
    assert.equal(a.envelope.id, derivedJobId(7, enc('{"payload":{"x":1}}')));
    assert.notEqual(a.envelope.id, (parse('{"payload":{"x":2}}') as { envelope: { id: string } }).envelope.id);
  });

  it("treats a body that is not an object as the payload", () => {
    const r = parse("[1,2,3]", { "Nats-Msg-Id": "arr" });
    assert.ok(r.ok);
    assert.deepEqual(r.envelope.payload, [1, 2, 3]);
    const s = parse('"hello"');
    assert.ok(s.ok && s.envelope.payload === "hello");
  });

  it("reads every envelope field", () => {
    const r = parse('{"id":"j1","payload":{"a":1},"maxAttempts":5,"timeoutMs":100,"runAt":"2030-01-01T00:00:00Z","org":"acme"}');
    assert.ok(r.ok);
    assert.equal(r.envelope.maxAttempts, 5);
    assert.equal(r.envelope.timeoutMs, 100);
    assert.equal(r.envelope.runAt?.toISOString(), "2030-01-01T00:00:00.000Z");
    assert.equal(r.envelope.org, "acme");
  });

  it("reports malformed JSON with the header id so the job can fail visibly", () => {
    const r = parse("{not json", { "Nats-Msg-Id": "bad-1" });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.id === "bad-1" && r.code === "MALFORMED_MESSAGE" && /Malformed JSON/.test(r.message));
  });

  it("reports an oversized message", () => {
    const r = parse(JSON.stringify({ payload: "x".repeat(2000) }), { "Nats-Msg-Id": "big" });
    assert.ok(!r.ok && r.code === "PAYLOAD_TOO_LARGE" && r.id === "big" && /exceeds the limit of 1024 bytes/.test(r.message));
  });

  it("refuses unknown envelope fields and says where the input goes", () => {
    const r = parse('{"sleepMs":5}', { "Nats-Msg-Id": "x" });
    assert.ok(!r.ok && r.code === "VALIDATION" && /payload/.test(r.message) && /sleepMs/.test(r.message));
  });

  it("refuses a bad envelope field type", () => {
    const r = parse('{"maxAttempts":"three"}', { "Nats-Msg-Id": "x" });
    assert.ok(!r.ok && /maxAttempts/.test(r.message));
  });

  it("gives no id when the body id is unusable (the message can only be terminated)", () => {
    const r = parse('{"id":"a b*","payload":{}}');
    assert.ok(!r.ok && r.id === undefined && /Invalid job id/.test(r.message));
  });

  it("round-trips encodeEnvelope()", () => {
    const r = parseJobMessage({ kind: "noop", data: encodeEnvelope({ id: "z", payload: { a: 1 }, runAt: new Date(0) }), headers: {}, seq: 1 }, { maxPayloadBytes: 1000 });
    assert.ok(r.ok);
    assert.equal(r.envelope.id, "z");
    assert.deepEqual(r.envelope.payload, { a: 1 });
    assert.equal(r.envelope.runAt?.getTime(), 0);
  });
});
