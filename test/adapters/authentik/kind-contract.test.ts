/**
 * writeback.authentik holds to the job-kind contract against the Authentik
 * stand-in, with an in-memory membership ledger (the store's ledger has its
 * own suite).
 */
import { runJobKindContract } from "../../contract/job-kind.contract.ts";
import { createAuthentikWritebackKind } from "../../../adapters/authentik/mod.ts";
import type { MembershipChangeView } from "../../../adapters/sync/directory-ledger.ts";
import { PermanentError } from "../../../machines/errors.ts";
import type { JobKind } from "../../../machines/job-kind.ts";
import { fakeLedger } from "../../support/standins/directory-doubles.ts";
import {
  authentikGroupPk,
  type AuthentikStandInOptions,
  generateAuthentikModel,
  startAuthentikStandIn,
} from "../../support/standins/authentik.ts";

const change = (id: number, credentialsRef: string): MembershipChangeView => ({
  id,
  provider: "authentik",
  scope: "corp",
  operation: "add",
  groupExternalId: authentikGroupPk(0),
  identityExternalId: "1", // with 3 groups, user 1 is in group 1, not group 0
  credentialsRef,
});

runJobKindContract({
  name: "writeback.authentik",
  async setup() {
    // Read by the stand-in on every answer: hold() raises it.
    const options: AuthentikStandInOptions = {};
    const authentik = await startAuthentikStandIn(generateAuthentikModel({ users: 9, groups: 3 }), options);
    const wrong = "wrong-authentik-kind-contract-token-3c3c3c";
    const credentials: Record<string, Record<string, unknown>> = {
      "authentik-corp": { url: authentik.url, token: authentik.tokens[0]! },
      "authentik-wrong": { url: authentik.url, token: wrong },
    };
    const ledger = fakeLedger([change(1, "authentik-corp"), change(2, "authentik-wrong")]);
    const kind = createAuthentikWritebackKind({
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
        { payload: { changeId: 1.5 }, field: "changeId" },
        { payload: {}, field: "changeId" },
      ],
      refused: { payload: { changeId: 2 } },
      secrets: [authentik.tokens[0]!, wrong],
      runUntilAborted: {
        hold: () => options.latencyMs = 30_000,
        started: async () => {
          while (authentik.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
        },
      },
      activity: () => authentik.requests.length,
      close: () => authentik.close(),
    };
  },
});
