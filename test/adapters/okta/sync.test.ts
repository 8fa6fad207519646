/**
 * The Okta provider against the Okta stand-in, through the real sync engine:
 * every user (deprovisioned ones from their own search), group and member over
 * `Link` pages, the status mapping, bad credentials, auth failures that never
 * show the token, typed errors, and abort.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createOktaProvider } from "../../../adapters/okta/mod.ts";
import { runSync } from "../../../adapters/sync/engine.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import { errorText, leaks, memorySink } from "../../support/standins/directory-doubles.ts";
import {
  generateOktaModel,
  oktaGroupId,
  type OktaStandIn,
  oktaUserId,
  startOktaStandIn,
} from "../../support/standins/okta.ts";

const USERS = 450;
const GROUPS = 7;

describe("Okta provider: reading an org", () => {
  let okta: OktaStandIn;
  let credentials: { orgUrl: string; token: string };
  const target = () => ({ scope: "example", org: null, credentials });

  before(async () => {
    okta = await startOktaStandIn(
      generateOktaModel({ users: USERS, groups: GROUPS, spread: 3, builtIn: true }),
    );
    credentials = { orgUrl: okta.url, token: okta.tokens[0]! };
  });
  after(() => okta.close());

  it("reads every user, group and member through Link pages", async () => {
    const provider = createOktaProvider({ pageSize: 50 });
    const memory = memorySink();
    okta.requests.length = 0;
    const summary = await runSync({
      provider,
      target: target(),
      sink: memory.sink,
      runId: "r1",
      signal: new AbortController().signal,
    });
    assert.equal(summary.complete, true, JSON.stringify(summary.failedPages));
    assert.equal(memory.identities.size, USERS, "deprovisioned users come from their own search");
    assert.equal(memory.groups.size, GROUPS + 1);
    let edges = 0;
    for (const members of okta.model.members.values()) edges += members.length;
    assert.equal(memory.memberships.size, edges);
    // Users: 9 pages of the plain listing (412 live users at 50), 1 of the deprovisioned search.
    const users = okta.requests.filter((r) => r.path === "/api/v1/users");
    assert.equal(
      users.filter((r) => r.query.search === undefined).length,
      Math.ceil((USERS - USERS / 12 + 0.5 | 0) / 50),
    );
    assert.ok(users.some((r) => r.query.after !== undefined), "later pages carry Okta's after cursor");
    assert.ok(okta.requests.every((r) => r.authorization === `SSWS ${credentials.token}`));
    // One members source per group, revealed by the groups page.
    const memberSources = new Set(
      okta.requests.filter((r) => /\/groups\/[^/]+\/users$/.test(r.path)).map((r) => r.path),
    );
    assert.equal(memberSources.size, GROUPS + 1);
    assert.deepEqual(memory.covers.map((c) => c.types.join()).sort().slice(0, 3), [
      "group,membership",
      "identity",
      "identity",
    ]);
  });

  it("maps users, statuses and groups as documented", async () => {
    const memory = memorySink();
    await runSync({
      provider: createOktaProvider(),
      target: target(),
      sink: memory.sink,
      runId: "r2",
      signal: new AbortController().signal,
    });
    assert.deepEqual(memory.identities.get(oktaUserId(0)), {
      type: "identity",
      externalId: oktaUserId(0),
      kind: "user",
      username: "user0@example.com",
      email: "user0@example.com",
      displayName: "First0 Last0",
      status: "active",
      attributes: {
        oktaStatus: "ACTIVE",
        created: "2024-01-02T03:04:05.000Z",
        lastUpdated: "2025-06-07T08:09:10.000Z",
        department: "Engineering",
      },
    });
    const statusOf = (i: number) => memory.identities.get(oktaUserId(i))?.status;
    // The generator cycles ACTIVE x5, SUSPENDED, STAGED, LOCKED_OUT, DEPROVISIONED, PROVISIONED, PASSWORD_EXPIRED, RECOVERY.
    assert.deepEqual([5, 6, 7, 8, 9, 10, 11].map(statusOf), [
      "suspended",
      "suspended",
      "suspended",
      "deprovisioned",
      "active",
      "active",
      "active",
    ]);
    assert.deepEqual(memory.groups.get(oktaGroupId(2)), {
      type: "group",
      externalId: oktaGroupId(2),
      name: "group-2",
      attributes: { type: "OKTA_GROUP", description: "Group 2" },
    });
    assert.ok(memory.memberships.has(`${oktaGroupId(1)} identity:${oktaUserId(2)}`));
    assert.ok(!memory.memberships.has(`${oktaGroupId(1)} identity:${oktaUserId(3)}`));
  });

  it("refuses bad credentials permanently, naming the field and never a value", async () => {
    const provider = createOktaProvider();
    const signal = new AbortController().signal;
    const secret = "00SECRET-token-value-1234";
    for (
      const [credentials, field] of [
        [{ orgUrl: "not a url", token: secret }, "orgUrl"],
        [{ orgUrl: "http://example.okta.com", token: secret }, "orgUrl"],
        [{ orgUrl: okta.url }, "token"],
        [{ orgUrl: okta.url, token: secret, apiKey: secret }, "apiKey"],
      ] as const
    ) {
      await assert.rejects(provider.plan({ scope: "example", org: null, credentials }, signal), (error) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.code, "OKTA_BAD_CREDENTIALS");
        assert.match(error.message, new RegExp(`"${field}"`));
        assert.deepEqual(leaks(errorText(error), [secret]), []);
        return true;
      });
    }
  });

  it("turns a wrong token into a permanent 401 that never shows the token", async () => {
    const token = "00wrong-token-aaaaaaaaaaaaaaaaaaaa";
    const [users] = await createOktaProvider().plan(
      { scope: "example", org: null, credentials: { orgUrl: okta.url, token } },
      new AbortController().signal,
    );
    await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "OKTA_UNAUTHORIZED");
      assert.match(error.message, /HTTP 401 E0000011 Invalid token provided \(request [\w-]+\)/);
      assert.deepEqual(leaks(errorText(error), [token, credentials.token]), []);
      return true;
    });
  });

  it("makes 5xx transient and 403 permanent", async () => {
    const [users] = await createOktaProvider().plan(target(), new AbortController().signal);
    okta.fail({ bucket: "GET /api/v1/users", status: 503 });
    await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "OKTA_UNAVAILABLE");
      assert.equal(error.retryAfterMs, undefined);
      return true;
    });
    okta.fail({ bucket: "GET /api/v1/users", status: 403 });
    await assert.rejects(users!.fetchPage(undefined, new AbortController().signal), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "OKTA_FORBIDDEN");
      return true;
    });
  });

  it("honours an aborted signal, before and during a request", async () => {
    const slow = await startOktaStandIn(generateOktaModel({ users: 3, groups: 1 }), { latencyMs: 5_000 });
    try {
      const [users] = await createOktaProvider().plan(
        { scope: "s", org: null, credentials: { orgUrl: slow.url, token: slow.tokens[0]! } },
        new AbortController().signal,
      );
      const reason = new Error("cancelled by test");
      await assert.rejects(
        users!.fetchPage(undefined, AbortSignal.abort(reason)),
        (error) => error === reason,
      );
      assert.equal(slow.requests.length, 0, "an aborted signal sends nothing");
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
