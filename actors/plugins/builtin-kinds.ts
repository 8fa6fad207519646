/**
 * The kinds a process knows, built from the plugins' manifests: every kind's
 * descriptor is known at start; its implementation (and SDK) loads on its
 * first job.
 *
 * @module
 */
import type { AgentLink } from "../../adapters/exec-job/mod.ts";
import { createExecKind } from "../../adapters/exec-job/mod.ts";
import type { SqlInventory } from "../../adapters/postgres/sql-inventory.ts";
import { noopKind } from "../../adapters/noop/mod.ts";
import { AWS_IAM_POLICY_KIND, awsIamPolicySchema } from "../../adapters/aws-iam/schema.ts";
import type { JobKind } from "../../machines/job-kind.ts";
import type { Config } from "../process/config.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { runtimeName } from "../process/runtime.ts";
import { createDiscoveryKinds } from "./discovery-kinds.ts";
import { DISCOVERY_PROVIDERS } from "./discovery-providers.ts";
import { lazyKind } from "./lazy-kind.ts";

/** What the discovery kinds need besides the configuration. */
export interface DiscoveryWiring {
  inventory: SqlInventory;
  metrics?: Metrics;
  env?: Record<string, string | undefined>;
}

/** The kinds every Troupe process knows; with a configuration, also the ones that need it. */
export function builtinKinds(
  config?: Config,
  logger?: Logger,
  agentLink?: AgentLink,
  discovery?: DiscoveryWiring,
): JobKind[] {
  const kinds: JobKind[] = [noopKind as unknown as JobKind];
  if (agentLink) kinds.push(createExecKind({ link: agentLink }) as unknown as JobKind);
  if (config) {
    // Credentials and AWS_ENDPOINT_URL[_STS|_IAM] are the SDK's own: it reads them itself.
    // The AWS SDK loads with the kind's first job, not at start.
    kinds.push(lazyKind({ ...AWS_IAM_POLICY_KIND, schema: awsIamPolicySchema }, async () => {
      const { createAwsIamPolicyKind } = await import("../../adapters/aws-iam/mod.ts");
      return createAwsIamPolicyKind({
        handlerRoleName: config.aws.handlerRoleName,
        ...(config.aws.region ? { region: config.aws.region } : {}),
        // Deno 2.9.5 re-sends an aborted request on a reused connection (adapters/aws-iam/README.md).
        keepAlive: runtimeName.startsWith("node"),
        ...(logger ? { logger: logger.child({ kind: "aws.iam.policy" }) } : {}),
      });
    }) as unknown as JobKind);
    if (discovery) {
      kinds.push(...createDiscoveryKinds({
        config,
        inventory: discovery.inventory,
        factories: DISCOVERY_PROVIDERS,
        ...(discovery.metrics ? { metrics: discovery.metrics } : {}),
        ...(logger ? { logger } : {}),
        ...(discovery.env ? { env: discovery.env } : {}),
      }));
    }
  }
  return kinds;
}
