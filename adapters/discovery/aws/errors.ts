/**
 * AWS errors of discovery calls → Troupe errors. The shared table of the
 * `aws.iam.policy` kind (adapters/aws/classify.ts) decides most codes; this
 * adds the codes of the listing services it does not know (EC2 `AuthFailure`,
 * S3 `SlowDown` and `InvalidAccessKeyId`, Lambda `UnrecognizedClientException`…).
 *
 * @module
 */
import type { PermanentError, TransientError } from "../../../machines/errors.ts";
import { type AwsErrorRule, classifyAwsError, permanent, transient } from "../../aws/classify.ts";

/** Codes of EC2, RDS, ElastiCache, S3 and Lambda that the shared table lacks. */
export const DISCOVERY_ERROR_RULES: Readonly<Record<string, AwsErrorRule>> = {
  SlowDown: transient("AWS_THROTTLING"),
  RequestThrottled: transient("AWS_THROTTLING"),
  RequestThrottledException: transient("AWS_THROTTLING"),
  EC2ThrottledException: transient("AWS_THROTTLING"),
  ServiceException: transient("AWS_SERVICE_FAILURE"),
  AuthFailure: permanent("AWS_AUTH_FAILURE"),
  UnauthorizedOperation: permanent("AWS_ACCESS_DENIED"),
  InvalidAccessKeyId: permanent("AWS_INVALID_CLIENT_TOKEN_ID"),
  UnrecognizedClientException: permanent("AWS_INVALID_CLIENT_TOKEN_ID"),
  InvalidSignatureException: permanent("AWS_SIGNATURE_DOES_NOT_MATCH"),
  OptInRequired: permanent("AWS_OPT_IN_REQUIRED"),
};

/** Codes that say the credentials themselves were refused (a cached session is then dropped). */
export const CREDENTIAL_REFUSALS: ReadonlySet<string> = new Set([
  "AuthFailure",
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "UnrecognizedClientException",
  "ExpiredToken",
  "ExpiredTokenException",
]);

/** Options of {@link classifyDiscoveryError}. */
export interface DiscoveryErrorContext {
  /** What failed: `AWS EC2 DescribeInstances in us-east-1 of account 111122223333`. */
  context: string;
  /** Values that must never appear in a message (secret keys, session tokens). */
  secrets: readonly string[];
  /** A code for an AccessDenied of this step (e.g. a refused AssumeRole). */
  accessDeniedCode?: string;
  now?: () => number;
}

/** Turns an error of a discovery call into a TransientError or a PermanentError. */
export function classifyDiscoveryError(
  error: unknown,
  options: DiscoveryErrorContext,
): TransientError | PermanentError {
  return classifyAwsError(error, { ...options, rules: DISCOVERY_ERROR_RULES });
}

/** Rethrows the signal's reason when the caller gave up, else the classified error. */
export function failure(error: unknown, signal: AbortSignal, options: DiscoveryErrorContext): never {
  if (signal.aborted) throw signal.reason;
  throw classifyDiscoveryError(error, options);
}
