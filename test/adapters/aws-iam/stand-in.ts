/**
 * A stand-in for AWS STS and IAM: a real HTTP server on 127.0.0.1 that speaks the
 * Query APIs' wire format (form-encoded `Action=…&Version=…` bodies, XML answers,
 * `ErrorResponse` errors with their HTTP statuses), checks SigV4 signatures with
 * the keys it knows, keeps a small IAM model per account, records every request
 * and can be told to fail or delay the next calls of an action.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";

/** The HTTP status AWS answers each error code with. */
export const ERROR_STATUS: Record<string, number> = {
  Throttling: 400, InvalidInput: 400, ValidationError: 400, MalformedPolicyDocument: 400,
  AccessDenied: 403, InvalidClientTokenId: 403, SignatureDoesNotMatch: 403, ExpiredToken: 403,
  NoSuchEntity: 404, LimitExceeded: 409, ServiceFailure: 500, ServiceUnavailable: 503,
};

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  service: "sts" | "iam";
  action: string;
  params: Record<string, string>;
  /** The access key id of the SigV4 `Credential=` scope. */
  accessKeyId: string | undefined;
  /** The `X-Amz-Security-Token` header, when sent. */
  securityToken: string | undefined;
  signatureValid: boolean;
  /** The SDK's `amz-sdk-invocation-id`: one per call, the same on the SDK's own retries. */
  invocationId: string | undefined;
  status?: number;
  requestId?: string;
}

/** Temporary credentials the stand-in issued. */
export interface IssuedSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  accountId: string;
  roleName: string;
  sessionName: string;
}

/** A scripted answer for the next calls of an action. */
export interface ScriptedError {
  code: string;
  status?: number;
  /** AWS's message, or a function of the request (to echo what it carried). */
  message?: string | ((request: RecordedRequest) => string);
  /** A `Retry-After` header, in seconds. */
  retryAfter?: number;
}

type PrincipalType = "user" | "role";

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

class AwsFault extends Error {
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

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const el = (name: string, value: string | number | boolean) => `<${name}>${xml(String(value))}</${name}>`;
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const upper = (n: number) => Array.from(randomBytes(n), (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32]).join("");

/** Options of {@link startStandIn}. */
export interface StandInOptions {
  /** The stand-in's clock (expirations it issues and checks). */
  now?: () => number;
  /** Most items per List page (default 100; lower it to force pagination). */
  pageSize?: number;
  /** Most managed policies per principal (IAM's default quota is 10). */
  maxAttachments?: number;
}

/** Starts the stand-in on a free loopback port. */
export async function startStandIn(options: StandInOptions = {}) {
  const now = options.now ?? Date.now;
  const master = { accessKeyId: `AKIA${upper(16)}`, secretAccessKey: randomBytes(30).toString("base64") };
  const accounts = new Map<string, StandInAccount>();
  const awsManaged = new Set(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/SecurityAudit"]);
  const issued: IssuedSession[] = [];
  const requests: RecordedRequest[] = [];
  const scripted = new Map<string, ScriptedError[]>();
  const delays = new Map<string, number[]>();
  const state = { pageSize: options.pageSize ?? 100, maxAttachments: options.maxAttachments ?? 10 };

  function account(id: string): StandInAccount {
    let found = accounts.get(id);
    if (!found) accounts.set(id, found = new StandInAccount(id));
    return found;
  }

  /** The secret of a known key (master or issued), and the session it belongs to. */
  function keyOf(accessKeyId: string | undefined) {
    if (accessKeyId === master.accessKeyId) return { secret: master.secretAccessKey, session: undefined };
    const session = issued.find((s) => s.accessKeyId === accessKeyId);
    return session ? { secret: session.secretAccessKey, session } : undefined;
  }

  /** Checks the SigV4 signature of a request (AWS4-HMAC-SHA256, header form). */
  function verifySignature(req: IncomingMessage, body: string, secret: string): boolean {
    const auth = String(req.headers.authorization ?? "");
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return false;
    const [, , date, region, service, signedHeaders, signature] = m as unknown as string[];
    const names = signedHeaders!.split(";");
    const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
    const url = new URL(req.url ?? "/", "http://stand-in");
    const canonical = [req.method, url.pathname, url.searchParams.toString(), canonicalHeaders, signedHeaders, sha256(body)].join("\n");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", String(req.headers["x-amz-date"]), scope, sha256(canonical)].join("\n");
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), "aws4_request");
    return createHmac("sha256", key).update(toSign).digest("hex") === signature;
  }

  function assumeRole(params: Record<string, string>, caller: IssuedSession | undefined): string {
    const arn = params.RoleArn ?? "";
    const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
    const denied = new AwsFault("AccessDenied", `User: arn:aws:iam::000000000000:user/troupe is not authorized to perform: sts:AssumeRole on resource: ${arn}`);
    if (caller || !m) throw denied;
    const trust = accounts.get(m[1]!)?.trusted.get(m[2]!);
    if (!trust || (trust.externalId !== undefined && trust.externalId !== params.ExternalId)) throw denied;
    const sessionName = params.RoleSessionName ?? "";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) throw new AwsFault("ValidationError", `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`);
    const session: IssuedSession = {
      accessKeyId: `ASIA${upper(16)}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(200).toString("base64")}`,
      expiration: new Date(now() + Number(params.DurationSeconds ?? 3600) * 1000),
      accountId: m[1]!,
      roleName: m[2]!,
      sessionName,
    };
    issued.push(session);
    return `<AssumeRoleResult><Credentials>${el("AccessKeyId", session.accessKeyId)}${el("SecretAccessKey", session.secretAccessKey)}` +
      `${el("SessionToken", session.sessionToken)}${el("Expiration", session.expiration.toISOString())}</Credentials>` +
      `<AssumedRoleUser>${el("AssumedRoleId", `AROA${upper(17)}:${sessionName}`)}` +
      `${el("Arn", `arn:aws:sts::${session.accountId}:assumed-role/${session.roleName}/${sessionName}`)}</AssumedRoleUser></AssumeRoleResult>`;
  }

  function iam(action: string, params: Record<string, string>, session: IssuedSession | undefined): string {
    if (!session) throw new AwsFault("AccessDenied", `User is not authorized to perform: iam:${action}`);
    const acct = account(session.accountId);
    const type: PrincipalType = action.includes("User") ? "user" : "role";
    const name = (type === "user" ? params.UserName : params.RoleName) ?? "";
    const principal = () => {
      const found = acct.principals(type).get(name);
      if (!found) throw new AwsFault("NoSuchEntity", `The ${type} with name ${name} cannot be found.`);
      return found;
    };
    const policyExists = (arn: string) => awsManaged.has(arn) || acct.policies.has(arn);
    const missingPolicy = (arn: string) => new AwsFault("NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
    const arnOf = (kind: string, n: string) => `arn:aws:iam::${acct.id}:${kind}/${n}`;
    switch (action) {
      case "GetUser":
      case "GetRole": {
        principal();
        const tag = type === "user" ? "User" : "Role";
        return `<${action}Result><${tag}>${el("Path", "/")}${el(`${tag}Name`, name)}${el(`${tag}Id`, `AID${upper(17)}`)}` +
          `${el("Arn", arnOf(type, name))}${el("CreateDate", "2024-01-01T00:00:00Z")}</${tag}></${action}Result>`;
      }
      case "GetPolicy": {
        const arn = params.PolicyArn ?? "";
        if (!policyExists(arn)) throw missingPolicy(arn);
        const count = [...acct.users.values(), ...acct.roles.values()].filter((s) => s.has(arn)).length;
        return `<GetPolicyResult><Policy>${el("PolicyName", arn.split("/").pop() ?? "")}${el("DefaultVersionId", "v1")}` +
          `${el("PolicyId", `ANPA${upper(17)}`)}${el("Path", "/")}${el("Arn", arn)}${el("AttachmentCount", count)}` +
          `${el("IsAttachable", true)}${el("CreateDate", "2024-01-01T00:00:00Z")}${el("UpdateDate", "2024-01-01T00:00:00Z")}</Policy></GetPolicyResult>`;
      }
      case "ListAttachedUserPolicies":
      case "ListAttachedRolePolicies": {
        const all = [...principal()].sort();
        const start = params.Marker ? Number(Buffer.from(params.Marker, "base64").toString()) : 0;
        const size = Math.min(state.pageSize, Number(params.MaxItems ?? 100));
        const page = all.slice(start, start + size);
        const more = start + size < all.length;
        const members = page.map((arn) => `<member>${el("PolicyName", arn.split("/").pop() ?? "")}${el("PolicyArn", arn)}</member>`).join("");
        return `<${action}Result><AttachedPolicies>${members}</AttachedPolicies>${el("IsTruncated", more)}` +
          `${more ? el("Marker", Buffer.from(String(start + size)).toString("base64")) : ""}</${action}Result>`;
      }
      case "AttachUserPolicy":
      case "AttachRolePolicy": {
        const set = principal();
        const arn = params.PolicyArn ?? "";
        if (!policyExists(arn)) throw missingPolicy(arn);
        if (!set.has(arn) && set.size >= state.maxAttachments) {
          throw new AwsFault("LimitExceeded", `Cannot exceed quota for PoliciesPer${type === "user" ? "User" : "Role"}: ${state.maxAttachments}`);
        }
        set.add(arn);
        return "";
      }
      case "DetachUserPolicy":
      case "DetachRolePolicy": {
        const set = principal();
        const arn = params.PolicyArn ?? "";
        if (!set.delete(arn)) throw new AwsFault("NoSuchEntity", `Policy ${arn} was not found.`);
        return "";
      }
      default:
        throw new AwsFault("InvalidAction", `Could not find operation ${action} for version 2010-05-08`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const params = Object.fromEntries(new URLSearchParams(body));
    const action = params.Action ?? "";
    const service = params.Version === "2011-06-15" ? "sts" : "iam";
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1];
    const securityToken = req.headers["x-amz-security-token"] as string | undefined;
    const known = keyOf(accessKeyId);
    const record: RecordedRequest = {
      service, action, params, accessKeyId, securityToken,
      invocationId: req.headers["amz-sdk-invocation-id"] as string | undefined,
      signatureValid: known !== undefined && verifySignature(req, body, known.secret),
    };
    requests.push(record);
    const requestId = randomUUID();
    record.requestId = requestId;
    const ns = service === "sts" ? STS_NS : IAM_NS;
    const wait = delays.get(action)?.shift();
    if (wait) {
      // Ends early when the client goes away, so no timer outlives the test.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        res.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (res.destroyed || req.socket.destroyed) return;
    try {
      if (!known) throw new AwsFault("InvalidClientTokenId", "The security token included in the request is invalid.");
      if (!record.signatureValid) throw new AwsFault("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
      if (known.session && securityToken !== known.session.sessionToken) {
        throw new AwsFault("InvalidClientTokenId", "The security token included in the request is invalid.");
      }
      if (known.session && known.session.expiration.getTime() <= now()) {
        throw new AwsFault("ExpiredToken", "The security token included in the request is expired");
      }
      const script = scripted.get(action)?.shift();
      if (script) {
        const message = typeof script.message === "function" ? script.message(record) : script.message ?? `Scripted ${script.code}`;
        throw new AwsFault(script.code, message, script.retryAfter, script.status);
      }
      const result = service === "sts"
        ? action === "AssumeRole" ? assumeRole(params, known.session) : (() => {
          throw new AwsFault("InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
        })()
        : iam(action, params, known.session);
      record.status = 200;
      res.writeHead(200, { "content-type": "text/xml", "x-amzn-RequestId": requestId });
      res.end(`<${action}Response xmlns="${ns}">${result}<ResponseMetadata>${el("RequestId", requestId)}</ResponseMetadata></${action}Response>`);
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault("ServiceFailure", String(error), undefined, 500);
      record.status = fault.status;
      const headers: Record<string, string> = { "content-type": "text/xml", "x-amzn-RequestId": requestId };
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(`<ErrorResponse xmlns="${ns}"><Error>${el("Type", fault.status >= 500 ? "Receiver" : "Sender")}` +
        `${el("Code", fault.code)}${el("Message", fault.message)}</Error>${el("RequestId", requestId)}</ErrorResponse>`);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    /** Static master credentials the stand-in accepts. */
    master,
    issued,
    requests,
    account,
    awsManaged,
    state,
    /** The requests of one action, in order. */
    calls(action: string): RecordedRequest[] {
      return requests.filter((r) => r.action === action);
    },
    /** The next `times` calls of `action` answer `error`. */
    failNext(action: string, error: ScriptedError, times = 1): void {
      const list = scripted.get(action) ?? [];
      for (let i = 0; i < times; i++) list.push(error);
      scripted.set(action, list);
    },
    /** The next call of `action` waits `ms` before answering. */
    delayNext(action: string, ms: number): void {
      delays.set(action, [...(delays.get(action) ?? []), ms]);
    },
    close(): Promise<void> {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type StandIn = Awaited<ReturnType<typeof startStandIn>>;
