/**
 * The `discovery.aws` plugin's manifest. Endpoints and the default credential
 * chain are the SDK's own (`AWS_ENDPOINT_URL[_<SERVICE>]`, `AWS_ACCESS_KEY_ID`...).
 *
 * @module
 */
import { z } from "zod";
import type { PluginManifest } from "../../plugin.ts";
import { url } from "../../setting-values.ts";
import { defaultSchedules, scheduleSettings } from "../../sync/schedule-settings.ts";
import { discoveryPayloadSchema } from "../schema.ts";

const naming = { prefix: "AWS", scopeAliases: ["AWS_ACCOUNT_ID"], regions: true };
const httpUrl = url(["http:", "https:"]);

/** `discovery.aws`. */
export const awsDiscoveryManifest: PluginManifest = {
  name: "discovery/aws",
  description: "Inventories an AWS account: EC2, VPC, subnets, security groups, RDS, ElastiCache, Lambda, S3",
  settings: {
    ...scheduleSettings({ ...naming, label: "AWS account" }),
    AWS_DISCOVERY_ROLE_NAME: {
      schema: z.string().regex(/^[\w+=,.@-]{1,64}$/, "use 1-64 characters of an IAM role name, or none")
        .optional(),
      help: "Role discovery assumes in each account (none: use the credentials as they are)",
    },
    AWS_REGION: {
      schema: z.string().min(1).optional(),
      help: "Home region (STS, the list of enabled regions)",
    },
    // Read by the AWS SDK itself; here only to turn on path-style S3 for emulators.
    AWS_ENDPOINT_URL: { schema: httpUrl.optional(), help: "An endpoint for every AWS service (emulators)" },
    AWS_ENDPOINT_URL_S3: { schema: httpUrl.optional(), help: "An endpoint for S3 (emulators; path-style)" },
  },
  syncKinds: [{
    kind: "discovery.aws",
    description:
      "Inventories one aws scope into the resources table; unseen resources are marked deleted only after a fully successful sync",
    provider: "aws",
    sink: "inventory",
    schema: discoveryPayloadSchema,
    async open({ settings, runtime }) {
      const { createAwsDiscoveryProvider } = await import("./mod.ts");
      const roleName = settings.AWS_DISCOVERY_ROLE_NAME as string | undefined;
      const homeRegion = settings.AWS_REGION as string | undefined;
      return createAwsDiscoveryProvider({
        ...(roleName === "none" ? { assumeRole: false } : roleName ? { roleName } : {}),
        ...(homeRegion ? { homeRegion } : {}),
        s3ForcePathStyle: Boolean(settings.AWS_ENDPOINT_URL || settings.AWS_ENDPOINT_URL_S3),
        // Deno 2.9.5 re-sends an aborted request on a reused connection (adapters/aws-iam/README.md).
        keepAlive: runtime.startsWith("node"),
      });
    },
  }],
  schedules: (values) => defaultSchedules({ ...naming, provider: "aws", kind: "discovery.aws" }, values),
};
