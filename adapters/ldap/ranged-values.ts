/**
 * Active Directory's ranged retrieval of a large multi-valued attribute. A
 * search returns at most MaxValRange values (1,500 by default) of a group's
 * `member`, under the key `member;range=0-1499` instead of `member`; the rest
 * is read with base-scope searches asking for `member;range=1500-*`, and each
 * answer names the range it holds, until one ends in `*`
 * (`member;range=3000-*`). Directories that never range (OpenLDAP) answer
 * with plain `member`, and this returns it as is.
 *
 * @module
 */
import { PermanentError } from "../../machines/errors.ts";
import { keysStartingWith, values } from "./attributes.ts";
import type { LdapEntry } from "./client.ts";

/** Reads `attributes` of the entry `dn` (a base-scope search). */
export type ReadEntry = (dn: string, attributes: string[]) => Promise<LdapEntry | null>;

const RANGE = /;range=(\d+)-(\d+|\*)$/i;

/** The ranged key of `attribute` in `entry` and its bounds, if the server ranged it. */
function rangeOf(
  entry: LdapEntry,
  attribute: string,
): { key: string; start: number; end: number | "*" } | null {
  for (const key of keysStartingWith(entry, `${attribute};range=`)) {
    const match = RANGE.exec(key);
    if (!match) continue;
    return { key, start: Number(match[1]), end: match[2] === "*" ? "*" : Number(match[2]) };
  }
  return null;
}

/**
 * Every value of `attribute` of `entry`, reading the further ranges with
 * `read` when the server ranged it.
 *
 * @example
 * ```ts
 * // entry: { dn: "CN=All,DC=corp", "member;range=0-1499": [...1500 DNs] }
 * const members = await rangedValues(entry, "member", (dn, attrs) => session.read(dn, attrs));
 * // reads "member;range=1500-*" (→ "member;range=1500-2999"), then "member;range=3000-*" (→ "…=3000-*")
 * ```
 */
export async function rangedValues(entry: LdapEntry, attribute: string, read: ReadEntry): Promise<string[]> {
  const plain = values(entry, attribute);
  let range = rangeOf(entry, attribute);
  if (!range) return plain;
  const out = [...plain, ...values(entry, range.key)];
  while (range.end !== "*") {
    const start: number = range.end + 1;
    const next = await read(entry.dn, [`${attribute};range=${start}-*`]);
    const nextRange = next ? rangeOf(next, attribute) : null;
    if (!next || !nextRange) {
      // Past the last value AD answers with no values at all: the list is complete.
      if (next && values(next, attribute).length > 0) out.push(...values(next, attribute));
      return out;
    }
    // Each answer must start where asked and move forward, or a looping server would never end.
    if (nextRange.start !== start || (nextRange.end !== "*" && nextRange.end < start)) {
      throw new PermanentError(
        `Ranged retrieval of "${attribute}" of "${entry.dn}" asked for values from ${start} and got ${nextRange.key}`,
        { code: "LDAP_RANGE_MISMATCH" },
      );
    }
    out.push(...values(next, nextRange.key));
    range = nextRange;
  }
  return out;
}
