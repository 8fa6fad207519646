/**
 * OpenTelemetry SDK set-up, the one runtime-specific place for traces. Library
 * code imports only `@opentelemetry/api` (see tracing.ts).
 *
 * - Node: `@opentelemetry/sdk-node`, configured by the standard variables
 *   (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 *   `OTEL_EXPORTER_OTLP_PROTOCOL` http/protobuf or http/json, `OTEL_SERVICE_NAME`,
 *   `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, ...). It starts when an
 *   endpoint or `OTEL_TRACES_EXPORTER` is set, and never with `OTEL_SDK_DISABLED=true`.
 * - Deno: the runtime's built-in OpenTelemetry (`OTEL_DENO=true` at start) reads
 *   the same variables and serves `@opentelemetry/api`; nothing to start here.
 *
 * @module
 */
import { context } from "@opentelemetry/api";
import type { Logger } from "./logger.ts";
import { runtimeName } from "../process/runtime.ts";

/** A started SDK: flush and stop it at shutdown. */
export interface Telemetry {
  /** Which exporter set-up runs: "node-sdk", "deno-builtin" or "off". */
  mode: "node-sdk" | "deno-builtin" | "off";
  shutdown(): Promise<void>;
}

const isTrue = (value: string | undefined) =>
  value !== undefined && ["true", "1", "yes"].includes(value.toLowerCase());

/** Whether the environment asks for traces to be exported. */
export function tracesRequested(env: Record<string, string | undefined>): boolean {
  if (isTrue(env.OTEL_SDK_DISABLED)) return false;
  if (env.OTEL_TRACES_EXPORTER !== undefined) return env.OTEL_TRACES_EXPORTER !== "none";
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Starts trace export as the environment asks (idempotent per process). */
export async function startTelemetry(
  env: Record<string, string | undefined>,
  options: { logger: Logger; serviceName: string },
): Promise<Telemetry> {
  const off: Telemetry = { mode: "off", shutdown: async () => {} };
  if (runtimeName.startsWith("deno")) {
    if (isTrue(env.OTEL_DENO)) {
      options.logger.info("Traces: Deno's built-in OpenTelemetry (OTEL_DENO=true)");
      return { mode: "deno-builtin", shutdown: async () => {} };
    }
    if (tracesRequested(env)) {
      options.logger.warn(
        "OTEL_* is set but Deno exports traces only with OTEL_DENO=true in its environment at start",
      );
    }
    return off;
  }
  if (!tracesRequested(env)) {
    // No export, but a context manager still carries job and trace ids to log lines.
    const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    return off;
  }
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: options.serviceName }),
    instrumentations: [],
  });
  sdk.start();
  options.logger.info(
    {
      endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT,
      protocol: env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
    },
    "Traces: OpenTelemetry SDK exporting over OTLP",
  );
  return {
    mode: "node-sdk",
    async shutdown() {
      await sdk.shutdown().catch((error: unknown) =>
        options.logger.warn({ err: error }, "Cannot flush traces at shutdown")
      );
    },
  };
}
