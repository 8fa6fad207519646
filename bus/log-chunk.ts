/**
 * The message published on `<ns>.logs.<jobId>`: one chunk of a job's output.
 * `seq` numbers a job's chunks from 1 without gaps across stdout and stderr, so a
 * follower sees a gap or a repeat at once; `stream` "system" carries notes such
 * as the output cap being reached. The agent's output cap counts chunks in this
 * encoding (JSON: a NUL byte of output takes six bytes here), so it bounds what
 * the logs stream stores.
 *
 * @module
 */

/** One chunk of a job's output. */
export interface LogChunk {
  jobId: string;
  /** 1, 2, 3, ... per job, across streams. */
  seq: number;
  stream: "stdout" | "stderr" | "system";
  /** The bytes as UTF-8 text (invalid sequences replaced). */
  text: string;
  at: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a chunk for `Bus.publishLog`; its msg id (`<jobId>:l<seq>`) makes a republish a no-op. */
export function encodeLogChunk(chunk: LogChunk): { data: Uint8Array; msgId: string } {
  return { data: encoder.encode(JSON.stringify(chunk)), msgId: `${chunk.jobId}:l${chunk.seq}` };
}

/** Decodes a chunk; anything else (a foreign publisher's bytes) becomes a "system" chunk with seq 0. */
export function decodeLogChunk(jobId: string, data: Uint8Array): LogChunk {
  const text = decoder.decode(data);
  try {
    const value = JSON.parse(text) as Partial<LogChunk>;
    if (typeof value.seq === "number" && typeof value.text === "string" && typeof value.stream === "string") {
      return {
        jobId,
        seq: value.seq,
        stream: value.stream as LogChunk["stream"],
        text: value.text,
        at: String(value.at ?? ""),
      };
    }
  } catch {
    // not JSON: fall through
  }
  return { jobId, seq: 0, stream: "system", text, at: "" };
}
