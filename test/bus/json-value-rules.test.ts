import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  assertStorableJson,
  describeJsonSyntaxError,
  findJsonViolation,
  storableText,
  textMayBreakRules,
} from "../../bus/json-value-rules.ts";
import { ValidationError } from "../../machines/errors.ts";

describe("findJsonViolation()", () => {
  it("passes JSON values that PostgreSQL stores", () => {
    for (const value of [null, 1, "text \u{1F600}", [], {}, { a: [1, { b: "ok" }] }, "\uFFFD"]) {
      assert.equal(findJsonViolation(value), undefined, JSON.stringify(value));
    }
  });

  it("names the path of the first offending string, with keys that are not plain quoted", () => {
    assert.equal(findJsonViolation("\u0000")?.path, "payload");
    assert.equal(findJsonViolation({ "a b": [0, { c: "\u0000" }] })?.path, 'payload["a b"][1].c');
    assert.equal(
      findJsonViolation("x\udfff", { path: "org", what: "Job" })?.message,
      'Job refused: a string at "org" holds a lone UTF-16 surrogate (not valid Unicode), which PostgreSQL cannot store',
    );
  });

  it("counts depth in objects and arrays from the value itself, against maxDepth", () => {
    assert.equal(findJsonViolation([[[]]], { maxDepth: 3 }), undefined);
    assert.deepEqual(findJsonViolation([[[[]]]], { maxDepth: 3 }), {
      rule: "depth",
      path: "payload[0][0][0]",
      inKey: false,
      message: 'Payload refused: "payload[0][0][0]" nests objects and arrays deeper than 3 levels',
    });
  });
});

describe("findJsonViolation() on long paths", () => {
  it("shortens them to well-formed text, even when a cut falls inside a surrogate pair", () => {
    for (let shift = 0; shift < 4; shift++) {
      let value: unknown = "\u0000";
      for (let i = 0; i < 30; i++) value = { [`${"k".repeat(shift)}${"\u{1F600}".repeat(30)}`]: value };
      const found = findJsonViolation(value);
      assert.ok(found && found.path.length <= 170 && found.message.isWellFormed(), found?.path);
    }
  });
});

describe("assertStorableJson()", () => {
  it("throws a ValidationError whose field is the path", () => {
    assert.throws(
      () => assertStorableJson({ a: { "\u0000": 1 } }),
      (error: unknown) =>
        error instanceof ValidationError && error.code === "VALIDATION" && error.field === "payload.a",
    );
  });
});

describe("textMayBreakRules()", () => {
  it("is true for any escape and for more opening brackets than the depth, false otherwise", () => {
    assert.equal(textMayBreakRules('{"a":"\\u0000"}'), true);
    assert.equal(textMayBreakRules('{"a":"\\ud83d\\ude00"}'), true, "a pair is checked by the walk");
    assert.equal(textMayBreakRules("[".repeat(65) + "]".repeat(65)), true);
    assert.equal(textMayBreakRules("[".repeat(64) + "]".repeat(64)), false);
    assert.equal(textMayBreakRules('{"a":"plain \u00e9 \u{1F600} text"}'), false);
  });
});

describe("storableText()", () => {
  it("replaces U+0000 and lone surrogates with U+FFFD and keeps pairs", () => {
    assert.equal(storableText("a\u0000b\ud800c\u{1F600}"), "a\uFFFDb\uFFFDc\u{1F600}");
  });
});

describe("describeJsonSyntaxError()", () => {
  it("keeps V8's grammar and position but never the input it quotes", () => {
    const complaint = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return describeJsonSyntaxError(error);
      }
      return assert.fail("parsed");
    };
    assert.equal(
      complaint('{"a":1 "b"}'),
      "Expected ',' or '}' after property value in JSON at position 7 (line 1 column 8)",
    );
    assert.equal(complaint("secret-text"), "Unexpected token");
    assert.doesNotMatch(complaint('{"a":secret}'), /secret/);
  });
});
