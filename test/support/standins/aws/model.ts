/**
 * The AWS stand-in's model: accounts with roles that trust the master key, an
 * IAM model (users, roles, managed policies, attachments) for `aws.iam.policy`,
 * S3 buckets, and per region an opt-in status and the resources that the
 * discovery listings read. Plain data that tests seed, plus the fault that the
 * stand-in turns into each service's error answer.
 */
import { Buffer } from "node:buffer";

export type Tags = Record<string, string>;

export interface InstanceModel {
  id: string;
  type: string;
  state: string;
  privateIp: string;
  az: string;
  subnetId?: string;
  vpcId?: string;
  groupIds: string[];
  tags?: Tags;
  /** Instances with the same reservation id are answered in one reservation. */
  reservationId?: string;
}

export interface VpcModel {
  id: string;
  cidr: string;
  isDefault?: boolean;
  tags?: Tags;
}

export interface SubnetModel {
  id: string;
  vpcId: string;
  cidr: string;
  az: string;
  tags?: Tags;
}

export interface SecurityGroupModel {
  id: string;
  name: string;
  description: string;
  vpcId?: string;
  tags?: Tags;
}

export interface DbInstanceModel {
  identifier: string;
  engine: string;
  engineVersion: string;
  instanceClass: string;
  status: string;
  vpcId?: string;
  groupIds: string[];
  tags?: Tags;
}

export interface CacheClusterModel {
  id: string;
  engine: string;
  nodeType: string;
  status: string;
  nodes: number;
  groupIds: string[];
}

export interface FunctionModel {
  name: string;
  runtime: string;
  handler: string;
  memory: number;
  vpc?: { vpcId: string; subnetIds: string[]; groupIds: string[] };
}

export interface BucketModel {
  name: string;
  region: string;
  created: string;
}

export type OptInStatus = "opt-in-not-required" | "opted-in" | "not-opted-in";

/** What one account has in one region. */
export interface RegionModel {
  optInStatus: OptInStatus;
  instances: InstanceModel[];
  vpcs: VpcModel[];
  subnets: SubnetModel[];
  securityGroups: SecurityGroupModel[];
  dbInstances: DbInstanceModel[];
  cacheClusters: CacheClusterModel[];
  functions: FunctionModel[];
}

export type PrincipalType = "user" | "role";

/** One account of the stand-in. */
export class StandInAccount {
  readonly id: string;
  /** Roles that trust the master key, with the external id they require. */
  readonly trusted = new Map<string, { externalId?: string }>();
  /** IAM users and roles, each with the managed policies attached to it. */
  readonly users = new Map<string, Set<string>>();
  readonly roles = new Map<string, Set<string>>();
  /** Customer managed policies (ARNs). */
  readonly policies = new Set<string>();
  readonly regions = new Map<string, RegionModel>();
  readonly buckets: BucketModel[] = [];

  constructor(id: string) {
    this.id = id;
  }

  /** Lets the master key assume `roleName`. */
  trust(roleName: string, options: { externalId?: string } = {}): this {
    this.trusted.set(roleName, options);
    return this;
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
  principals(type: PrincipalType): Map<string, Set<string>> {
    return type === "user" ? this.users : this.roles;
  }
  attached(type: PrincipalType, name: string): string[] {
    return [...(this.principals(type).get(name) ?? [])].sort();
  }

  /** The region's model, made empty (and with `optInStatus`) on first use. */
  region(name: string, optInStatus: OptInStatus = "opt-in-not-required"): RegionModel {
    let found = this.regions.get(name);
    if (!found) {
      found = {
        optInStatus,
        instances: [],
        vpcs: [],
        subnets: [],
        securityGroups: [],
        dbInstances: [],
        cacheClusters: [],
        functions: [],
      };
      this.regions.set(name, found);
    }
    return found;
  }
}

/** The HTTP status AWS's Query APIs answer each error code with (when a script or the model names none). */
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

/** An error answer: the service renders it in its own format. */
export class Fault extends Error {
  readonly code: string;
  readonly status: number;
  /** A `Retry-After` header, in seconds. */
  readonly retryAfter: number | undefined;
  /** `status` defaults to the code's in {@link ERROR_STATUS}, else 400. */
  constructor(code: string, message: string, status?: number, retryAfter?: number) {
    super(message);
    this.code = code;
    this.status = status ?? ERROR_STATUS[code] ?? 400;
    this.retryAfter = retryAfter;
  }
}

/** One page of `items` from an offset token: what was asked, capped by the stand-in's page size. */
export function paginate<T>(
  items: readonly T[],
  options: {
    token: string | undefined;
    asked: number;
    cap: number;
    scope: string;
    invalid: (what: string) => Fault;
  },
): { page: T[]; next: string | undefined } {
  let offset = 0;
  if (options.token !== undefined) {
    const m = /^([^:]+):(\d+)$/.exec(Buffer.from(options.token, "base64url").toString("utf8"));
    if (!m || m[1] !== options.scope) throw options.invalid("The pagination token is invalid");
    offset = Number(m[2]);
  }
  const size = Math.min(options.asked, options.cap);
  const page = items.slice(offset, offset + size);
  const end = offset + page.length;
  const next = end < items.length
    ? Buffer.from(`${options.scope}:${end}`, "utf8").toString("base64url")
    : undefined;
  return { page, next };
}
