/** sync.google_workspace holds to the sync-provider contract against the Directory API stand-in. */
import { runSyncProviderContract } from "../../contract/sync-provider.contract.ts";
import { createGoogleWorkspaceProvider, DIRECTORY_SCOPES } from "../../../adapters/google-workspace/mod.ts";
import {
  generateWorkspaceModel,
  startWorkspaceStandIn,
  workspaceServiceAccount,
} from "../../support/standins/google-workspace.ts";

const ADMIN = "admin@example.com";
/** A line from the middle of a PEM private key: key material the errors must never carry. */
const keyLine = (pem: string) => pem.split("\n")[5]!;

runSyncProviderContract({
  name: "sync.google_workspace",
  async setup() {
    const model = generateWorkspaceModel({ users: 600, groups: 5 });
    const google = await startWorkspaceStandIn(model, { admins: [ADMIN], scopes: DIRECTORY_SCOPES });
    const account = workspaceServiceAccount(google.tokenUrl, ADMIN);
    google.trustKey(account.key.client_email, account.publicKey);
    // The same account with a key the stand-in does not trust.
    const untrusted = workspaceServiceAccount(google.tokenUrl, ADMIN);
    return {
      provider: createGoogleWorkspaceProvider({ apiEndpoint: google.url }) as never,
      target: { scope: "example.com", org: null, credentials: account.credentials },
      badTarget: { scope: "example.com", org: null, credentials: untrusted.credentials },
      secrets: [
        keyLine(account.key.private_key),
        keyLine(untrusted.key.private_key),
        account.key.private_key_id,
        untrusted.key.private_key_id,
      ],
      minItems: model.users.length + model.groups.length,
      throttleNext: (seconds) => google.fail({ route: "users", status: 429, retryAfter: String(seconds) }),
      close: () => google.close(),
    };
  },
});
