/**
 * The STS service of the AWS stand-in: `AssumeRole` (for roles that trust the
 * master key, with their external id) issues temporary credentials the
 * stand-in then accepts; `GetCallerIdentity` names the caller. Answers are the
 * Query API's `<Action>Result` elements; refusals are Faults.
 */
import { randomBytes } from "node:crypto";
import { Fault, type StandInAccount } from "./model.ts";
import { el, randomId, wrap } from "./xml.ts";

export const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Temporary credentials the stand-in issued. */
export interface IssuedSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  accountId: string;
  roleName: string;
  sessionName: string;
  /** Unknown to the stand-in from now on (revoked, or expired early). */
  revoked: boolean;
}

/** What an STS call sees. */
export interface StsCall {
  action: string;
  params: Record<string, string>;
  /** The caller's account, and its session when it signed with issued credentials. */
  caller: { accountId: string; session: IssuedSession | undefined };
  masterAccount: string;
  accounts: ReadonlyMap<string, StandInAccount>;
  /** Where issued sessions go. */
  issued: IssuedSession[];
  now: () => number;
}

/** The result element of one STS call, or throws a Fault. */
export function stsAnswer(call: StsCall): string {
  const { caller, params } = call;
  if (call.action === "GetCallerIdentity") {
    const arn = caller.session
      ? `arn:aws:sts::${caller.accountId}:assumed-role/${caller.session.roleName}/${caller.session.sessionName}`
      : `arn:aws:iam::${caller.accountId}:user/troupe`;
    return wrap(
      "GetCallerIdentityResult",
      el("Arn", arn),
      el("UserId", `AIDA${randomId(17)}`),
      el("Account", caller.accountId),
    );
  }
  if (call.action !== "AssumeRole") {
    throw new Fault("InvalidAction", `Could not find operation ${call.action} for version 2011-06-15`, 400);
  }
  const arn = params.RoleArn ?? "";
  const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
  const denied = new Fault(
    "AccessDenied",
    `User: arn:aws:iam::${call.masterAccount}:user/troupe is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    403,
  );
  if (caller.session || !m) throw denied;
  const [, accountId = "", roleName = ""] = m;
  const trust = call.accounts.get(accountId)?.trusted.get(roleName);
  if (!trust || (trust.externalId !== undefined && trust.externalId !== params.ExternalId)) throw denied;
  const sessionName = params.RoleSessionName ?? "";
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    const detail = `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`;
    throw new Fault("ValidationError", `1 validation error detected: ${detail}`);
  }
  const session: IssuedSession = {
    accessKeyId: `ASIA${randomId(16)}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(200).toString("base64")}`,
    expiration: new Date(call.now() + Number(params.DurationSeconds ?? 3600) * 1000),
    accountId,
    roleName,
    sessionName,
    revoked: false,
  };
  call.issued.push(session);
  return wrap(
    "AssumeRoleResult",
    wrap(
      "Credentials",
      el("AccessKeyId", session.accessKeyId),
      el("SecretAccessKey", session.secretAccessKey),
      el("SessionToken", session.sessionToken),
      el("Expiration", session.expiration.toISOString()),
    ),
    wrap(
      "AssumedRoleUser",
      el("AssumedRoleId", `AROA${randomId(17)}:${sessionName}`),
      el("Arn", `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`),
    ),
  );
}
