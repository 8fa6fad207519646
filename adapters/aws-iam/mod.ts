/**
 * The `aws.iam.policy` job kind: attach or detach a managed IAM policy to or from
 * a user or role in any account that trusts the master credentials to assume its
 * handler role. Options are injected (credentials, endpoints, clock, logger); the
 * module never reads the environment itself, though the SDK still honours its
 * standard variables (`AWS_ENDPOINT_URL_*`, the default credential chain) for
 * what the options leave unset.
 *
 * @example
 * ```ts
 * const kind = createAwsIamPolicyKind({ handlerRoleName: "cSecBridgeIAMHandlerRole" });
 * new KindRegistry([noopKind, kind]);
 * // later, at shutdown
 * kind.close();
 * ```
 * @module
 */
import { defineKind, type JobKind } from "../../machines/job-kind.ts";
import { ValidationError } from "../../machines/errors.ts";
import type { AssumedSession } from "../aws/assume-role.ts";
import { type AwsCredentials, type ClientSettings, createIamClient, createStsClient } from "../aws/client.ts";
import { type KindLogger, runPolicyJob } from "./run.ts";
import { AWS_IAM_POLICY_KIND, type AwsIamPolicyPayload, awsIamPolicySchema } from "./schema.ts";
import { SessionCache } from "../aws/session-cache.ts";

export { type AwsIamPolicyPayload, awsIamPolicySchema } from "./schema.ts";
export { classifyAwsError } from "../aws/classify.ts";
export type { KindLogger } from "./run.ts";

/** The default role assumed in each account (`AWS_HANDLER_ROLE_NAME` in config). */
export const DEFAULT_HANDLER_ROLE_NAME = "cSecBridgeIAMHandlerRole";

/** Options of {@link createAwsIamPolicyKind}. */
export interface AwsIamPolicyKindOptions {
  /** Master credentials; unset: the AWS SDK's default provider chain. */
  credentials?: AwsCredentials;
  /** Role assumed in the target account unless the payload names one. */
  handlerRoleName?: string;
  /** Endpoint overrides; unset: the SDK's own (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`). */
  endpoints?: { sts?: string; iam?: string };
  /** Signing region, default `us-east-1`. */
  region?: string;
  /** Attempts per SDK call, default 1: the job's retry with backoff is the retry. */
  sdkMaxAttempts?: number;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Reuse connections (default false: see `ClientSettings.keepAlive` for why; safe to turn on under Node). */
  keepAlive?: boolean;
  /** Lifetime asked of STS for each session (900 to 43200; default 3600). */
  sessionDurationSeconds?: number;
  /** Reuse a session until this long before it expires (default 5 minutes). */
  refreshBeforeMs?: number;
  /** Job attempts of this kind unless the job says otherwise (default: the worker's). */
  maxAttempts?: number;
  /** Per-attempt time limit unless the job says otherwise (default 120 s). */
  timeoutMs?: number;
  /** The clock of the session cache (tests inject one). */
  now?: () => number;
  logger?: KindLogger;
}

/** The kind, plus `close()` to release its connections and forget its sessions. */
export type AwsIamPolicyKind = JobKind<typeof awsIamPolicySchema> & { close(): void };

/** Creates the `aws.iam.policy` kind. */
export function createAwsIamPolicyKind(options: AwsIamPolicyKindOptions = {}): AwsIamPolicyKind {
  const settings: ClientSettings = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.sdkMaxAttempts ? { maxAttempts: options.sdkMaxAttempts } : {}),
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.connectionTimeoutMs ? { connectionTimeoutMs: options.connectionTimeoutMs } : {}),
    ...(options.keepAlive !== undefined ? { keepAlive: options.keepAlive } : {}),
  };
  const sts = createStsClient({
    ...settings,
    credentials: options.credentials,
    endpoint: options.endpoints?.sts,
  });
  const sessions = new SessionCache<AssumedSession>({
    ...(options.now ? { now: options.now } : {}),
    ...(options.refreshBeforeMs !== undefined ? { refreshBeforeMs: options.refreshBeforeMs } : {}),
  });
  const credentials = options.credentials;
  const secrets = credentials && typeof credentials === "object" && "secretAccessKey" in credentials
    ? [credentials.secretAccessKey, ...(credentials.sessionToken ? [credentials.sessionToken] : [])]
    : [];
  const context = {
    sts,
    sessions,
    openIam: (session: Parameters<typeof createIamClient>[1]) =>
      createIamClient(sts, session, { ...settings, endpoint: options.endpoints?.iam }),
    handlerRoleName: options.handlerRoleName ?? DEFAULT_HANDLER_ROLE_NAME,
    sessionDurationSeconds: options.sessionDurationSeconds ?? 3600,
    secrets,
    logger: options.logger,
  };
  const kind = defineKind({
    kind: AWS_IAM_POLICY_KIND.kind,
    description: AWS_IAM_POLICY_KIND.description,
    schema: awsIamPolicySchema,
    timeoutMs: options.timeoutMs ?? AWS_IAM_POLICY_KIND.timeoutMs,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    run: async ({ id, payload, signal }) =>
      await runPolicyJob({ id, payload: checked(payload), signal }, context),
  });
  return Object.assign(kind, {
    close() {
      sessions.clear();
      sts.destroy();
    },
  });
}

/**
 * The payload checked again: run() may be handed one nobody validated, and an
 * unknown action must fail permanently, not run as a detach.
 */
function checked(payload: unknown): AwsIamPolicyPayload {
  const parsed = awsIamPolicySchema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = ["payload", ...(issue?.path ?? []).map(String)].join(".");
  // zod's messages here name the rule, never the value (externalId is a secret).
  const message = `Invalid payload for kind "${AWS_IAM_POLICY_KIND.kind}": ${field}: ${issue?.message}`;
  throw new ValidationError(message, { field });
}
