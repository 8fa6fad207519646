import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { classifyStoreError } from "../../../adapters/postgres/classify.ts";

const withCode = (code: string, message = "failed") => Object.assign(new Error(message), { code });

describe("classifyStoreError()", () => {
  it("calls data exceptions, program limits and values JavaScript cannot encode data errors", () => {
    for (const code of ["22P05", "22021", "22P02", "22023", "54001"]) {
      assert.equal(classifyStoreError(withCode(code)), "data", code);
    }
    assert.equal(classifyStoreError(new RangeError("Maximum call stack size exceeded")), "data");
    assert.equal(classifyStoreError(new TypeError("Do not know how to serialize a BigInt")), "data");
  });

  it("calls a lost connection, a shutdown, exhausted resources, serialization failures and deadlocks transient", () => {
    for (
      const code of [
        "08006",
        "57P01",
        "53300",
        "40001",
        "40P01",
        "CONNECTION_CLOSED",
        "CONNECT_TIMEOUT",
        "ECONNREFUSED",
      ]
    ) {
      assert.equal(classifyStoreError(withCode(code)), "transient", code);
    }
    assert.equal(classifyStoreError(new Error("PGlite is closed")), "transient");
  });

  it("calls anything else other", () => {
    assert.equal(classifyStoreError(withCode("23505")), "other");
    assert.equal(classifyStoreError(withCode("42P01")), "other");
    assert.equal(classifyStoreError(new TypeError("Cannot read properties of undefined")), "other");
    assert.equal(classifyStoreError("boom"), "other");
  });
});
