/**
 * Numbers a command's stdout and stderr chunks with one gapless sequence and
 * forwards them up to a per-job cap. The cap counts what the chunks cost where
 * they are kept: `measure` says how many bytes a chunk takes once encoded and
 * stored (a log chunk's JSON, where a NUL byte takes six), so the cap bounds
 * what is stored, not what the command wrote. Past the cap it forwards nothing
 * more but keeps counting, so the caller keeps draining the pipes (a child
 * blocked on a full pipe would never finish) and can report how much was dropped.
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
  /** Bytes the command wrote that were forwarded. */
  forwardedBytes: number;
  droppedBytes: number;
  outputTruncated: boolean;
}

/** Options of `OutputCapture`. */
export interface OutputCaptureOptions {
  /** Cap on the measured size of the forwarded chunks, both streams together. */
  maxBytes: number;
  /**
   * What a chunk costs against the cap: its size once encoded and stored.
   * Must grow with the chunk's data. Default: the data's byte length.
   */
  measure?: (chunk: OutputChunk) => number;
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
  #measured = 0;
  #truncated = false;
  readonly #options: OutputCaptureOptions;

  constructor(options: OutputCaptureOptions) {
    this.#options = options;
  }

  #measure(chunk: OutputChunk): number {
    return this.#options.measure ? this.#options.measure(chunk) : chunk.data.byteLength;
  }

  /** The longest prefix of `data` whose chunk fits in `room` (binary search: the measure grows with the data). */
  #fit(stream: "stdout" | "stderr", data: Uint8Array, room: number): { data: Uint8Array; size: number } {
    let low = 0;
    let high = data.byteLength;
    let best = { data: data.subarray(0, 0), size: 0 };
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const part = data.subarray(0, mid);
      const size = this.#measure({ seq: this.#seq, stream, data: part });
      if (size <= room) {
        best = { data: part, size };
        low = mid;
      } else {
        high = mid - 1;
      }
    }
    return best;
  }

  /** Takes a chunk as read from a pipe; forwards all, part or none of it. */
  push(stream: "stdout" | "stderr", data: Uint8Array): void {
    this.#seen += data.byteLength;
    if (this.#truncated || data.byteLength === 0) return;
    const room = this.#options.maxBytes - this.#measured;
    const whole = this.#measure({ seq: this.#seq, stream, data });
    const part = whole <= room ? { data, size: whole } : this.#fit(stream, data, room);
    if (part.data.byteLength > 0) {
      this.#forwarded += part.data.byteLength;
      this.#measured += part.size;
      const seq = this.#seq++;
      this.#options.onOutput?.({ seq, stream, data: part.data });
    }
    if (part.data.byteLength < data.byteLength) {
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

  /** The measured size of everything forwarded so far (at most `maxBytes`). */
  get measuredBytes(): number {
    return this.#measured;
  }
}
