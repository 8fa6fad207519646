import { describe, it } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { createMemoryBus } from "../../bus/memory-bus.ts";
import { RECORD_OVERHEAD_BYTES } from "../../bus/record-stream.ts";
import { runBusContract } from "../contract/bus.contract.ts";

runBusContract({
  name: "in-memory",
  create: (options) =>
    Promise.resolve(
      createMemoryBus({ namespace: `m${Math.random().toString(36).slice(2, 10)}`, ...options }),
    ),
});

/** V8's collector, exposed after start (works under Node and Deno). */
function collector(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

describe("in-memory bus bounds", () => {
  it("releases the data of trimmed log chunks and keeps the bytes it counts within logsMaxBytes", async () => {
    const gc = collector();
    const bus = createMemoryBus({ namespace: "free", logsMaxBytes: 4 * 1024 * 1024 });
    const refs: WeakRef<Uint8Array>[] = [];
    for (let i = 0; i < 64; i++) {
      const data = new Uint8Array(1024 * 1024).fill(i);
      refs.push(new WeakRef(data));
      await bus.publishLog("flood", data);
    }
    const info = await bus.streamInfo("logs");
    assert.ok(info.bytes <= 4 * 1024 * 1024, `${info.bytes} bytes kept`);
    assert.equal(info.messages, 3, "three 1 MiB chunks (and their subjects) fit under 4 MiB");
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    const alive = refs.map((ref) => ref.deref() !== undefined);
    assert.equal(alive.slice(0, 61).filter(Boolean).length, 0, "every trimmed chunk was collected");
    assert.deepEqual(alive.slice(61), [true, true, true], "the kept ones live on");
    await bus.close();
  });

  it("counts what each event costs in memory beyond its bytes against eventsMaxBytes", async () => {
    const bus = createMemoryBus({ namespace: "small", eventsMaxBytes: 1024 * 1024 });
    for (let i = 0; i < 10_000; i++) {
      await bus.publishEvents([{ jobId: `j${i}`, data: new TextEncoder().encode(`{"i":${i}}`) }]);
    }
    const info = await bus.streamInfo("events");
    // 10,000 events of ~30 bytes of subject and data would all fit in 1 MiB by their bytes alone.
    assert.ok(info.messages < 5000, `${info.messages} events kept`);
    assert.ok(info.messages <= (1024 * 1024) / RECORD_OVERHEAD_BYTES, `${info.messages} events kept`);
    assert.ok(info.messages > 1000, `${info.messages} events kept`);
    assert.ok(info.bytes <= 1024 * 1024, `${info.bytes} bytes counted`);
    await bus.close();
  });

  it("applies defaults for options passed as undefined", async () => {
    const bus = createMemoryBus({
      namespace: "undef",
      logsMaxBytes: undefined as unknown as number,
      logsMaxChunksPerJob: undefined as unknown as number,
    });
    for (let i = 0; i < 5; i++) await bus.publishLog("j", new Uint8Array(10));
    assert.equal((await bus.streamInfo("logs")).messages, 5, "an undefined bound is the default, not zero");
    await bus.close();
  });
});
