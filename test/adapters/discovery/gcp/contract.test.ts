/** discovery.gcp holds to the sync-provider contract against the GCP REST stand-in. */
import { generateKeyPairSync } from "node:crypto";
import { runSyncProviderContract } from "../../../contract/sync-provider.contract.ts";
import { createGcpDiscoveryProvider } from "../../../../adapters/discovery/gcp/mod.ts";
import { PROJECT, sampleModel, serviceAccount } from "./fixture.ts";
import { startGcpStandIn } from "./stand-in.ts";

/** A line from the middle of a PEM private key: key material the errors must never carry. */
const keyLine = (pem: string) => pem.split("\n")[5]!;

runSyncProviderContract({
  name: "discovery.gcp",
  async setup() {
    const gcp = await startGcpStandIn(sampleModel());
    const account = serviceAccount(gcp.tokenUrl);
    gcp.trustKey(account.key.client_email, account.publicKey);
    // The same service account with a key the stand-in does not trust.
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const wrong = { ...account.key, private_key: privateKey };
    const provider = createGcpDiscoveryProvider({ apiEndpoint: gcp.url, pageSize: 2 });
    return {
      provider: provider as never,
      target: { scope: PROJECT, org: null, credentials: account.key },
      badTarget: { scope: PROJECT, org: null, credentials: wrong },
      secrets: [keyLine(account.key.private_key), keyLine(privateKey), account.key.private_key_id],
      // 7 instances, 3 networks, 5 subnetworks, 5 buckets, 3 clusters.
      minItems: 23,
      throttleNext: (seconds) =>
        gcp.fail({ route: "instances.aggregated", status: 429, retryAfter: String(seconds) }),
      async close() {
        await provider.close?.();
        await gcp.close();
      },
    };
  },
});
