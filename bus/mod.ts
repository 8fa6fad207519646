/**
 * The bus: the Bus port, its NATS JetStream and in-memory implementations,
 * subjects and the job envelope.
 *
 * @module
 */
export type * from "./bus.ts";
export { BusFullError } from "./bus.ts";
export { createMemoryBus } from "./memory-bus.ts";
export { createNatsBus, type NatsBusOptions } from "./nats-bus.ts";
export * from "./subjects.ts";
export * from "./envelope.ts";
