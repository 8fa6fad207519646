/**
 * Access to one account: the credentials that sign its listing calls and the
 * clients made with them. Either an assumed-role session (STS AssumeRole with
 * the master credentials, cached per master key, role and external id until
 * shortly before it expires) or, when role assumption is off, the master
 * credentials themselves after STS GetCallerIdentity confirmed they belong to
 * the account.
 *
 * @module
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { createHash } from "node:crypto";
import { PermanentError, TransientError } from "../../../machines/errors.ts";
import { roleSessionName } from "../../aws/assume-role.ts";
import type { Expiring, SessionCache } from "../../aws/session-cache.ts";
import { type ListingSettings, ServiceClients, type SigningCredentials } from "./clients.ts";
import { failure } from "./errors.ts";

/** The signing side of one account. */
export interface AccountAccess extends Expiring {
  clients: ServiceClients;
  /** Secret keys and tokens (master and session) to strip from any message. */
  secrets: string[];
  /** The assumed role, when one was assumed. */
  roleArn: string | undefined;
}

/** How a source gets its account's access, and reports that AWS refused it. */
export interface AccessHandle {
  /** The account id. */
  scope: string;
  get(signal: AbortSignal): Promise<AccountAccess>;
  /** AWS refused these credentials (expired or revoked session): the next `get` assumes anew. */
  refused(access: AccountAccess): void;
}

/** What {@link openAccess} needs. */
export interface AccessOptions {
  scope: string;
  sts: STSClient;
  /** Master credentials; unset: the SDK's default chain (the STS client's). */
  master: SigningCredentials | undefined;
  settings: ListingSettings;
  sessions: SessionCache<AccountAccess>;
  /** The role to assume; undefined: use the master credentials for the account. */
  role:
    | { arn: string; externalId?: string | undefined; sessionName: string; durationSeconds: number }
    | undefined;
}

const FAR_FUTURE = new Date(8.64e15);

/** A stable, non-secret name of the master credentials (a hash, never the secret). */
export function masterKeyName(master: SigningCredentials | undefined): string {
  if (!master) return "default";
  const digest = createHash("sha256").update(`${master.secretAccessKey}\n${master.sessionToken ?? ""}`)
    .digest(
      "hex",
    );
  return `${master.accessKeyId}:${digest.slice(0, 16)}`;
}

function secretsOf(credentials: SigningCredentials | undefined): string[] {
  return credentials
    ? [credentials.secretAccessKey, ...(credentials.sessionToken ? [credentials.sessionToken] : [])]
    : [];
}

async function assume(options: AccessOptions, signal: AbortSignal): Promise<AccountAccess> {
  const role = options.role!;
  const secrets = secretsOf(options.master);
  let output;
  try {
    output = await options.sts.send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: roleSessionName(options.scope, role.sessionName),
        DurationSeconds: role.durationSeconds,
        ...(role.externalId ? { ExternalId: role.externalId } : {}),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    failure(error, signal, {
      context: `AWS STS AssumeRole of "${role.arn}" for account ${options.scope}`,
      secrets,
      accessDeniedCode: "AWS_ASSUME_ROLE_DENIED",
    });
  }
  const c = output.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new TransientError(`AWS STS AssumeRole of "${role.arn}" answered without credentials`, {
      code: "AWS_NO_CREDENTIALS",
    });
  }
  const session = {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
  };
  return {
    clients: new ServiceClients(options.sts, session, options.settings),
    secrets: [...secrets, c.SecretAccessKey, c.SessionToken],
    expiration: c.Expiration,
    roleArn: role.arn,
  };
}

/**
 * The account the credentials belong to (STS GetCallerIdentity): the default
 * scope of a payload that names none.
 */
export async function callerAccount(
  sts: STSClient,
  master: SigningCredentials | undefined,
  signal: AbortSignal,
): Promise<string> {
  let account;
  try {
    account = (await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal })).Account;
  } catch (error) {
    failure(error, signal, {
      context: "AWS STS GetCallerIdentity for the default scope",
      secrets: secretsOf(master),
    });
  }
  if (!account || !/^\d{12}$/.test(account)) {
    throw new PermanentError("AWS STS GetCallerIdentity answered without an account id", {
      code: "AWS_NO_ACCOUNT",
    });
  }
  return account;
}

async function confirmAccount(options: AccessOptions, signal: AbortSignal): Promise<void> {
  const secrets = secretsOf(options.master);
  let account;
  try {
    account = (await options.sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal })).Account;
  } catch (error) {
    failure(error, signal, { context: `AWS STS GetCallerIdentity for account ${options.scope}`, secrets });
  }
  if (account !== options.scope) {
    throw new PermanentError(
      `AWS discovery of account ${options.scope} without role assumption: the credentials belong to account ${
        account ?? "(unknown)"
      }`,
      { code: "AWS_WRONG_ACCOUNT" },
    );
  }
}

/**
 * The access of one account for one sync. With a role, sessions come from the
 * cache (single flight); without one, the master credentials are checked once.
 */
export async function openAccess(options: AccessOptions, signal: AbortSignal): Promise<AccessHandle> {
  if (!options.role) {
    await confirmAccount(options, signal);
    const access: AccountAccess = {
      clients: new ServiceClients(options.sts, options.master, options.settings),
      secrets: secretsOf(options.master),
      expiration: FAR_FUTURE,
      roleArn: undefined,
    };
    return { scope: options.scope, get: () => Promise.resolve(access), refused: () => {} };
  }
  const key = JSON.stringify([
    masterKeyName(options.master),
    options.role.arn,
    options.role.externalId ?? null,
  ]);
  const handle: AccessHandle = {
    scope: options.scope,
    get: async (s) => (await options.sessions.get(key, () => assume(options, s))).value,
    refused: (access) => options.sessions.invalidate(key, access),
  };
  await handle.get(signal);
  return handle;
}
