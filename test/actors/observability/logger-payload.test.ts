/** Log lines never carry a job's input: payloads, exec env and stdin are redacted wherever they sit. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../../actors/observability/logger.ts";

describe("createLogger() redaction of job input", () => {
  it("blanks payload, env and stdin at the top level and nested", () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const secret = "logSecret-9d8c7b";
    log.info({ payload: { env: { DB_PASSWORD: secret } } }, "a");
    log.info({ job: { payload: { password: secret } } }, "b");
    log.info({ spec: { env: { A: secret }, stdin: secret } }, "c");
    log.info({ request: { spec: { env: { A: secret } } } }, "d");
    log.info({ env: { A: secret }, stdin: secret }, "e");
    assert.equal(lines.length, 5);
    for (const line of lines) assert.ok(!line.includes(secret), line);
    assert.match(lines[0]!, /"payload":"\[redacted\]"/);
  });
});
