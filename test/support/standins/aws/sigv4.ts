/**
 * SigV4 as the AWS stand-in checks it: reads the `Authorization` header's
 * credential scope (access key, date, region, service) and recomputes the
 * signature with the secret of that key, the way AWS documents it (sorted,
 * RFC 3986-encoded query; `x-amz-content-sha256` as the payload hash when S3's
 * client sends one; the path encoded twice except for S3).
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The parts of a SigV4 `Authorization` header. */
export interface SigV4Header {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string;
  signature: string;
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** Parses the header, or undefined when it is not SigV4. */
export function parseAuthorization(header: string | undefined): SigV4Header | undefined {
  const m = SIGV4.exec(header ?? "");
  if (!m) return undefined;
  const [, accessKeyId = "", date = "", region = "", service = "", signedHeaders = "", signature = ""] = m;
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const decode = (s: string) => decodeURIComponent(s);

function canonicalQuery(raw: string): string {
  const pairs = raw.split("&").filter(Boolean).map((part) => {
    const at = part.indexOf("=");
    const key = at < 0 ? part : part.slice(0, at);
    const value = at < 0 ? "" : part.slice(at + 1);
    return [encode(decode(key)), encode(decode(value))] as const;
  });
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** Whether `req` (with `body`) carries a valid signature made with `secret`. */
export function verifySigV4(req: IncomingMessage, body: Buffer, auth: SigV4Header, secret: string): boolean {
  const header = (name: string) => String(req.headers[name] ?? "").trim().replace(/\s+/g, " ");
  const raw = req.url ?? "/";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = at < 0 ? "" : raw.slice(at + 1);
  const canonicalPath = auth.service === "s3" ? path : path.split("/").map(encode).join("/");
  const canonical = [
    req.method ?? "GET",
    canonicalPath,
    canonicalQuery(query),
    auth.signedHeaders.split(";").map((name) => `${name}:${header(name)}\n`).join(""),
    auth.signedHeaders,
    header("x-amz-content-sha256") || sha256(body),
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", header("x-amz-date"), scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), "aws4_request");
  return createHmac("sha256", key).update(toSign).digest("hex") === auth.signature;
}
