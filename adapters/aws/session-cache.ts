/**
 * Assumed-role sessions, cached per account, role and external id until shortly
 * before they expire, so a burst of jobs for one account makes one STS AssumeRole
 * call instead of one each. Concurrent callers for the same key share the one
 * call in flight. Time comes from an injected clock.
 *
 * @module
 */

/** A cached value and when it stops being usable. */
export interface Expiring {
  /** When AWS says the session expires. */
  expiration: Date;
}

/** Options of {@link SessionCache}. */
export interface SessionCacheOptions {
  /** Milliseconds since the epoch; `Date.now` unless a test injects its own. */
  now?: () => number;
  /** Refresh this long before `expiration` (default 5 minutes). */
  refreshBeforeMs?: number;
  /** Most sessions kept; the oldest are dropped first (default 1000). */
  maxEntries?: number;
}

/** A cache of expiring sessions with single-flight creation. */
export class SessionCache<T extends Expiring> {
  #entries = new Map<string, T>();
  #pending = new Map<string, Promise<T>>();
  #now: () => number;
  #refreshBeforeMs: number;
  #maxEntries: number;

  constructor(options: SessionCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
    this.#maxEntries = options.maxEntries ?? 1000;
  }

  /** Sessions currently cached (fresh or not yet evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /** The fresh session of `key`, if any. */
  peek(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry && this.#fresh(entry)) return entry;
    return undefined;
  }

  /**
   * The fresh session of `key`, else the one being created, else a new one from
   * `create` (which is not cached when it fails). `fromCache` says whether this
   * caller made the call.
   */
  async get(key: string, create: () => Promise<T>): Promise<{ value: T; fromCache: boolean }> {
    const cached = this.peek(key);
    if (cached) return { value: cached, fromCache: true };
    const inFlight = this.#pending.get(key);
    if (inFlight) return { value: await inFlight, fromCache: true };
    const made = create().then((value) => {
      this.#set(key, value);
      return value;
    }).finally(() => this.#pending.delete(key));
    this.#pending.set(key, made);
    return { value: await made, fromCache: false };
  }

  /** Forgets the session of `key` when it is `value` (AWS refused it: the next call assumes anew). */
  invalidate(key: string, value?: T): void {
    const entry = this.#entries.get(key);
    if (!entry || (value !== undefined && entry !== value)) return;
    this.#entries.delete(key);
  }

  /** Forgets every session. */
  clear(): void {
    this.#entries.clear();
  }

  #fresh(entry: T): boolean {
    return this.#now() < entry.expiration.getTime() - this.#refreshBeforeMs;
  }

  #set(key: string, value: T): void {
    this.invalidate(key);
    for (const [other, entry] of this.#entries) {
      if (!this.#fresh(entry)) this.invalidate(other);
    }
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.invalidate(oldest);
    }
    this.#entries.set(key, value);
  }
}
