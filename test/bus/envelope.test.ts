import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { derivedJobId, encodeEnvelope, parseJobMessage, storableHeaders } from "../../bus/envelope.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (
  body: string,
  headers: Record<string, string> = {},
  kind: string | undefined = "noop",
  max = 1024,
) => parseJobMessage({ kind, data: enc(body), headers, seq: 7 }, { maxPayloadBytes: max });

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
    assert.notEqual(
      a.envelope.id,
      (parse('{"payload":{"x":2}}') as { envelope: { id: string } }).envelope.id,
    );
  });

  it("treats a body that is not an object as the payload", () => {
    const r = parse("[1,2,3]", { "Nats-Msg-Id": "arr" });
    assert.ok(r.ok);
    assert.deepEqual(r.envelope.payload, [1, 2, 3]);
    const s = parse('"hello"');
    assert.ok(s.ok && s.envelope.payload === "hello");
  });

  it("reads every envelope field", () => {
    const r = parse(
      '{"id":"j1","payload":{"a":1},"maxAttempts":5,"timeoutMs":100,"runAt":"2030-01-01T00:00:00Z","org":"acme"}',
    );
    assert.ok(r.ok);
    assert.equal(r.envelope.maxAttempts, 5);
    assert.equal(r.envelope.timeoutMs, 100);
    assert.equal(r.envelope.runAt?.toISOString(), "2030-01-01T00:00:00.000Z");
    assert.equal(r.envelope.org, "acme");
  });

  it("reports malformed JSON with the header id so the job can fail visibly", () => {
    const r = parse("{not json", { "Nats-Msg-Id": "bad-1" });
    assert.equal(r.ok, false);
    assert.ok(
      !r.ok && r.id === "bad-1" && r.code === "MALFORMED_MESSAGE" && /Malformed JSON/.test(r.message),
    );
  });

  it("reports an oversized message", () => {
    const r = parse(JSON.stringify({ payload: "x".repeat(2000) }), { "Nats-Msg-Id": "big" });
    assert.ok(
      !r.ok && r.code === "PAYLOAD_TOO_LARGE" && r.id === "big" &&
        /exceeds the limit of 1024 bytes/.test(r.message),
    );
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
    const r = parseJobMessage({
      kind: "noop",
      data: encodeEnvelope({ id: "z", payload: { a: 1 }, runAt: new Date(0) }),
      headers: {},
      seq: 1,
    }, { maxPayloadBytes: 1000 });
    assert.ok(r.ok);
    assert.equal(r.envelope.id, "z");
    assert.deepEqual(r.envelope.payload, { a: 1 });
    assert.equal(r.envelope.runAt?.getTime(), 0);
  });
});

describe("parseJobMessage() and what PostgreSQL cannot store", () => {
  const SECRET = "hunter2-marker";
  const json = (value: unknown) => JSON.stringify(value);
  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };
  const refused = (body: string, headers: Record<string, string> = { "Nats-Msg-Id": "p-1" }) => {
    const r = parse(body, headers, "noop", 1 << 20);
    assert.ok(!r.ok, `refused: ${body.slice(0, 60)}`);
    assert.doesNotMatch(r.message, /hunter2/, "no value is echoed");
    return r;
  };

  it("refuses U+0000 in a string value, naming the rule and the path without the value", () => {
    const r = refused(json({ payload: { password: SECRET, a: { b: `x\u0000${SECRET}` } } }));
    assert.equal(r.code, "VALIDATION");
    assert.equal(r.rule, "nul");
    assert.equal(r.id, "p-1");
    assert.equal(
      r.message,
      'Payload refused: a string at "payload.a.b" holds U+0000, which PostgreSQL cannot store',
    );
  });

  it("refuses U+0000 in an object key, naming the object that holds it, not the key", () => {
    const r = refused(json({ payload: { password: SECRET, list: [{ [`se\u0000cret-${SECRET}`]: 1 }] } }));
    assert.equal(r.rule, "nul");
    assert.equal(
      r.message,
      'Payload refused: a key of the object at "payload.list[0]" holds U+0000, which PostgreSQL cannot store',
    );
  });

  it("refuses a lone high and a lone low surrogate, in values and keys, and keeps a surrogate pair", () => {
    const high = refused(json({ payload: { x: ["ok", `\ud800${SECRET}`] } }));
    assert.equal(high.rule, "lone_surrogate");
    assert.equal(
      high.message,
      'Payload refused: a string at "payload.x[1]" holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store',
    );
    const low = refused(json([`${SECRET}\udc00`]));
    assert.equal(low.rule, "lone_surrogate");
    assert.match(low.message, /a string at "payload\[0\]"/);
    const key = refused(json({ payload: { "odd key": { [`\udc00${SECRET}`]: true } } }));
    assert.match(key.message, /a key of the object at "payload\["odd key"\]" holds a lone UTF-16 surrogate/);
    const pair = parse(json({ payload: { x: "\u{1F600}" } }));
    assert.ok(pair.ok && (pair.envelope.payload as { x: string }).x === "\u{1F600}");
  });

  it("accepts a payload nested 64 deep and refuses 65, counting from the payload", () => {
    assert.ok(parse(json({ payload: nested(64) }), {}, "noop", 1 << 20).ok);
    const list = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    assert.ok(parse(list(64), {}, "noop", 1 << 20).ok, "a bare payload (not an object) counts the same");
    assert.equal(refused(list(65)).rule, "depth");
    const r = refused(json({ payload: nested(65) }));
    assert.equal(r.rule, "depth");
    assert.match(
      r.message,
      /^Payload refused: "payload\.a\.a.*\.a" nests objects and arrays deeper than 64 levels$/,
    );
  });

  it("refuses 50,000-deep nesting without throwing", () => {
    const r = refused(`${"[".repeat(50_000)}"${SECRET}"${"]".repeat(50_000)}`);
    assert.equal(r.rule, "depth");
    assert.ok(r.message.length < 300, "the path is shortened");
  });

  it("checks the other envelope fields and keys too", () => {
    const org = refused(json({ payload: {}, org: `ac\u0000me${SECRET}` }));
    assert.equal(
      org.message,
      'Message refused: a string at "org" holds U+0000, which PostgreSQL cannot store',
    );
    const key = refused(json({ payload: {}, [`\u0000${SECRET}`]: 1 }));
    assert.equal(
      key.message,
      'Message refused: a key of the object at "(the body)" holds U+0000, which PostgreSQL cannot store',
    );
  });

  it("gives no id for a body id with U+0000 or a lone surrogate, and says so in storable text", () => {
    for (const id of ["a\u0000b", "a\ud800b"]) {
      const r = parse(json({ id, payload: {} }));
      assert.ok(!r.ok && r.id === undefined, JSON.stringify(id));
      assert.ok(!r.message.includes("\u0000") && r.message.isWellFormed(), "the message is storable");
    }
    const header = parse('{"payload":{}}', { "Nats-Msg-Id": "a\u0000b" });
    assert.ok(!header.ok && header.id === undefined && !header.message.includes("\u0000"));
  });

  it("reports malformed JSON without quoting the body", () => {
    for (
      const body of [
        SECRET,
        `{"a":${SECRET}}`,
        `[1,"${SECRET}",]`,
        `{"password":"${SECRET}" "x":1}`,
        `{"password":"${SECRET}`,
      ]
    ) {
      const r = refused(body);
      assert.equal(r.code, "MALFORMED_MESSAGE");
      assert.match(r.message, /^Malformed JSON body: /);
    }
  });
});

describe("storableHeaders()", () => {
  it("replaces U+0000 and lone surrogates in header names and values", () => {
    assert.deepEqual(storableHeaders({ "Nats-Msg-Id": "a\u0000b", "X-\ud800": "c\udc00" }), {
      "Nats-Msg-Id": "a\uFFFDb",
      "X-\uFFFD": "c\uFFFD",
    });
  });
});
