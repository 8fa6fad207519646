/**
 * `writeback.okta` against the Okta stand-in, with a fake membership ledger
 * (the ledger's SQL is the store's; the API round trip is an end-to-end test):
 * add, add again (changed false, no write), remove, a missing group, a 429, a
 * read-only token, a missing change, and loading through the manifest.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { oktaManifest } from "../../../adapters/okta/manifest.ts";
import { createOktaWritebackKind } from "../../../adapters/okta/mod.ts";
import type { MembershipChangeView } from "../../../adapters/sync/directory-ledger.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import { errorText, fakeClock, fakeLedger, leaks } from "../../support/standins/directory-doubles.ts";
import {
  generateOktaModel,
  oktaGroupId,
  type OktaStandIn,
  oktaUserId,
  startOktaStandIn,
} from "../../support/standins/okta.ts";

const GROUP = oktaGroupId(0);
const USER = oktaUserId(1); // with spread 2, user 1 is in group 1, not group 0

function change(
  id: number,
  operation: "add" | "remove",
  over: Partial<MembershipChangeView> = {},
): MembershipChangeView {
  return {
    id,
    provider: "okta",
    scope: "example",
    operation,
    groupExternalId: GROUP,
    identityExternalId: USER,
    credentialsRef: "okta-example",
    ...over,
  };
}

describe("writeback.okta", () => {
  let okta: OktaStandIn;
  let credentials: Record<string, Record<string, unknown>>;
  const resolved: string[] = [];

  before(async () => {
    okta = await startOktaStandIn(generateOktaModel({ users: 10, groups: 2, spread: 2, builtIn: true }), {
      tokens: ["00write-token-aaaaaaaaaaaaaaaaaa", "00read-token-bbbbbbbbbbbbbbbbbbbb"],
      readOnlyTokens: ["00read-token-bbbbbbbbbbbbbbbbbbbb"],
    });
    credentials = {
      "okta-example": { orgUrl: okta.url, token: okta.tokens[0]! },
      "okta-readonly": { orgUrl: okta.url, token: okta.tokens[1]! },
    };
  });
  after(() => okta.close());
  beforeEach(() => {
    okta.requests.length = 0;
    resolved.length = 0;
  });

  function kindWith(changes: MembershipChangeView[], clock = fakeClock()) {
    const ledger = fakeLedger(changes);
    const kind = createOktaWritebackKind({
      membershipLedger: ledger.ledger,
      resolveCredentials: (ref) => {
        resolved.push(ref);
        const found = credentials[ref];
        return found ? Promise.resolve(found) : Promise.reject(new PermanentError(`No credentials "${ref}"`));
      },
    }, { clock });
    return { kind, ledger, clock };
  }

  const run = (kind: JobKind, changeId: number, signal = new AbortController().signal) =>
    kind.run({
      id: `j-${changeId}`,
      kind: "writeback.okta",
      attempt: 1,
      maxAttempts: 10,
      payload: kind.schema.parse({ changeId }),
      org: null,
      signal,
    });

  it("adds a member, then adding again changes nothing and writes nothing, then removes", async () => {
    const { kind, ledger } = kindWith([change(1, "add"), change(2, "add"), change(3, "remove")]);
    assert.ok(!okta.membersOf(GROUP).includes(USER));

    const added = await run(kind, 1);
    assert.ok(okta.membersOf(GROUP).includes(USER), "the stand-in has the member");
    const put = okta.requests.find((r) => r.method === "PUT");
    assert.equal(put?.path, `/api/v1/groups/${GROUP}/users/${USER}`);
    assert.deepEqual(added?.result, { changed: true, operation: "add", group: GROUP, identity: USER });
    assert.equal(added?.refs?.length, 1);
    assert.equal(added?.refs?.[0]?.system, "okta");
    assert.deepEqual(ledger.applied, [{ changeId: 1, requestId: added?.refs?.[0]?.ref }]);
    assert.deepEqual(resolved, ["okta-example"]);

    okta.requests.length = 0;
    const again = await run(kind, 2);
    assert.deepEqual(again?.result, { changed: false, operation: "add", group: GROUP, identity: USER });
    assert.deepEqual(okta.requests.map((r) => r.method), ["GET"], "one read, no write");
    assert.equal(ledger.applied.length, 2, "an unchanged membership is still confirmed");

    const removed = await run(kind, 3);
    assert.deepEqual(removed?.result, { changed: true, operation: "remove", group: GROUP, identity: USER });
    assert.ok(!okta.membersOf(GROUP).includes(USER));
    assert.ok(okta.requests.some((r) => r.method === "DELETE"));
  });

  it("fails permanently on a group Okta does not have, without confirming", async () => {
    const { kind, ledger } = kindWith([change(4, "add", { groupExternalId: "00gmissing0000000000" })]);
    await assert.rejects(run(kind, 4), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "OKTA_NOT_FOUND");
      assert.match(error.message, /HTTP 404 E0000007/);
      return true;
    });
    assert.deepEqual(ledger.applied, []);
  });

  it("turns a 429 into a TransientError with retryAfterMs, without confirming", async () => {
    const { kind, ledger } = kindWith([change(5, "add")]);
    okta.fail({ bucket: "PUT|DELETE /api/v1/groups/{id}/users/{id}", status: 429, resetInSeconds: 20 });
    await assert.rejects(run(kind, 5), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "OKTA_RATE_LIMITED");
      assert.ok(
        error.retryAfterMs !== undefined && error.retryAfterMs >= 19_000 && error.retryAfterMs <= 21_000,
      );
      return true;
    });
    assert.deepEqual(ledger.applied, []);
    assert.ok(!okta.membersOf(GROUP).includes(USER));
  });

  it("fails permanently when the token may not write, or on a BUILT_IN group, never showing the token", async () => {
    const { kind } = kindWith([
      change(6, "add", { credentialsRef: "okta-readonly" }),
      change(7, "add", { groupExternalId: "00g_everyone_000000", operation: "remove" }),
    ]);
    await assert.rejects(run(kind, 6), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "OKTA_FORBIDDEN");
      assert.deepEqual(leaks(errorText(error), okta.tokens), []);
      return true;
    });
    await assert.rejects(
      run(kind, 7),
      (error) => error instanceof PermanentError && error.code === "OKTA_FORBIDDEN",
    );
  });

  it("fails permanently on a change that does not exist or is not Okta's, and refuses a bad payload", async () => {
    const { kind } = kindWith([
      change(8, "add", { provider: "authentik" }),
      change(9, "add", { credentialsRef: null }),
    ]);
    await assert.rejects(
      run(kind, 404),
      (error) => error instanceof PermanentError && error.code === "NOT_FOUND",
    );
    await assert.rejects(
      run(kind, 8),
      (error) => error instanceof PermanentError && /authentik/.test(error.message),
    );
    await assert.rejects(
      run(kind, 9),
      (error) => error instanceof PermanentError && error.code === "WRITEBACK_NO_CREDENTIALS",
    );
    assert.equal(kind.schema.safeParse({ changeId: 1, group: "x" }).success, false);
    assert.equal(kind.schema.safeParse({ changeId: "1" }).success, false);
    assert.equal(okta.requests.length, 0);
  });

  it("loads through the manifest with the ledger and credentials ports", async () => {
    const ledger = fakeLedger([change(10, "add")]);
    const declared = oktaManifest.kinds?.find((k) => k.kind === "writeback.okta");
    assert.ok(declared);
    const kind = await declared.load({
      settings: {},
      runtime: "test",
      ports: {
        membershipLedger: ledger.ledger,
        resolveCredentials: (ref: string) => Promise.resolve(credentials[ref]!),
      },
    });
    const outcome = await run(kind, 10);
    assert.equal((outcome?.result as { changed: boolean }).changed, true);
    assert.equal(ledger.applied.length, 1);
    const missing = await declared.load({ settings: {}, ports: {}, runtime: "test" });
    await assert.rejects(
      run(missing, 10),
      (error) => error instanceof PermanentError && error.code === "CONFIG",
    );
  });
});
