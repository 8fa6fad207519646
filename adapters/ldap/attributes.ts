/**
 * Reading attribute values of an ldapts entry: names match case-insensitively
 * (servers answer with the schema's spelling, `entryUUID` for `entryuuid`), a
 * single value arrives as a string and several as an array, binary attributes
 * as bytes. Also Active Directory's objectGUID as the GUID string AD tools show.
 *
 * @module
 */
import type { LdapEntry } from "./client.ts";

type Value = string | Uint8Array;

/**
 * The raw values of `name` in `entry`, whatever the case of its key. ldapts
 * gives every requested attribute a key (empty when absent) spelled as the
 * server answers or as requested, so the exact name almost always hits; the
 * case-insensitive scan is the fallback.
 */
function raw(entry: LdapEntry, name: string): Value[] {
  let value = Object.hasOwn(entry, name) ? entry[name] : undefined;
  if (value === undefined) {
    const lower = name.toLowerCase();
    const key = Object.keys(entry).find((k) => k !== "dn" && k.toLowerCase() === lower);
    if (key === undefined) return [];
    value = entry[key]!;
  }
  return Array.isArray(value) ? value : [value];
}

const decoder = new TextDecoder();

/** Every value of an attribute, as text (bytes decoded as UTF-8). */
export function values(entry: LdapEntry, name: string): string[] {
  return raw(entry, name).map((v) => typeof v === "string" ? v : decoder.decode(v));
}

/** The first value of an attribute, or `null`. */
export function first(entry: LdapEntry, name: string): string | null {
  const value = values(entry, name)[0];
  return value === undefined || value === "" ? null : value;
}

/** The first value of an attribute, as bytes (a binary attribute), or `null`. */
export function bytes(entry: LdapEntry, name: string): Uint8Array | null {
  const value = raw(entry, name)[0];
  if (value === undefined) return null;
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

/** The attribute keys of an entry that start with `prefix` (case-insensitive), e.g. `member;range=`. */
export function keysStartingWith(entry: LdapEntry, prefix: string): string[] {
  const lower = prefix.toLowerCase();
  return Object.keys(entry).filter((key) => key !== "dn" && key.toLowerCase().startsWith(lower));
}

const hex = (b: number) => b.toString(16).padStart(2, "0");

/**
 * The GUID string of Active Directory's 16-byte objectGUID: the first three
 * fields are little-endian on the wire.
 *
 * @example
 * ```ts
 * guidString(Uint8Array.from([0x33,0x22,0x11,0x00, 0x55,0x44, 0x77,0x66, 0x88,0x99, 0xaa,0xbb,0xcc,0xdd,0xee,0xff]));
 * // "00112233-4455-6677-8899-aabbccddeeff"
 * ```
 */
export function guidString(guid: Uint8Array): string {
  if (guid.length !== 16) throw new RangeError(`An objectGUID has 16 bytes, not ${guid.length}`);
  const b = Array.from(guid, hex);
  return `${b[3]}${b[2]}${b[1]}${b[0]}-${b[5]}${b[4]}-${b[7]}${b[6]}-${b[8]}${b[9]}-${b.slice(10).join("")}`;
}

/** Keeps the named attributes that have values: one value as a string, several as an array. */
export function pick(entry: LdapEntry, names: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of names) {
    const list = values(entry, name);
    if (list.length === 1) out[name] = list[0]!;
    else if (list.length > 1) out[name] = list;
  }
  return out;
}
