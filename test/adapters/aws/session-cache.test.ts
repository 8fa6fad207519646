import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SessionCache } from "../../../adapters/aws/session-cache.ts";

interface Session {
  name: string;
  expiration: Date;
}

const HOUR = 3600_000;

function setup(options: { maxEntries?: number } = {}) {
  let now = Date.parse("2026-01-01T00:00:00Z");
  let made = 0;
  const cache = new SessionCache<Session>({ now: () => now, ...options });
  const create = (name: string) => () => {
    made++;
    return Promise.resolve({ name: `${name}#${made}`, expiration: new Date(now + HOUR) });
  };
  return { cache, create, advance: (ms: number) => (now += ms), made: () => made };
}

describe("SessionCache", () => {
  it("SessionCache.get() creates a session once and then serves it from the cache", async () => {
    const { cache, create, made } = setup();
    const first = await cache.get("a", create("a"));
    const second = await cache.get("a", create("a"));
    assert.deepEqual([first.fromCache, second.fromCache], [false, true]);
    assert.equal(second.value, first.value);
    assert.equal(made(), 1);
  });

  it("SessionCache.get() keeps sessions apart by key", async () => {
    const { cache, create, made } = setup();
    await cache.get("a", create("a"));
    const b = await cache.get("b", create("b"));
    assert.equal(b.value.name, "b#2");
    assert.equal(made(), 2);
  });

  it("SessionCache.get() creates a new session within 5 minutes of expiry, not before", async () => {
    const { cache, create, advance, made } = setup();
    await cache.get("a", create("a"));
    advance(HOUR - 5 * 60_000 - 1);
    assert.equal((await cache.get("a", create("a"))).fromCache, true);
    advance(1);
    const renewed = await cache.get("a", create("a"));
    assert.equal(renewed.fromCache, false);
    assert.equal(made(), 2);
  });

  it("SessionCache.get() shares one creation among concurrent callers", async () => {
    const { cache, made } = setup();
    let release = (_: Session) => {};
    const slow = () => {
      return new Promise<Session>((resolve) => {
        release = resolve;
      });
    };
    const calls = [cache.get("a", slow), cache.get("a", slow), cache.get("a", slow)];
    release({ name: "only", expiration: new Date(Date.parse("2026-01-01T01:00:00Z")) });
    const got = await Promise.all(calls);
    assert.deepEqual(got.map((g) => [g.value.name, g.fromCache]), [["only", false], ["only", true], [
      "only",
      true,
    ]]);
    assert.equal(made(), 0);
  });

  it("SessionCache.get() does not cache a failed creation", async () => {
    const { cache, create } = setup();
    await assert.rejects(cache.get("a", () => Promise.reject(new Error("denied"))), /denied/);
    assert.equal(cache.size, 0);
    assert.equal((await cache.get("a", create("a"))).fromCache, false);
  });

  it("SessionCache.invalidate() forgets only the session it is given", async () => {
    const { cache, create } = setup();
    const old = await cache.get("a", create("a"));
    cache.invalidate("a", { name: "other", expiration: new Date() });
    assert.equal(cache.peek("a"), old.value);
    cache.invalidate("a", old.value);
    assert.equal(cache.peek("a"), undefined);
  });

  it("SessionCache drops the oldest session beyond maxEntries", async () => {
    const { cache, create } = setup({ maxEntries: 2 });
    await cache.get("a", create("a"));
    await cache.get("b", create("b"));
    await cache.get("c", create("c"));
    assert.equal(cache.size, 2);
    assert.equal(cache.peek("a"), undefined);
    assert.ok(cache.peek("c"));
  });
});
