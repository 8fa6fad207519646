/**
 * outcomeToResult() and the output cap: a command whose output reached the cap
 * fails its job with OUTPUT_LIMIT, saying the cap and the bytes, never success.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { outcomeToResult } from "../../../adapters/exec-job/exec-kind.ts";
import type { ExecOutcome } from "../../../bus/agent-protocol.ts";
import { PermanentError } from "../../../machines/errors.ts";

const outcome = (extra: Partial<ExecOutcome>): ExecOutcome => ({
  exitCode: 0,
  signal: null,
  oomKilled: false,
  cpuSeconds: 0.1,
  peakMemoryBytes: 1,
  durationMs: 5,
  outputBytes: 10,
  outputTruncated: false,
  droppedBytes: 0,
  applied: {},
  agent: "a",
  outputLimitBytes: 1024,
  ...extra,
});

describe("outcomeToResult() and the output cap", () => {
  it("fails a command the agent stopped at the cap with OUTPUT_LIMIT, naming the cap and the bytes", () => {
    assert.throws(
      () =>
        outcomeToResult(
          outcome({
            exitCode: 143,
            stoppedBy: "output-limit",
            outputTruncated: true,
            outputBytes: 5000,
            droppedBytes: 4000,
          }),
          undefined,
        ),
      (error: Error) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.code, "OUTPUT_LIMIT");
        assert.equal(
          error.message,
          "Command output reached the cap of 1024 bytes as stored and the command was stopped (5000 bytes written, 4000 dropped)",
        );
        return true;
      },
    );
  });

  it("fails truncated output of a command that exited 0 on its own (an agent that does not stop at the cap)", () => {
    assert.throws(
      () =>
        outcomeToResult(outcome({ outputTruncated: true, outputBytes: 3000, droppedBytes: 2000 }), undefined),
      (error: Error & { code?: string }) =>
        error.code === "OUTPUT_LIMIT" &&
        /and the command exited with code 0 \(3000 bytes written, 2000 dropped\)/.test(error.message),
    );
  });

  it("keeps TIMEOUT when the timeout stopped the command first, and success below the cap", () => {
    assert.throws(
      () => outcomeToResult(outcome({ stoppedBy: "timeout", outputTruncated: true }), 100),
      (error: Error & { code?: string }) => error.code === "TIMEOUT",
    );
    assert.equal(outcomeToResult(outcome({}), undefined).result.exitCode, 0);
  });
});
