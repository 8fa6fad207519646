/**
 * `writeback.authentik` against the Authentik stand-in, with a fake
 * membership ledger: add (the stand-in has the member, `changed` true, the
 * `X-authentik-id` in refs, the ledger told), add again (one read, no write,
 * `changed` false), remove, a missing group, a 429, a read-only token, and
 * loading through the manifest.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { authentikManifest } from "../../../adapters/authentik/manifest.ts";
import { createAuthentikWritebackKind } from "../../../adapters/authentik/mod.ts";
import type { MembershipChangeView } from "../../../adapters/sync/directory-ledger.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import {
  authentikGroupPk,
  type AuthentikStandIn,
  generateAuthentikModel,
  startAuthentikStandIn,
} from "../../support/standins/authentik.ts";
import { errorText, fakeLedger, leaks } from "../../support/standins/directory-doubles.ts";

const GROUP = authentikGroupPk(0);
const USER = "1"; // with 3 groups, user 1 is in group 1

function change(
  id: number,
  operation: "add" | "remove",
  over: Partial<MembershipChangeView> = {},
): MembershipChangeView {
  return {
    id,
    provider: "authentik",
    scope: "corp",
    operation,
    groupExternalId: GROUP,
    identityExternalId: USER,
    credentialsRef: "authentik-corp",
    ...over,
  };
}

describe("writeback.authentik", () => {
  let authentik: AuthentikStandIn;
  let credentials: Record<string, Record<string, unknown>>;

  before(async () => {
    authentik = await startAuthentikStandIn(generateAuthentikModel({ users: 9, groups: 3 }), {
      tokens: ["write-token-dddddddddddddddddddddddd", "read-token-eeeeeeeeeeeeeeeeeeeeeeeee"],
      readOnlyTokens: ["read-token-eeeeeeeeeeeeeeeeeeeeeeeee"],
    });
    credentials = {
      "authentik-corp": { url: authentik.url, token: authentik.tokens[0]! },
      "authentik-readonly": { url: authentik.url, token: authentik.tokens[1]! },
    };
  });
  after(() => authentik.close());
  beforeEach(() => {
    authentik.requests.length = 0;
  });

  function kindWith(changes: MembershipChangeView[]) {
    const ledger = fakeLedger(changes);
    const kind = createAuthentikWritebackKind({
      membershipLedger: ledger.ledger,
      resolveCredentials: (ref) => Promise.resolve(credentials[ref] ?? {}),
    });
    return { kind, ledger };
  }

  const run = (kind: JobKind, changeId: number) =>
    kind.run({
      id: `j-${changeId}`,
      kind: "writeback.authentik",
      attempt: 1,
      maxAttempts: 10,
      payload: kind.schema.parse({ changeId }),
      org: null,
      signal: new AbortController().signal,
    });

  it("adds a member, then adding again changes nothing and writes nothing, then removes", async () => {
    const { kind, ledger } = kindWith([change(1, "add"), change(2, "add"), change(3, "remove")]);
    assert.ok(!authentik.membersOf(GROUP).includes(1));

    const added = await run(kind, 1);
    assert.ok(authentik.membersOf(GROUP).includes(1), "the stand-in has the member");
    const post = authentik.requests.find((r) => r.method === "POST");
    assert.equal(post?.path, `/api/v3/core/groups/${GROUP}/add_user/`);
    assert.deepEqual(post?.body, { pk: 1 });
    assert.deepEqual(added?.result, { changed: true, operation: "add", group: GROUP, identity: USER });
    assert.match(added?.refs?.[0]?.ref ?? "", /^[0-9a-f]{32}$/);
    assert.equal(added?.refs?.[0]?.system, "authentik");
    assert.deepEqual(ledger.applied, [{ changeId: 1, requestId: added?.refs?.[0]?.ref }]);

    authentik.requests.length = 0;
    const again = await run(kind, 2);
    assert.deepEqual(again?.result, { changed: false, operation: "add", group: GROUP, identity: USER });
    assert.deepEqual(authentik.requests.map((r) => r.method), ["GET"], "one read, no write");
    assert.equal(ledger.applied.length, 2);

    const removed = await run(kind, 3);
    assert.deepEqual(removed?.result, { changed: true, operation: "remove", group: GROUP, identity: USER });
    assert.ok(!authentik.membersOf(GROUP).includes(1));
    assert.equal(authentik.requests.at(-1)?.path, `/api/v3/core/groups/${GROUP}/remove_user/`);
  });

  it("fails permanently on a group Authentik does not have, without confirming", async () => {
    const { kind, ledger } = kindWith([
      change(4, "add", { groupExternalId: "00000000-0000-4000-8000-999999999999" }),
    ]);
    await assert.rejects(run(kind, 4), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "AUTHENTIK_NOT_FOUND");
      return true;
    });
    assert.deepEqual(ledger.applied, []);
  });

  it("turns a 429 into a TransientError with retryAfterMs, without confirming", async () => {
    const { kind, ledger } = kindWith([change(5, "add")]);
    authentik.fail({ path: /\/add_user\/$/, status: 429, retryAfter: "12" });
    await assert.rejects(run(kind, 5), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "AUTHENTIK_RATE_LIMITED");
      assert.equal(error.retryAfterMs, 12_000);
      return true;
    });
    assert.deepEqual(ledger.applied, []);
    assert.ok(!authentik.membersOf(GROUP).includes(1));
  });

  it("fails permanently when the token may not write, never showing it; refuses a non-numeric identity", async () => {
    const { kind } = kindWith([
      change(6, "add", { credentialsRef: "authentik-readonly" }),
      change(7, "add", { identityExternalId: "abc" }),
    ]);
    await assert.rejects(run(kind, 6), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "AUTHENTIK_FORBIDDEN");
      assert.deepEqual(leaks(errorText(error), authentik.tokens), []);
      return true;
    });
    await assert.rejects(
      run(kind, 7),
      (error) => error instanceof PermanentError && error.code === "AUTHENTIK_BAD_IDENTITY",
    );
  });

  it("loads through the manifest with the ledger and credentials ports; a change of another provider is refused", async () => {
    const ledger = fakeLedger([change(8, "add"), change(9, "add", { provider: "okta" })]);
    const declared = authentikManifest.kinds?.find((k) => k.kind === "writeback.authentik");
    assert.ok(declared);
    const kind = await declared.load({
      settings: {},
      runtime: "test",
      ports: {
        membershipLedger: ledger.ledger,
        resolveCredentials: (ref: string) => Promise.resolve(credentials[ref]!),
      },
    });
    assert.equal(((await run(kind, 8))?.result as { changed: boolean }).changed, true);
    await assert.rejects(
      run(kind, 9),
      (error) => error instanceof PermanentError && error.code === "WRITEBACK_WRONG_PROVIDER",
    );
    assert.equal(kind.schema.safeParse({ changeId: 8, extra: true }).success, false);
  });
});
