/**
 * Core messaging of the NATS bus (agent control): live subscriptions and
 * request/reply on plain subjects, outside JetStream.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { NoResponderError, type Responder, type StreamRecord, type Subscription } from "./bus.ts";
import { TransientError } from "../machines/errors.ts";

/** Follows live messages on `subject`. */
export function natsSubscribe(
  nc: NatsConnection,
  subject: string,
  onClose: (s: Subscription) => void,
): Subscription {
  const sub = nc.subscribe(subject);
  const subscription: Subscription = {
    async close() {
      onClose(subscription);
      sub.unsubscribe();
      await sub.closed.catch(() => {});
    },
    async *[Symbol.asyncIterator]() {
      for await (const msg of sub) {
        const record: StreamRecord = { subject: msg.subject, seq: 0, data: msg.data, headers: {} };
        yield record;
      }
    },
  };
  return subscription;
}

/** Answers requests on `subject`; a handler that throws answers nothing (the requester times out). */
export function natsServe(
  nc: NatsConnection,
  subject: string,
  handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array,
  onError: (error: unknown) => void,
): Responder {
  const sub = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error) return onError(error);
      Promise.resolve().then(() => handler(msg.data)).then((reply) => msg.respond(reply), onError);
    },
  });
  return {
    async close() {
      sub.unsubscribe();
      await sub.closed.catch(() => {});
    },
  };
}

/** Sends a request; no responder or no answer in time is a {@link NoResponderError}. */
export async function natsRequest(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array> {
  try {
    const reply = await nc.request(subject, data, { timeout: timeoutMs });
    return reply.data;
  } catch (error) {
    const text = `${(error as Error)?.name} ${(error as Error)?.message} ${
      String((error as { cause?: Error })?.cause?.message ?? "")
    }`;
    if (/no ?responders|timeout|503/i.test(text)) {
      throw new NoResponderError(subject, timeoutMs, { cause: error });
    }
    throw new TransientError(
      `Request on "${subject}" failed: ${(error as Error)?.message ?? String(error)}`,
      { code: "UNAVAILABLE", cause: error },
    );
  }
}
