/**
 * Distinguished names as keys: a group lists its members by DN, and the
 * server may spell the same DN differently in a `member` value and in the
 * entry's own name (`CN=Alice, OU=People` and `cn=alice,ou=people`). DNs are
 * compared in a normal form: RDNs split on unescaped commas, each attribute
 * type and value trimmed and lower-cased (the naming attributes of
 * directories — cn, uid, ou, dc, o — match case-insensitively), multi-valued
 * RDNs sorted, `\XX` hex escapes of printable ASCII decoded.
 *
 * @module
 */

/** Splits on an unescaped separator (a backslash escapes the next character). */
function splitUnescaped(text: string, separator: string): string[] {
  if (!text.includes("\\")) return text.split(separator);
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\" && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** One `type=value` in normal form. */
function normalAva(ava: string): string {
  const eq = ava.indexOf("=");
  if (eq < 0) return ava.trim().toLowerCase();
  const type = ava.slice(0, eq).trim().toLowerCase();
  const rest = ava.slice(eq + 1).trim();
  if (!rest.includes("\\")) return `${type}=${rest.toLowerCase()}`;
  const value = rest
    // `\2C` and `\,` are the same character; decode printable hex escapes, keep the rest escaped.
    .replace(/\\([0-9a-fA-F]{2})/g, (all, hex: string) => {
      const code = parseInt(hex, 16);
      return code >= 0x20 && code < 0x7f ? `\\${String.fromCharCode(code)}` : all.toLowerCase();
    })
    .replace(/\\([^,+"\\<>;=# ])/g, "$1")
    .toLowerCase();
  return `${type}=${value}`;
}

/** The RDNs of a DN in normal form, leaf first. */
export function dnParts(dn: string): string[] {
  if (dn.trim() === "") return [];
  return splitUnescaped(dn, ",").map((rdn) =>
    rdn.includes("+") ? splitUnescaped(rdn, "+").map(normalAva).sort().join("+") : normalAva(rdn)
  );
}

/**
 * The normal form of a DN, for map keys.
 *
 * @example
 * ```ts
 * normalizeDn("CN=Alice Smith, OU=People,DC=Example,DC=org"); // "cn=alice smith,ou=people,dc=example,dc=org"
 * ```
 */
export function normalizeDn(dn: string): string {
  // Most DNs have no escapes, no multi-valued RDN and no spaces at separators: lower-casing is their normal form.
  if (!NEEDS_PARSING.test(dn)) return dn.toLowerCase();
  return dnParts(dn).join(",");
}

/** What only a full parse normalises: escapes, `+`, spaces next to a separator or at either end. */
const NEEDS_PARSING = /[\\+]|\s[,=]|[,=]\s|^\s|\s$/;

/** The normal form of the parent of a DN; `null` for a single RDN or an empty DN. */
export function parentDn(dn: string): string | null {
  const parts = dnParts(dn);
  return parts.length > 1 ? parts.slice(1).join(",") : null;
}

/** Whether `dn` is `base` or below it (both in any form). */
export function isWithin(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return b === "" || d === b || d.endsWith(`,${b}`);
}

/** The value of the first RDN, unescaped as written (`cn=Sales\, EMEA,ou=x` → `Sales, EMEA`). */
export function rdnValue(dn: string): string {
  const first = splitUnescaped(dn, ",")[0] ?? "";
  const eq = first.indexOf("=");
  return first.slice(eq + 1).trim().replace(
    /\\([0-9a-fA-F]{2})/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  )
    .replace(/\\(.)/g, "$1");
}
