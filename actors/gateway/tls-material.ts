/**
 * Reads the gateway's TLS material at start: `TLS_CERT`, `TLS_KEY` and
 * `TLS_CLIENT_CA` each name a PEM file (or hold the PEM itself). A missing or
 * unreadable one stops the process with an error naming the variable, never
 * the content.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { ConfigError } from "../../machines/errors.ts";
import type { ServeTls } from "../process/runtime.ts";

/** What the gateway serves with. */
export interface TlsMaterial {
  serve: ServeTls;
  /** The parsed client CA, when mutual TLS is on. */
  clientCa: X509Certificate | undefined;
}

function readPem(variable: string, value: string, marker: RegExp): string {
  let text: string;
  if (value.trimStart().startsWith("-----BEGIN")) text = value;
  else {
    try {
      text = readFileSync(value, "utf8");
    } catch (error) {
      throw new ConfigError(
        `Cannot read ${variable} file "${value}": ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
      );
    }
  }
  if (!marker.test(text)) {
    throw new ConfigError(
      `${variable} does not hold a PEM ${marker.source.includes("KEY") ? "private key" : "certificate"}`,
    );
  }
  return text;
}

/** Loads and checks the files. */
export function loadTlsMaterial(
  tls: { cert: string; key: string; clientCa: string | undefined },
): TlsMaterial {
  const cert = readPem("TLS_CERT", tls.cert, /-----BEGIN CERTIFICATE-----/);
  const key = readPem("TLS_KEY", tls.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  let clientCa: X509Certificate | undefined;
  let ca: string | undefined;
  if (tls.clientCa) {
    ca = readPem("TLS_CLIENT_CA", tls.clientCa, /-----BEGIN CERTIFICATE-----/);
    try {
      clientCa = new X509Certificate(ca);
    } catch {
      throw new ConfigError("TLS_CLIENT_CA is not a readable X.509 certificate");
    }
  }
  return { serve: { cert, key, ...(ca ? { ca } : {}) }, clientCa };
}
