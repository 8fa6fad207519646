/**
 * Builds the AWS SDK clients of the `aws.iam.policy` kind: one STS client signed
 * with the master credentials, and one IAM client per assumed-role session, all
 * sharing one connection pool.
 *
 * Retries: the SDK's own retries are off by default (`maxAttempts: 1`): Troupe
 * retries the whole job with exponential backoff and full jitter, honouring
 * `Retry-After`, so a throttled call is not retried twice over. Endpoints: an
 * explicit endpoint wins; otherwise the SDK reads `AWS_ENDPOINT_URL_STS`,
 * `AWS_ENDPOINT_URL_IAM` and `AWS_ENDPOINT_URL` itself.
 *
 * @module
 */
import { traceAwsCalls } from "./trace-calls.ts";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient, type STSClientConfig } from "@aws-sdk/client-sts";

/** Master credentials: static keys or a provider. Unset: the SDK's default provider chain. */
export type AwsCredentials = NonNullable<STSClientConfig["credentials"]>;

/** Temporary credentials of an assumed-role session. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What every client of the kind shares. */
export interface ClientSettings {
  /** Signing region (IAM is global; STS is regional). Default `us-east-1`. */
  region?: string;
  /** Attempts per SDK call (default 1: the job's retry is the retry). */
  maxAttempts?: number;
  /** Per-request time limit (default 30 s) and connect time limit (default 5 s). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /**
   * Reuse connections (default false). Seen on Deno 2.9.5: destroying an in-flight
   * `node:http` request on a keep-alive agent (what an aborted SDK call does) sends
   * the same request again on another connection, so an aborted IAM write could
   * still land. Node does not do this: its wiring may turn keep-alive on.
   */
  keepAlive?: boolean;
}

function common(settings: ClientSettings) {
  return {
    region: settings.region ?? "us-east-1",
    maxAttempts: settings.maxAttempts ?? 1,
  };
}

/** The STS client, signed with `credentials` or the default provider chain. */
export function createStsClient(
  settings: ClientSettings & { credentials?: AwsCredentials | undefined; endpoint?: string | undefined },
): STSClient {
  return traceAwsCalls(
    new STSClient({
      ...common(settings),
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      requestHandler: {
        requestTimeout: settings.requestTimeoutMs ?? 30_000,
        connectionTimeout: settings.connectionTimeoutMs ?? 5_000,
        httpAgent: { keepAlive: settings.keepAlive ?? false },
        httpsAgent: { keepAlive: settings.keepAlive ?? false },
      },
    }),
    "STS",
  );
}

/** An IAM client signed with a session's temporary credentials, on the STS client's connection pool. */
export function createIamClient(
  sts: STSClient,
  credentials: SessionCredentials,
  settings: ClientSettings & { endpoint?: string | undefined },
): IAMClient {
  return traceAwsCalls(
    new IAMClient({
      ...common(settings),
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
      },
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      requestHandler: sts.config.requestHandler,
    }),
    "IAM",
  );
}
