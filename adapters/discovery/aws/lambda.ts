/**
 * Lambda functions of one region (services), linked `in` their VPC and
 * `secured-by` their security groups when they have a VPC configuration. Pages
 * follow `Marker` with `MaxItems` (1 to 50 useful: Lambda answers at most 50).
 *
 * @module
 */
import { type FunctionConfiguration, ListFunctionsCommand } from "@aws-sdk/client-lambda";
import type { DiscoveredResource } from "../provider.ts";
import { compact, linkTo, nextOf, pageSizeFor } from "./attributes.ts";
import type { ListingSpec } from "./source.ts";

/** A function as a resource; its id is the function ARN. */
export function functionResource(f: FunctionConfiguration, region: string): DiscoveredResource {
  const vpc = f.VpcConfig?.VpcId ? f.VpcConfig : undefined;
  return {
    type: "lambda.function",
    category: "service",
    externalId: f.FunctionArn ?? f.FunctionName ?? "",
    name: f.FunctionName ?? null,
    region,
    attributes: compact({
      runtime: f.Runtime,
      handler: f.Handler,
      packageType: f.PackageType,
      architectures: f.Architectures,
      memoryMiB: f.MemorySize,
      timeoutSeconds: f.Timeout,
      codeSize: f.CodeSize,
      description: f.Description || undefined,
      lastModified: f.LastModified,
      role: f.Role,
      state: f.State,
    }),
    links: [
      ...linkTo("in", "ec2.vpc", vpc?.VpcId),
      ...(vpc?.SecurityGroupIds ?? []).flatMap((id) => linkTo("secured-by", "ec2.security-group", id)),
    ],
  };
}

/** The Lambda listing of `region`. */
export function lambdaListing(region: string, pageSize: number | undefined): ListingSpec {
  const MaxItems = pageSizeFor(pageSize, 1, 50);
  return {
    type: "lambda.function",
    operation: "Lambda ListFunctions",
    region,
    async list(access, token, signal) {
      const out = await access.clients.lambda(region).send(
        new ListFunctionsCommand({ MaxItems, ...(token ? { Marker: token } : {}) }),
        { abortSignal: signal },
      );
      return {
        items: (out.Functions ?? []).map((f) => functionResource(f, region)),
        ...nextOf(out.NextMarker),
      };
    },
  };
}
