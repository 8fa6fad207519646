/**
 * The DN index of one sync run: LDAP groups name their members by DN (and
 * posixGroup by uid) while the directory model names everything by external
 * id (entryUUID, objectGUID). The sources fill the index as they read — OUs
 * first, then users, then every group's DN in a first, light pass over the
 * groups — so that when group pages are read, every member DN the run will
 * sync resolves to its external id without a query per member.
 *
 * @module
 */
import { dnParts, normalizeDn } from "./dn.ts";

/** What a DN names. */
export type IndexedKind = "identity" | "group" | "organization";

/** DN → external id (and username → external id) of the entries a run has read. */
export class DirectoryIndex {
  readonly #byDn = new Map<string, { kind: IndexedKind; id: string }>();
  /**
   * The same, by DN exactly as the server spelt it: member values are almost
   * always spelt like the entry's own DN, and a hit here skips parsing.
   */
  readonly #byExactDn = new Map<string, { kind: IndexedKind; id: string }>();
  /** The nearest OU of the entries under a parent DN (exact spelling); cleared when an OU is added. */
  readonly #organizationOfParent = new Map<string, string | null>();
  readonly #byUsername = new Map<string, string>();
  /** Ancestors known not to be OUs (looked up once). */
  readonly #notOrganization = new Set<string>();
  readonly #base: string;

  /** `base`: the search base; ancestors above it are never organizations of the run. */
  constructor(base: string) {
    this.#base = normalizeDn(base);
  }

  /** Records the external id of an entry. */
  add(dn: string, kind: IndexedKind, id: string): void {
    const value = { kind, id };
    this.#byDn.set(normalizeDn(dn), value);
    this.#byExactDn.set(dn, value);
    if (kind === "organization") this.#organizationOfParent.clear();
  }

  /** Records a username (uid, sAMAccountName) of a user; matched case-insensitively like uid. */
  addUsername(username: string, id: string): void {
    this.#byUsername.set(username.toLowerCase(), id);
  }

  /** Marks a DN as not an OU, so the ancestor walk does not look it up again. */
  addNotOrganization(dn: string): void {
    this.#notOrganization.add(normalizeDn(dn));
    this.#organizationOfParent.clear();
  }

  /** What a DN names, if the run has read it. */
  get(dn: string): { kind: IndexedKind; id: string } | undefined {
    return this.#byExactDn.get(dn) ?? this.#byDn.get(normalizeDn(dn));
  }

  /** The external id of a user by username. */
  byUsername(username: string): string | undefined {
    return this.#byUsername.get(username.toLowerCase());
  }

  /**
   * The ancestors of `dn` within the base, nearest first, in normal form,
   * each with what is known of it: an organization's id, `false` (not an OU)
   * or `undefined` (unknown yet).
   */
  ancestors(dn: string): { dn: string; organization: string | false | undefined }[] {
    return [...this.#walk(dn)];
  }

  /** The external id of the nearest OU above `dn` that the index knows, or `null`. */
  organizationOf(dn: string): string | null {
    // Siblings share the answer: cache it by the parent as spelt (when the first RDN has no escapes).
    const comma = dn.indexOf(",");
    const parent = comma > 0 && !dn.slice(0, comma).includes("\\") ? dn.slice(comma + 1) : null;
    const cached = parent === null ? undefined : this.#organizationOfParent.get(parent);
    if (cached !== undefined) return cached;
    let found: string | null = null;
    for (const ancestor of this.#walk(dn)) {
      if (ancestor.organization) {
        found = ancestor.organization;
        break;
      }
    }
    if (parent !== null) this.#organizationOfParent.set(parent, found);
    return found;
  }

  *#walk(dn: string): Generator<{ dn: string; organization: string | false | undefined }> {
    const parts = dnParts(dn);
    const base = this.#base;
    for (let k = 1; k < parts.length; k++) {
      const parent = parts.slice(k).join(",");
      if (base !== "" && parent !== base && !parent.endsWith(`,${base}`)) return;
      const known = this.#byDn.get(parent);
      const organization = known?.kind === "organization"
        ? known.id
        : known || this.#notOrganization.has(parent)
        ? false
        : undefined;
      yield { dn: parent, organization };
    }
  }

  /** How many DNs are indexed (for tests and progress). */
  get size(): number {
    return this.#byDn.size;
  }
}
