/**
 * A local OTLP/HTTP receiver for tests: accepts `POST /v1/traces` in the http/json
 * encoding (what Troupe's tests configure on both runtimes) and keeps every span,
 * flattened with its resource's service name. Other signals are accepted and dropped.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A received span. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  status: { code?: number; message?: string };
  service: string;
}

/** A running receiver. */
export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Raw request bodies (every signal), for secret greps. */
  bodies: string[];
  close(): Promise<void>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};

function flatten(list: { key: string; value: OtlpValue }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.boolValue ?? value.doubleValue;
  }
  return out;
}

// OTLP/JSON encodes ids as hex; some exporters send base64. Normalise to hex.
function hexId(id: string | undefined): string {
  if (!id) return "";
  if (/^[0-9a-f]*$/i.test(id)) return id.toLowerCase();
  return Array.from(atob(id), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      bodies.push(body);
      if (req.url === "/v1/traces" && (req.headers["content-type"] ?? "").includes("json")) {
        const parsed = JSON.parse(body) as {
          resourceSpans?: {
            resource?: { attributes?: { key: string; value: OtlpValue }[] };
            scopeSpans?: {
              spans?: (Omit<ReceivedSpan, "attributes" | "events" | "service"> & {
                attributes?: [];
                events?: { name: string; attributes?: [] }[];
              })[];
            }[];
          }[];
        };
        for (const rs of parsed.resourceSpans ?? []) {
          const service = String(flatten(rs.resource?.attributes)["service.name"] ?? "");
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: hexId(s.traceId),
                spanId: hexId(s.spanId),
                parentSpanId: hexId(s.parentSpanId),
                name: s.name,
                kind: s.kind,
                attributes: flatten(s.attributes),
                events: (s.events ?? []).map((e) => ({ name: e.name, attributes: flatten(e.attributes) })),
                status: s.status ?? {},
                service,
              });
            }
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
