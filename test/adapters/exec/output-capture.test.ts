/**
 * OutputCapture with a measure: the cap counts what a chunk costs as stored,
 * cutting the chunk that crosses it at the longest prefix that fits.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  OutputCapture,
  type OutputChunk,
  type OutputTruncation,
} from "../../../adapters/exec/output-capture.ts";
import { encodeLogChunk } from "../../../bus/log-chunk.ts";

const decoder = new TextDecoder();
/** What the agent stores: the chunk as a JSON log chunk. */
const stored = (chunk: OutputChunk) =>
  encodeLogChunk({
    jobId: "j",
    seq: chunk.seq + 1,
    stream: chunk.stream,
    text: decoder.decode(chunk.data),
    at: new Date(0).toISOString(),
  }).data
    .byteLength;

describe("OutputCapture with a measure", () => {
  it("caps NUL output by its stored size (six bytes a NUL plus the envelope), not by the bytes written", () => {
    const chunks: OutputChunk[] = [];
    const truncations: OutputTruncation[] = [];
    const capture = new OutputCapture({
      maxBytes: 10_000,
      measure: stored,
      onOutput: (c) => chunks.push(c),
      onTruncated: (t) => truncations.push(t),
    });
    for (let i = 0; i < 10; i++) capture.push("stdout", new Uint8Array(1000));
    const total = chunks.reduce((n, c) => n + stored(c), 0);
    assert.ok(total <= 10_000, `${total} bytes stored`);
    assert.ok(
      total > 10_000 - 6,
      `${total} bytes stored: the last chunk was cut at the longest prefix that fits`,
    );
    assert.equal(capture.measuredBytes, total);
    const { outputBytes, forwardedBytes, outputTruncated } = capture.totals;
    assert.equal(outputBytes, 10_000);
    assert.ok(forwardedBytes < 1700, `${forwardedBytes} NULs forwarded: about a sixth of the cap`);
    assert.equal(outputTruncated, true);
    assert.deepEqual(truncations, [{ lastSeq: chunks.length - 1, limitBytes: 10_000 }]);
    assert.deepEqual(chunks.map((c) => c.seq), chunks.map((_, i) => i));
  });

  it("without a measure counts bytes as written", () => {
    const chunks: OutputChunk[] = [];
    const capture = new OutputCapture({ maxBytes: 1500, onOutput: (c) => chunks.push(c) });
    capture.push("stdout", new Uint8Array(1000));
    capture.push("stderr", new Uint8Array(1000));
    assert.deepEqual(chunks.map((c) => c.data.byteLength), [1000, 500]);
    assert.equal(capture.measuredBytes, 1500);
  });

  it("forwards nothing of a chunk whose envelope alone does not fit", () => {
    const chunks: OutputChunk[] = [];
    const capture = new OutputCapture({ maxBytes: 50, measure: stored, onOutput: (c) => chunks.push(c) });
    capture.push("stdout", new TextEncoder().encode("hello"));
    assert.deepEqual(chunks, []);
    assert.deepEqual(capture.totals, {
      outputBytes: 5,
      forwardedBytes: 0,
      droppedBytes: 5,
      outputTruncated: true,
    });
  });
});
