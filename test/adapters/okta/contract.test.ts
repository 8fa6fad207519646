/** sync.okta holds to the sync-provider contract against the Okta stand-in. */
import { runSyncProviderContract } from "../../contract/sync-provider.contract.ts";
import { createOktaProvider } from "../../../adapters/okta/mod.ts";
import { generateOktaModel, startOktaStandIn } from "../../support/standins/okta.ts";
import { fakeClock } from "../../support/standins/directory-doubles.ts";

runSyncProviderContract({
  name: "sync.okta",
  async setup() {
    const model = generateOktaModel({ users: 450, groups: 3 });
    // The stand-in and the provider share a clock whose sleeps advance at once.
    const clock = fakeClock();
    const okta = await startOktaStandIn(model, { now: clock.now });
    const wrong = "00wrongOktaContractToken-9a9a";
    return {
      provider: createOktaProvider({ clock }) as never,
      target: { scope: "contract", org: null, credentials: { orgUrl: okta.url, token: okta.tokens[0] } },
      badTarget: { scope: "contract", org: null, credentials: { orgUrl: okta.url, token: wrong } },
      secrets: [okta.tokens[0]!, wrong],
      minItems: model.users.length + model.groups.length,
      throttleNext: (seconds) =>
        okta.fail({ bucket: "GET /api/v1/users", status: 429, resetInSeconds: seconds }),
      close: () => okta.close(),
    };
  },
});
