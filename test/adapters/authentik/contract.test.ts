/** sync.authentik holds to the sync-provider contract against the Authentik stand-in. */
import { runSyncProviderContract } from "../../contract/sync-provider.contract.ts";
import { createAuthentikProvider } from "../../../adapters/authentik/mod.ts";
import { generateAuthentikModel, startAuthentikStandIn } from "../../support/standins/authentik.ts";

runSyncProviderContract({
  name: "sync.authentik",
  async setup() {
    const model = generateAuthentikModel({ users: 120, groups: 6 });
    const authentik = await startAuthentikStandIn(model);
    const wrong = "wrong-authentik-contract-token-7f7f7f7f7f";
    return {
      provider: createAuthentikProvider({ pageSize: 50 }) as never,
      target: {
        scope: "contract",
        org: null,
        credentials: { url: authentik.url, token: authentik.tokens[0] },
      },
      badTarget: { scope: "contract", org: null, credentials: { url: authentik.url, token: wrong } },
      secrets: [authentik.tokens[0]!, wrong],
      minItems: 120 + 6,
      throttleNext: (seconds) =>
        authentik.fail({ path: /\/core\/users\/$/, status: 429, retryAfter: String(seconds) }),
      close: () => authentik.close(),
    };
  },
});
