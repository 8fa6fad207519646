/**
 * XML and id helpers of the AWS stand-in: the Query and REST XML services
 * (STS, IAM, EC2, RDS, ElastiCache, S3) build their answers from these.
 */
import { randomBytes } from "node:crypto";

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** `<name>value</name>`, escaped. */
export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escape(String(value))}</${name}>`;
}

/** `<name>` around already-built children. */
export function wrap(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/** `n` random characters of AWS's id alphabet. */
export function randomId(n: number): string {
  return Array.from(randomBytes(n), (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32]).join("");
}
