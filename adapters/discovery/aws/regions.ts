/**
 * The regions to inventory: EC2 DescribeRegions with `AllRegions` (so opt-in
 * regions show with their status), minus those not opted in, narrowed to the
 * target's regions when it names some.
 *
 * @module
 */
import { DescribeRegionsCommand } from "@aws-sdk/client-ec2";
import { PermanentError } from "../../../machines/errors.ts";
import type { AccountAccess } from "./access.ts";

/** The regions enabled for the account, sorted. */
export async function enabledRegions(
  access: AccountAccess,
  homeRegion: string,
  signal: AbortSignal,
): Promise<string[]> {
  const out = await access.clients.ec2(homeRegion).send(new DescribeRegionsCommand({ AllRegions: true }), {
    abortSignal: signal,
  });
  return (out.Regions ?? [])
    .filter((r) => r.OptInStatus !== "not-opted-in")
    .map((r) => r.RegionName)
    .filter((name): name is string => typeof name === "string" && name !== "")
    .sort();
}

/** The enabled regions, or the requested ones (each must be enabled; an empty list is all). */
export function selectRegions(
  enabled: readonly string[],
  requested: readonly string[] | undefined,
  scope: string,
): string[] {
  if (!requested || requested.length === 0) return [...enabled];
  const missing = requested.filter((r) => !enabled.includes(r));
  if (missing.length > 0) {
    throw new PermanentError(
      `AWS discovery of account ${scope}: region${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${
        missing.length > 1 ? "are" : "is"
      } not enabled for the account (enabled: ${enabled.join(", ") || "none"})`,
      { code: "AWS_REGION_NOT_ENABLED" },
    );
  }
  return [...new Set(requested)].sort();
}
