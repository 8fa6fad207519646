/**
 * The Google Workspace provider (the official `@googleapis/admin` client on
 * google-auth-library's delegated JWT) against the Directory API stand-in,
 * through the real sync engine: users, groups, members (nesting) and org
 * units over `nextPageToken` pages; the token exchange with an RS256
 * assertion for the subject and the read-only scopes; the mapping; refused
 * delegation, bad credentials and errors that never show the key; throttling;
 * abort.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createGoogleWorkspaceProvider, DIRECTORY_SCOPES } from "../../../adapters/google-workspace/mod.ts";
import { googleWorkspaceManifest } from "../../../adapters/google-workspace/manifest.ts";
import { runSync } from "../../../adapters/sync/engine.ts";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import { errorText, leaks, memorySink } from "../../support/standins/directory-doubles.ts";
import {
  generateWorkspaceModel,
  GOOGLE_TOKEN_URL,
  startWorkspaceStandIn,
  workspaceGroupId,
  workspaceServiceAccount,
  type WorkspaceStandIn,
  workspaceUserId,
} from "../../support/standins/google-workspace.ts";

const USERS = 1234;
const GROUPS = 250;
const ADMIN = "admin@example.com";

describe("Google Workspace provider: reading an account", () => {
  let google: WorkspaceStandIn;
  let account: ReturnType<typeof workspaceServiceAccount>;
  const signal = new AbortController().signal;
  const target = (credentials: Record<string, unknown> = account.credentials) => ({
    scope: "example.com",
    org: null,
    credentials,
  });
  const provider = () => createGoogleWorkspaceProvider({ apiEndpoint: google.url });

  before(async () => {
    google = await startWorkspaceStandIn(generateWorkspaceModel({ users: USERS, groups: GROUPS }), {
      admins: [ADMIN],
      scopes: DIRECTORY_SCOPES,
    });
    account = workspaceServiceAccount(google.tokenUrl, ADMIN);
    google.trustKey(account.key.client_email, account.publicKey);
  });
  after(() => google.close());

  it("reads every user, group, member and org unit over nextPageToken pages, as the delegated admin", async () => {
    google.requests.length = 0;
    const memory = memorySink();
    const summary = await runSync({
      provider: provider(),
      target: target(),
      sink: memory.sink,
      runId: "r",
      signal,
    });
    assert.equal(summary.complete, true, JSON.stringify(summary.failedPages.slice(0, 3)));
    assert.equal(memory.identities.size, USERS);
    assert.equal(memory.groups.size, GROUPS);
    assert.equal(memory.organizations.size, 4, "three org units and the root");
    assert.equal(
      memory.memberships.size,
      USERS + GROUPS - 1,
      "user edges and nesting; the CUSTOMER member is left out",
    );
    const users = google.requestsOf("users");
    assert.equal(users.length, 3);
    assert.deepEqual(
      users.map((r) => [r.query.customer, r.query.maxResults, r.query.pageToken !== undefined]),
      [
        ["my_customer", "500", false],
        ["my_customer", "500", true],
        ["my_customer", "500", true],
      ],
    );
    assert.equal(google.requestsOf("groups").length, 2);
    assert.equal(google.requestsOf("members").length, GROUPS);
    assert.equal(google.requestsOf("orgunits").length, 1, "the org unit listing is read once per run");
    const tokens = google.requestsOf("token");
    assert.ok(tokens.length >= 1);
    for (const { assertion } of tokens) {
      assert.equal(assertion?.signatureValid, true);
      assert.equal(assertion?.sub, ADMIN);
      assert.equal(assertion?.aud, GOOGLE_TOKEN_URL);
      assert.deepEqual(String(assertion?.scope).split(" ").sort(), [...DIRECTORY_SCOPES].sort());
    }
    assert.ok(
      google.requests.filter((r) => r.route !== "token").every((r) =>
        /^Bearer ya29\./.test(r.authorization ?? "")
      ),
    );
  });

  it("maps users, statuses, org units and nesting as documented", async () => {
    const memory = memorySink();
    await runSync({ provider: provider(), target: target(), sink: memory.sink, runId: "r2", signal });
    assert.deepEqual(memory.identities.get(workspaceUserId(1)), {
      type: "identity",
      externalId: workspaceUserId(1),
      kind: "user",
      username: "user1@example.com",
      email: "user1@example.com",
      displayName: "Given1 Family1",
      status: "active",
      organizationExternalId: "id:03ph8a2z1eng",
      attributes: {
        orgUnitPath: "/Engineering",
        isAdmin: false,
        isDelegatedAdmin: false,
        isEnrolledIn2Sv: false,
        creationTime: "2024-03-04T05:06:07.000Z",
        lastLoginTime: "2025-10-11T12:13:14.000Z",
        customerId: "C03az79cb",
        archived: false,
      },
    });
    assert.equal(memory.identities.get(workspaceUserId(0))?.organizationExternalId, "id:03ph8a2z0root");
    assert.equal(memory.identities.get(workspaceUserId(6))?.status, "suspended");
    assert.equal(memory.identities.get(workspaceUserId(10))?.status, "deprovisioned", "archived");
    assert.deepEqual(memory.organizations.get("id:03ph8a2z2be"), {
      type: "organization",
      externalId: "id:03ph8a2z2be",
      name: "Backend",
      parentExternalId: "id:03ph8a2z1eng",
    });
    assert.equal(memory.organizations.get("id:03ph8a2z0root")?.parentExternalId, null);
    assert.equal(memory.groups.get(workspaceGroupId(3))?.name, "Group 3");
    assert.ok(memory.memberships.has(`${workspaceGroupId(1)} group:${workspaceGroupId(3)}`));
    assert.ok(memory.memberships.has(`${workspaceGroupId(3)} identity:${workspaceUserId(253)}`));
  });

  it("fails permanently, never showing the key, when the subject is unknown or delegation lacks a scope", async () => {
    const secrets = [account.key.private_key, account.key.private_key_id];
    const [users] = await provider().plan(
      target({ ...account.credentials, subject: "nobody@example.com" }),
      signal,
    );
    await assert.rejects(users!.fetchPage(undefined, signal), (error) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.code, "GOOGLE_WORKSPACE_INVALID_GRANT");
      assert.match(error.message, /Invalid email or User ID/);
      assert.deepEqual(leaks(errorText(error), secrets), []);
      return true;
    });
    const narrow = await startWorkspaceStandIn(generateWorkspaceModel({ users: 2, groups: 1 }), {
      admins: [ADMIN],
      scopes: DIRECTORY_SCOPES.slice(0, 2),
    });
    try {
      narrow.trustKey(account.key.client_email, account.publicKey);
      const [, users2] = await createGoogleWorkspaceProvider({ apiEndpoint: narrow.url }).plan(
        target({ ...account.credentials, token_uri: narrow.tokenUrl }),
        signal,
      );
      await assert.rejects(users2!.fetchPage(undefined, signal), (error) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.code, "GOOGLE_WORKSPACE_UNAUTHORIZED_CLIENT");
        assert.match(error.message, /domain-wide delegation/);
        assert.deepEqual(leaks(errorText(error), secrets), []);
        return true;
      });
    } finally {
      await narrow.close();
    }
  });

  it("refuses bad credentials permanently, naming the field and never a value", async () => {
    const { subject: _, ...noSubject } = account.credentials;
    for (
      const [credentials, field] of [
        [noSubject, "subject"],
        [{ ...account.credentials, type: "authorized_user" }, "type"],
        [{ ...account.credentials, private_key: "not a key but a secret" }, "private_key"],
        [{ ...account.credentials, password: "hunter2-secret" }, "password"],
      ] as const
    ) {
      await assert.rejects(provider().plan(target(credentials), signal), (error) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.code, "GOOGLE_WORKSPACE_BAD_CREDENTIALS");
        assert.match(error.message, new RegExp(`"${field}"`));
        assert.deepEqual(
          leaks(errorText(error), [account.key.private_key, "not a key but a secret", "hunter2-secret"]),
          [],
        );
        return true;
      });
    }
  });

  it("makes 429 and 403 rateLimitExceeded transient with Retry-After, 503 transient, a missing group permanent", async () => {
    const [, users, groups] = await provider().plan(target(), signal);
    google.fail({ route: "users", status: 429, retryAfter: "9" });
    await assert.rejects(users!.fetchPage(undefined, signal), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "GOOGLE_WORKSPACE_RATE_LIMITED");
      assert.equal(error.retryAfterMs, 9000);
      return true;
    });
    google.fail({ route: "groups", status: 403, reason: "rateLimitExceeded" });
    await assert.rejects(groups!.fetchPage(undefined, signal), (error) => {
      assert.ok(error instanceof TransientError);
      assert.equal(error.code, "GOOGLE_WORKSPACE_RATE_LIMITED");
      return true;
    });
    google.fail({ route: "users", status: 503 });
    await assert.rejects(users!.fetchPage(undefined, signal), (error) => error instanceof TransientError);
    const page = await groups!.fetchPage(undefined, signal);
    const missing = page.more![0]!;
    const removed = google.model.groups.shift()!;
    try {
      await assert.rejects(missing.fetchPage(undefined, signal), (error) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.code, "GOOGLE_WORKSPACE_NOT_FOUND");
        assert.match(error.message, /HTTP 404 NOT_FOUND \(notFound\)/);
        return true;
      });
    } finally {
      google.model.groups.unshift(removed);
    }
  });

  it("honours an aborted signal, before and during a request", async () => {
    const slow = await startWorkspaceStandIn(generateWorkspaceModel({ users: 2, groups: 1 }), {
      admins: [ADMIN],
      scopes: DIRECTORY_SCOPES,
    }, { latencyMs: 5_000 });
    try {
      slow.trustKey(account.key.client_email, account.publicKey);
      const [, users] = await createGoogleWorkspaceProvider({ apiEndpoint: slow.url }).plan(
        target({ ...account.credentials, token_uri: slow.tokenUrl }),
        signal,
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

  it("opens through the manifest with its endpoint setting", async () => {
    const declared = googleWorkspaceManifest.syncKinds?.[0];
    assert.equal(declared?.kind, "sync.google_workspace");
    const opened = await declared!.open({
      settings: { GOOGLE_WORKSPACE_API_ENDPOINT: google.url },
      ports: {},
      runtime: "test",
    });
    const [orgunits] = await opened.plan(target(), signal);
    assert.equal((await orgunits!.fetchPage(undefined, signal)).items.length, 4);
  });
});
