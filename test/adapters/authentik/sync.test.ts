/**
 * The Authentik provider (through the official `@goauthentik/api` client)
 * against the Authentik stand-in, through the real sync engine: users and
 * groups over numbered pages, service accounts, inactive users, members and
 * nesting (`parents`, and an older version's `parent`), bad credentials, a
 * wrong token that never shows, typed errors, and abort.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAuthentikProvider } from "../../../adapters/authentik/mod.ts";
import { runSync } from "../../../adapters/sync/engine.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import {
  authentikGroupPk,
  type AuthentikStandIn,
  generateAuthentikModel,
  startAuthentikStandIn,
} from "../../support/standins/authentik.ts";
import { errorText, leaks, memorySink } from "../../support/standins/directory-doubles.ts";

const USERS = 230;
const GROUPS = 15;

describe("Authentik provider: reading an instance", () => {
  let authentik: AuthentikStandIn;
  let credentials: { url: string; token: string };
  const target = () => ({ scope: "corp", org: null, credentials });
  const sync = async (provider = createAuthentikProvider()) => {
    const memory = memorySink();
    const summary = await runSync({
      provider,
      target: target(),
      sink: memory.sink,
      runId: "r",
      signal: new AbortController().signal,
    });
    return { memory, summary };
  };

  before(async () => {
    authentik = await startAuthentikStandIn(
      generateAuthentikModel({ users: USERS, groups: GROUPS, cycle: true }),
    );
    credentials = { url: authentik.url, token: authentik.tokens[0]! };
  });
  after(() => authentik.close());

  it("reads every user and group over numbered pages, with members and parents", async () => {
    authentik.requests.length = 0;
    const { memory, summary } = await sync(createAuthentikProvider({ pageSize: 50 }));
    assert.equal(summary.complete, true, JSON.stringify(summary.failedPages));
    assert.equal(memory.identities.size, USERS);
    assert.equal(memory.groups.size, GROUPS);
    const users = authentik.requests.filter((r) => r.path === "/api/v3/core/users/");
    assert.deepEqual(users.map((r) => r.query.page), ["1", "2", "3", "4", "5"]);
    assert.ok(
      users.every((r) => r.query.page_size === "50" && r.authorization === `Bearer ${credentials.token}`),
    );
    // Member edges: every user in one group; nesting edges: a binary tree plus the cycle 0 -> 14.
    assert.equal(memory.memberships.size, USERS + GROUPS);
    assert.ok(memory.memberships.has(`${authentikGroupPk(0)} group:${authentikGroupPk(1)}`));
    assert.ok(memory.memberships.has(`${authentikGroupPk(GROUPS - 1)} group:${authentikGroupPk(0)}`));
    assert.ok(memory.memberships.has(`${authentikGroupPk(7)} identity:7`));
    assert.deepEqual(memory.covers.map((c) => c.types.join()).sort(), ["group,membership", "identity"]);
  });

  it("maps users, service accounts and groups as documented", async () => {
    const { memory } = await sync();
    const user = memory.identities.get("2");
    assert.deepEqual({ ...user, attributes: { ...user?.attributes, uuid: "-" } }, {
      type: "identity",
      externalId: "2",
      kind: "user",
      username: "user2",
      email: "user2@example.com",
      displayName: "User 2",
      status: "active",
      attributes: {
        uuid: "-",
        type: "internal",
        path: "users",
        is_superuser: false,
        last_login: "2025-11-01T10:00:00.000000Z",
      },
    });
    assert.equal(memory.identities.get("10")?.status, "suspended", "is_active false");
    assert.equal(memory.identities.get("25")?.kind, "service_account");
    assert.ok(
      !JSON.stringify([...memory.identities.values()]).includes("do-not-copy"),
      "custom attributes are not copied",
    );
    const group = memory.groups.get(authentikGroupPk(3));
    assert.equal(group?.name, "group-3");
    assert.deepEqual(group?.parentExternalIds, [authentikGroupPk(1)]);
    assert.deepEqual(group?.members?.slice(0, 2), [
      { memberType: "identity", externalId: "3" },
      { memberType: "identity", externalId: "18" },
    ]);
  });

  it("reads nesting from an older version's single parent", async () => {
    const legacy = await startAuthentikStandIn(generateAuthentikModel({ users: 5, groups: 4 }), {
      tokens: [credentials.token],
      legacyParent: true,
    });
    try {
      const memory = memorySink();
      await runSync({
        provider: createAuthentikProvider(),
        target: { scope: "old", org: null, credentials: { url: legacy.url, token: credentials.token } },
        sink: memory.sink,
        runId: "legacy",
        signal: new AbortController().signal,
      });
      assert.deepEqual(memory.groups.get(authentikGroupPk(3))?.parentExternalIds, [authentikGroupPk(1)]);
      assert.deepEqual(memory.groups.get(authentikGroupPk(0))?.parentExternalIds, []);
    } finally {
      await legacy.close();
    }
  });

  it("reads a listing again from its first page when it changed between pages (numbered pages shift)", async () => {
    const provider = createAuthentikProvider({ pageSize: 50 });
    const saved = [...authentik.model.users];
    try {
      const wrapped = {
        ...provider,
        async plan(t: Parameters<typeof provider.plan>[0], s: AbortSignal) {
          const sources = await provider.plan(t, s);
          const users = sources[0]!;
          let calls = 0;
          // The user is deleted from Authentik right after the first page was read.
          sources[0] = {
            ...users,
            fetchPage: async (token, signal) => {
              const page = await users.fetchPage(token, signal);
              if (++calls === 1) authentik.model.users.splice(0, 1);
              return page;
            },
          };
          return sources;
        },
      };
      const memory = memorySink();
      const summary = await runSync({
        provider: wrapped,
        target: target(),
        sink: memory.sink,
        runId: "shift",
        signal: new AbortController().signal,
      });
      assert.equal(summary.complete, true);
      const missing = authentik.model.users.filter((u) => !memory.identities.has(String(u.pk)));
      assert.deepEqual(missing, [], "no user was skipped by the shift");
      const [users] = await provider.plan(target(), new AbortController().signal);
      const first = await users!.fetchPage(undefined, new AbortController().signal);
      authentik.model.users.splice(0, 1);
      await assert.rejects(users!.fetchPage(first.next, new AbortController().signal), (error) => {
        assert.ok(error instanceof TransientError);
        assert.equal(error.code, "PAGE_TOKEN_EXPIRED");
        return true;
      });
    } finally {
      authentik.model.users.splice(0, Infinity, ...saved);
    }
  });

  it("refuses bad credentials permanently, naming the field and never a value", async () => {
    const secret = "ak-SECRET-token-value-12345";
    for (
      const [credentials, field] of [
        [{ url: "ftp://authentik", token: secret }, "url"],
        [{ url: authentik.url }, "token"],
        [{ url: authentik.url, token: secret, password: secret }, "password"],
      ] as const
    ) {
      await assert.rejects(
        createAuthentikProvider().plan(
          { scope: "corp", org: null, credentials },
          new AbortController().signal,
        ),
        (error) => {
          assert.ok(error instanceof PermanentError);
          assert.equal(error.code, "AUTHENTIK_BAD_CREDENTIALS");
          assert.match(error.message, new RegExp(`"${field}"`));
          assert.deepEqual(leaks(errorText(error), [secret]), []);
          return true;
        },
      );
    }
  });

  it("turns a wrong token into a permanent 401 that never shows the token", async () => {
    const token = "wrong-token-cccccccccccccccccccccccccc";
    const [users] = await createAuthentikProvider().plan(
      { scope: "corp", org: null, credentials: { url: authentik.url, token } },
      new AbortController().signal,
    );
    await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "AUTHENTIK_UNAUTHORIZED");
      assert.match(error.message, /HTTP 401 Token invalid\/expired \(request [0-9a-f]{32}\)/);
      assert.deepEqual(leaks(errorText(error), [token, credentials.token]), []);
      return true;
    });
  });

  it("makes 429 transient with Retry-After, 5xx transient, 403 permanent", async () => {
    const [users] = await createAuthentikProvider().plan(target(), new AbortController().signal);
    const signal = new AbortController().signal;
    authentik.fail({ path: /\/core\/users\/$/, status: 429, retryAfter: "7" });
    await assert.rejects(users!.fetchPage(undefined, signal), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "AUTHENTIK_RATE_LIMITED");
      assert.equal(error.retryAfterMs, 7000);
      return true;
    });
    authentik.fail({ path: /\/core\/users\/$/, status: 502 });
    await assert.rejects(users!.fetchPage("2", signal), (error) => error instanceof TransientError);
    authentik.fail({ path: /\/core\/users\/$/, status: 403 });
    await assert.rejects(users!.fetchPage("2", signal), (error) => error instanceof PermanentError);
    assert.equal(
      (await users!.fetchPage("2", signal)).items.length,
      100,
      "the same page again, from its token",
    );
  });

  it("honours an aborted signal, before and during a request", async () => {
    const slow = await startAuthentikStandIn(generateAuthentikModel({ users: 3, groups: 1 }), {
      tokens: [credentials.token],
      latencyMs: 5_000,
    });
    try {
      const [users] = await createAuthentikProvider().plan(
        { scope: "s", org: null, credentials: { url: slow.url, token: credentials.token } },
        new AbortController().signal,
      );
      const reason = new Error("cancelled by test");
      await assert.rejects(
        users!.fetchPage(undefined, AbortSignal.abort(reason)),
        (error) => error === reason,
      );
      assert.equal(slow.requests.length, 0);
      const controller = new AbortController();
      const pending = users!.fetchPage(undefined, controller.signal);
      while (slow.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(reason);
      await assert.rejects(pending, (error) => error === reason);
    } finally {
      await slow.close();
    }
  });
});
