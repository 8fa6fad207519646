/**
 * The Okta kinds hold to the job-kind contract against the Okta stand-in:
 * writeback.okta with an in-memory membership ledger, and sync.okta (the
 * shared sync kind over the Okta provider) with an in-memory sink (the
 * store's ledger and sink have their own suites).
 */
import { runJobKindContract } from "../../contract/job-kind.contract.ts";
import { createOktaProvider, createOktaWritebackKind } from "../../../adapters/okta/mod.ts";
import { createSyncKind } from "../../../adapters/sync/kind.ts";
import { directorySyncPayloadSchema } from "../../../adapters/sync/schema.ts";
import type { MembershipChangeView } from "../../../adapters/sync/directory-ledger.ts";
import { PermanentError } from "../../../machines/errors.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import { fakeLedger, memorySink } from "../../support/standins/directory-doubles.ts";
import {
  generateOktaModel,
  oktaGroupId,
  type OktaStandInOptions,
  oktaUserId,
  startOktaStandIn,
} from "../../support/standins/okta.ts";

const change = (id: number, credentialsRef: string): MembershipChangeView => ({
  id,
  provider: "okta",
  scope: "example",
  operation: "add",
  groupExternalId: oktaGroupId(0),
  identityExternalId: oktaUserId(1),
  credentialsRef,
});

runJobKindContract({
  name: "writeback.okta",
  async setup() {
    // Read by the stand-in on every answer: hold() raises it.
    const options: OktaStandInOptions = {};
    const okta = await startOktaStandIn(generateOktaModel({ users: 10, groups: 2, spread: 2 }), options);
    const wrong = "00wrongOktaKindContractToken-4b4b";
    const credentials: Record<string, Record<string, unknown>> = {
      "okta-example": { orgUrl: okta.url, token: okta.tokens[0]! },
      "okta-wrong": { orgUrl: okta.url, token: wrong },
    };
    const ledger = fakeLedger([change(1, "okta-example"), change(2, "okta-wrong")]);
    const kind = createOktaWritebackKind({
      membershipLedger: ledger.ledger,
      resolveCredentials: (ref) =>
        credentials[ref]
          ? Promise.resolve(credentials[ref])
          : Promise.reject(new PermanentError(`No credentials "${ref}"`)),
    });
    return {
      kind: kind as unknown as JobKind,
      validPayload: { changeId: 1 },
      badPayloads: [
        { payload: { changeId: "1" }, field: "changeId" },
        { payload: { changeId: 0 }, field: "changeId" },
        { payload: {}, field: "changeId" },
      ],
      refused: { payload: { changeId: 2 } },
      secrets: [okta.tokens[0]!, wrong],
      runUntilAborted: {
        hold: () => options.latencyMs = 30_000,
        started: async () => {
          while (okta.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
        },
      },
      activity: () => okta.requests.length,
      close: () => okta.close(),
    };
  },
});

runJobKindContract({
  name: "sync.okta",
  async setup() {
    // Read by the stand-in on every answer: hold() raises it.
    const options: OktaStandInOptions = {};
    const okta = await startOktaStandIn(generateOktaModel({ users: 30, groups: 3 }), options);
    const wrong = "00wrongOktaSyncKindContract-6d6d";
    const credentials: Record<string, Record<string, unknown>> = {
      "okta-contract": { orgUrl: okta.url, token: okta.tokens[0]! },
      "okta-wrong": { orgUrl: okta.url, token: wrong },
    };
    const kind = createSyncKind({
      kind: "sync.okta",
      description: "Reads an Okta org",
      schema: directorySyncPayloadSchema,
      provider: "okta",
      openProvider: () => createOktaProvider({ pageSize: 10 }),
      sink: memorySink().sink,
      resolveCredentials: (ref) =>
        credentials[ref]
          ? Promise.resolve(credentials[ref])
          : Promise.reject(new PermanentError(`No credentials "${ref}"`)),
      sleep: () => Promise.resolve(),
    });
    return {
      kind: kind as unknown as JobKind,
      validPayload: { scope: "contract", credentials: "okta-contract" },
      badPayloads: [
        { payload: { scope: "", credentials: "okta-contract" }, field: "scope" },
        { payload: { scope: "contract", credentials: '{"token":"x"}' }, field: "credentials" },
        { payload: { scope: "contract" }, field: "credentials" },
      ],
      refused: { payload: { scope: "contract", credentials: "okta-wrong" } },
      secrets: [okta.tokens[0]!, wrong],
      runUntilAborted: {
        hold: () => options.latencyMs = 30_000,
        // The sync reads several sources at once: started once every first request has arrived (none new
        // for 200 ms), so one sent before the abort is not counted as work done after it.
        started: async () => {
          let seen = -1;
          while (okta.requests.length === 0 || okta.requests.length !== seen) {
            seen = okta.requests.length;
            await new Promise((r) => setTimeout(r, 200));
          }
        },
      },
      activity: () => okta.requests.length,
      async close() {
        await kind.close();
        await okta.close();
      },
    };
  },
});
