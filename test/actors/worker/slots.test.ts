import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JobDelivery } from "../../../bus/bus.ts";
import { Slots } from "../../../actors/worker/slots.ts";
import { silentLogger } from "../../../actors/observability/logger.ts";

/** A delivery that records how it was settled. */
function delivery(seq: number, settled: string[], fail = false): JobDelivery {
  const record = (how: string) => () => {
    settled.push(`${seq}:${how}`);
    return fail ? Promise.reject(new Error("bus away")) : Promise.resolve();
  };
  return {
    subject: "t.jobs.noop",
    seq,
    deliveryCount: 1,
    data: new Uint8Array(),
    headers: {},
    ack: record("ack"),
    nak: (ms?: number) => record(`nak(${ms ?? 0})`)(),
    term: record("term"),
    working: () => Promise.resolve(),
  };
}

describe("Slots", () => {
  it("frees a message's slot once, whether it is settled, abandoned, or both", async () => {
    const settled: string[] = [];
    const slots = new Slots({ capacity: 3, logger: silentLogger() });
    const [a, b, c] = [delivery(1, settled), delivery(2, settled), delivery(3, settled)];
    slots.take([a, b, c]);
    assert.equal(slots.free, 0);
    await slots.settle(a, "ack");
    await slots.settle(a, { nakMs: 5 });
    slots.abandon(a);
    assert.equal(slots.free, 1);
    slots.abandon(b);
    await slots.settle(b, "ack");
    assert.equal(slots.free, 2);
    await slots.settle(c, { nakMs: 10 });
    assert.equal(slots.free, 3);
    assert.deepEqual(settled, ["1:ack", "3:nak(10)"], "a message is settled once, an abandoned one never");
  });

  it("frees the slot even when the bus refuses the settlement", async () => {
    const slots = new Slots({ capacity: 1, logger: silentLogger() });
    const d = delivery(1, [], true);
    slots.take([d]);
    await slots.settle(d, "ack");
    assert.equal(slots.free, 1);
  });

  it("holds a kind's limit across messages and gives the kind slot back with the message", () => {
    const slots = new Slots({ capacity: 10, logger: silentLogger() });
    const [a, b] = [delivery(1, []), delivery(2, [])];
    slots.take([a, b]);
    assert.equal(slots.takeKind(a, "k", 1), true);
    assert.equal(slots.takeKind(a, "k", 1), true, "the same message asking again keeps its slot");
    assert.equal(slots.takeKind(b, "k", 1), false, "the limit holds");
    slots.abandon(a);
    assert.equal(slots.takeKind(b, "k", 1), true, "freed with its message");
  });

  it("wakes whoever waits for a free slot", async () => {
    const slots = new Slots({ capacity: 1, logger: silentLogger() });
    const d = delivery(1, []);
    slots.take([d]);
    let woken = false;
    const waiting = slots.whenFree().then(() => woken = true);
    assert.equal(woken, false);
    await slots.settle(d, "ack");
    await waiting;
    assert.equal(woken, true);
  });
});
