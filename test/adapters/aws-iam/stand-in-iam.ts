/**
 * The IAM half of the AWS stand-in: a small model of one account (users, roles,
 * managed policies, attachments, roles that trust the master key) and the IAM
 * Query API actions the `aws.iam.policy` kind calls, answered with the XML
 * result elements and error codes AWS documents.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";

/** The HTTP status AWS answers each error code with. */
export const ERROR_STATUS: Record<string, number> = {
  Throttling: 400,
  InvalidInput: 400,
  ValidationError: 400,
  MalformedPolicyDocument: 400,
  AccessDenied: 403,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  ExpiredToken: 403,
  NoSuchEntity: 404,
  LimitExceeded: 409,
  ServiceFailure: 500,
  ServiceUnavailable: 503,
};

/** An AWS error answer: code, message, status, optional Retry-After seconds. */
export class AwsFault extends Error {
  readonly code: string;
  readonly retryAfter: number | undefined;
  readonly status: number;
  constructor(code: string, message: string, retryAfter?: number, status?: number) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
    this.status = status ?? ERROR_STATUS[code] ?? 400;
  }
}

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** `<name>value</name>`, escaped. */
export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escape(String(value))}</${name}>`;
}

/** `<name>` around already-built children. */
export function wrap(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/** `n` random characters of AWS's id alphabet. */
export function randomId(n: number): string {
  return Array.from(randomBytes(n), (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32]).join("");
}

export type PrincipalType = "user" | "role";

/** The IAM model of one account. */
export class StandInAccount {
  readonly users = new Map<string, Set<string>>();
  readonly roles = new Map<string, Set<string>>();
  readonly policies = new Set<string>();
  /** Roles that trust the master credentials, with the ExternalId they require. */
  readonly trusted = new Map<string, { externalId?: string }>();
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }

  addUser(name: string, attached: string[] = []): this {
    this.users.set(name, new Set(attached));
    return this;
  }
  addRole(name: string, attached: string[] = []): this {
    this.roles.set(name, new Set(attached));
    return this;
  }
  addPolicy(name: string): string {
    const arn = `arn:aws:iam::${this.id}:policy/${name}`;
    this.policies.add(arn);
    return arn;
  }
  trust(roleName: string, options: { externalId?: string } = {}): this {
    this.trusted.set(roleName, options);
    return this;
  }
  principals(type: PrincipalType): Map<string, Set<string>> {
    return type === "user" ? this.users : this.roles;
  }
  attached(type: PrincipalType, name: string): string[] {
    return [...(this.principals(type).get(name) ?? [])].sort();
  }
}

/** Limits of the model. */
export interface IamLimits {
  /** AWS managed policies (`arn:aws:iam::aws:policy/…`) that exist. */
  awsManaged: ReadonlySet<string>;
  /** Most items per List page. */
  pageSize: number;
  /** Most managed policies per principal. */
  maxAttachments: number;
}

/** Answers one IAM action on `account`: the `<Action>Result` element, or throws an AwsFault. */
export function iamAction(
  action: string,
  params: Record<string, string>,
  account: StandInAccount,
  limits: IamLimits,
): string {
  const type: PrincipalType = action.includes("User") ? "user" : "role";
  const name = (type === "user" ? params.UserName : params.RoleName) ?? "";
  const arn = params.PolicyArn ?? "";
  const principal = () => {
    const found = account.principals(type).get(name);
    if (!found) throw new AwsFault("NoSuchEntity", `The ${type} with name ${name} cannot be found.`);
    return found;
  };
  const requirePolicy = () => {
    if (!limits.awsManaged.has(arn) && !account.policies.has(arn)) {
      throw new AwsFault("NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
    }
  };
  const created = el("CreateDate", "2024-01-01T00:00:00Z");
  switch (action) {
    case "GetUser":
    case "GetRole": {
      principal();
      const tag = type === "user" ? "User" : "Role";
      const arnOf = `arn:aws:iam::${account.id}:${type}/${name}`;
      return wrap(
        `${action}Result`,
        wrap(
          tag,
          el("Path", "/"),
          el(`${tag}Name`, name),
          el(`${tag}Id`, `AID${randomId(17)}`),
          el("Arn", arnOf),
          created,
        ),
      );
    }
    case "GetPolicy": {
      requirePolicy();
      const count = [...account.users.values(), ...account.roles.values()].filter((s) => s.has(arn)).length;
      return wrap(
        "GetPolicyResult",
        wrap(
          "Policy",
          el("PolicyName", arn.split("/").pop() ?? ""),
          el("DefaultVersionId", "v1"),
          el("PolicyId", `ANPA${randomId(17)}`),
          el("Path", "/"),
          el("Arn", arn),
          el("AttachmentCount", count),
          el("IsAttachable", true),
          created,
          el("UpdateDate", "2024-01-01T00:00:00Z"),
        ),
      );
    }
    case "ListAttachedUserPolicies":
    case "ListAttachedRolePolicies": {
      const all = [...principal()].sort();
      const start = params.Marker ? Number(Buffer.from(params.Marker, "base64").toString()) : 0;
      const size = Math.min(limits.pageSize, Number(params.MaxItems ?? 100));
      const more = start + size < all.length;
      const members = all.slice(start, start + size).map((p) =>
        wrap("member", el("PolicyName", p.split("/").pop() ?? ""), el("PolicyArn", p))
      );
      const marker = more ? el("Marker", Buffer.from(String(start + size)).toString("base64")) : "";
      return wrap(`${action}Result`, wrap("AttachedPolicies", ...members), el("IsTruncated", more), marker);
    }
    case "AttachUserPolicy":
    case "AttachRolePolicy": {
      const set = principal();
      requirePolicy();
      if (!set.has(arn) && set.size >= limits.maxAttachments) {
        const quota = type === "user" ? "PoliciesPerUser" : "PoliciesPerRole";
        throw new AwsFault("LimitExceeded", `Cannot exceed quota for ${quota}: ${limits.maxAttachments}`);
      }
      set.add(arn);
      return "";
    }
    case "DetachUserPolicy":
    case "DetachRolePolicy": {
      if (!principal().delete(arn)) throw new AwsFault("NoSuchEntity", `Policy ${arn} was not found.`);
      return "";
    }
    default:
      throw new AwsFault("InvalidAction", `Could not find operation ${action} for version 2010-05-08`);
  }
}
