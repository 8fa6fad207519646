import { createMemoryBus } from "../../bus/memory-bus.ts";
import { runBusContract } from "../contract/bus.contract.ts";

runBusContract({ name: "in-memory", create: (options) => Promise.resolve(createMemoryBus({ namespace: `m${Math.random().toString(36).slice(2, 10)}`, ...options })) });
