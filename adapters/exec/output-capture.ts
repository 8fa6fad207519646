/**
 * Numbers a command's stdout and stderr chunks with one gapless sequence and
 * forwards them up to a per-job byte cap. Past the cap it forwards nothing more
 * but keeps counting, so the caller keeps draining the pipes (a child blocked
 * on a full pipe would never finish) and can report how much was dropped.
 *
 * @module
 */

/** One piece of a command's output. `seq` starts at 0 and grows by 1 across both streams. */
export interface OutputChunk {
  seq: number;
  stream: "stdout" | "stderr";
  data: Uint8Array;
}

/** Said once, when the cap is reached: every later byte is dropped. */
export interface OutputTruncation {
  /** Sequence number of the last chunk forwarded (-1 when none was). */
  lastSeq: number;
  limitBytes: number;
}

/** Totals of one job's output. */
export interface OutputTotals {
  /** Bytes the command wrote, forwarded or not. */
  outputBytes: number;
  forwardedBytes: number;
  droppedBytes: number;
  outputTruncated: boolean;
}

/** Options of `OutputCapture`. */
export interface OutputCaptureOptions {
  /** Cap on forwarded bytes, both streams together. */
  maxBytes: number;
  onOutput?: (chunk: OutputChunk) => void;
  onTruncated?: (truncation: OutputTruncation) => void;
}

/**
 * Sequences and caps output.
 *
 * @example
 * ```ts
 * const capture = new OutputCapture({ maxBytes: 1 << 20, onOutput: (c) => send(c) });
 * child.stdout.on("data", (data) => capture.push("stdout", data));
 * ```
 */
export class OutputCapture {
  #seq = 0;
  #seen = 0;
  #forwarded = 0;
  #truncated = false;
  readonly #options: OutputCaptureOptions;

  constructor(options: OutputCaptureOptions) {
    this.#options = options;
  }

  /** Takes a chunk as read from a pipe; forwards all, part or none of it. */
  push(stream: "stdout" | "stderr", data: Uint8Array): void {
    this.#seen += data.byteLength;
    if (this.#truncated || data.byteLength === 0) return;
    const room = this.#options.maxBytes - this.#forwarded;
    const part = data.byteLength <= room ? data : data.subarray(0, room);
    if (part.byteLength > 0) {
      this.#forwarded += part.byteLength;
      const seq = this.#seq++;
      this.#options.onOutput?.({ seq, stream, data: part });
    }
    if (part.byteLength < data.byteLength) {
      this.#truncated = true;
      this.#options.onTruncated?.({ lastSeq: this.#seq - 1, limitBytes: this.#options.maxBytes });
    }
  }

  /** Bytes seen, forwarded and dropped so far. */
  get totals(): OutputTotals {
    return {
      outputBytes: this.#seen,
      forwardedBytes: this.#forwarded,
      droppedBytes: this.#seen - this.#forwarded,
      outputTruncated: this.#truncated,
    };
  }
}
