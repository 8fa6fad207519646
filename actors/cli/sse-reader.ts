/**
 * Reads a Server-Sent Events body (the CLI following a job over HTTP) with
 * eventsource-parser, the parser behind the `eventsource` polyfill.
 *
 * @module
 */
import { EventSourceParserStream } from "eventsource-parser/stream";

/** One event. */
export interface ServerSentEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Parses `body` as it arrives. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const text = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>);
  const events = text.pipeThrough(new EventSourceParserStream());
  for await (
    const message of events as unknown as AsyncIterable<{ event?: string; id?: string; data: string }>
  ) {
    yield { event: message.event ?? "message", id: message.id, data: message.data };
  }
}
