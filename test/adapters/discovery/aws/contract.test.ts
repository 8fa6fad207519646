/** discovery.aws holds to the sync-provider contract against the AWS stand-in (through STS AssumeRole). */
import { runSyncProviderContract } from "../../../contract/sync-provider.contract.ts";
import { createAwsDiscoveryProvider } from "../../../../adapters/discovery/aws/mod.ts";
import { startAwsStandIn } from "../../../support/standins/aws/stand-in.ts";
import { ACCOUNT, seed } from "./fixtures.ts";

runSyncProviderContract({
  name: "discovery.aws",
  async setup() {
    const aws = await startAwsStandIn({ pageSize: 2 });
    seed(aws);
    const provider = createAwsDiscoveryProvider({ endpoints: aws.url, pageSize: 2 });
    const wrong = "wRongSecretKeyContract0000000000000000000";
    return {
      provider: provider as never,
      target: { scope: ACCOUNT, org: null, credentials: { ...aws.master } },
      badTarget: { scope: ACCOUNT, org: null, credentials: { ...aws.master, secretAccessKey: wrong } },
      secrets: [aws.master.secretAccessKey, wrong],
      // The seeded account's resources in its enabled regions (sync.test.ts lists the 30).
      minItems: 30,
      throttleNext: (seconds) =>
        aws.failNext("DescribeInstances", {
          code: "RequestLimitExceeded",
          status: 503,
          message: "Request limit exceeded.",
          retryAfter: seconds,
        }),
      close() {
        provider.close();
        return aws.close();
      },
    };
  },
});
