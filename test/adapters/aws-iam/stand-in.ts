/**
 * The AWS stand-in moved to test/support/standins/aws/ (one stand-in for
 * aws.iam.policy and discovery.aws). This path remains only for
 * test/actors/observability/tracing.test.ts: import from the new place, then
 * delete this file.
 */
export {
  type AwsStandIn as StandIn,
  startAwsStandIn as startStandIn,
} from "../../support/standins/aws/stand-in.ts";
