/**
 * The IAM service of the AWS stand-in: the IAM Query API actions the
 * `aws.iam.policy` kind calls, answered from an account's IAM model (model.ts)
 * with the XML result elements and error codes AWS documents.
 */
import { Buffer } from "node:buffer";
import { Fault, type PrincipalType, type StandInAccount } from "./model.ts";
import { el, randomId, wrap } from "./xml.ts";

export const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";

/** Limits of the model. */
export interface IamLimits {
  /** AWS managed policies (`arn:aws:iam::aws:policy/…`) that exist. */
  awsManaged: ReadonlySet<string>;
  /** Most items per List page. */
  pageSize: number;
  /** Most managed policies per principal. */
  maxAttachments: number;
}

/** Answers one IAM action on `account`: the `<Action>Result` element, or throws a Fault. */
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
    if (!found) throw new Fault("NoSuchEntity", `The ${type} with name ${name} cannot be found.`);
    return found;
  };
  const requirePolicy = () => {
    if (!limits.awsManaged.has(arn) && !account.policies.has(arn)) {
      throw new Fault("NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
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
        throw new Fault("LimitExceeded", `Cannot exceed quota for ${quota}: ${limits.maxAttachments}`);
      }
      set.add(arn);
      return "";
    }
    case "DetachUserPolicy":
    case "DetachRolePolicy": {
      if (!principal().delete(arn)) throw new Fault("NoSuchEntity", `Policy ${arn} was not found.`);
      return "";
    }
    default:
      throw new Fault("InvalidAction", `Could not find operation ${action} for version 2010-05-08`);
  }
}
