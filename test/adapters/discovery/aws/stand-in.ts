/**
 * A stand-in for the AWS APIs that discovery calls: one real HTTP server on
 * 127.0.0.1 that tells services apart by the SigV4 credential scope (`sts`,
 * `ec2`, `rds`, `elasticache`, `s3`, `lambda`) and answers each in its own wire
 * format (stand-in-query.ts, stand-in-rest.ts). It checks signatures with the
 * keys it knows (the master key and the sessions it issued through STS
 * AssumeRole), refuses others with each service's documented auth failure,
 * refuses calls to regions the account has not opted in to, records every
 * request and can be told to fail the next calls of an action (throttling with
 * `Retry-After`, 5xx).
 */
import { Buffer } from "node:buffer";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { el, randomId, wrap } from "../../aws-iam/stand-in-iam.ts";
import { Fault, type RegionModel, StandInAccount } from "./stand-in-model.ts";
import {
  ec2Answer,
  ec2Error,
  ec2Response,
  ELASTICACHE_NS,
  elastiCacheAnswer,
  type QueryCall,
  queryError,
  queryResponse,
  RDS_NS,
  rdsAnswer,
} from "./stand-in-query.ts";
import {
  lambdaAction,
  lambdaAnswer,
  lambdaError,
  type RestCall,
  s3Action,
  s3Answer,
  s3Error,
} from "./stand-in-rest.ts";
import { parseAuthorization, verifySigV4 } from "./stand-in-sigv4.ts";

export { StandInAccount } from "./stand-in-model.ts";

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  /** The service of the SigV4 credential scope. */
  service: string;
  region: string;
  action: string;
  method: string;
  path: string;
  /** Form parameters (Query services) or URL query parameters (REST services). */
  params: Record<string, string>;
  accessKeyId: string | undefined;
  /** The `X-Amz-Security-Token` header, when sent. */
  securityToken: string | undefined;
  signatureValid: boolean;
  status?: number;
  requestId: string;
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
  revoked: boolean;
}

/** A scripted answer for the next calls of an action. */
export interface ScriptedFault {
  code: string;
  status: number;
  message?: string;
  /** A `Retry-After` header, in seconds. */
  retryAfter?: number;
  /** Only calls signed for this region. */
  region?: string;
}

/** Each service's answer to an unknown key, and to a bad signature: code, status, message. */
const AUTH_FAILURES: Record<
  string,
  { unknown: [string, number, string]; signature: [string, number, string] }
> = {
  ec2: {
    unknown: ["AuthFailure", 401, "AWS was not able to validate the provided access credentials"],
    signature: ["AuthFailure", 401, "AWS was not able to validate the provided access credentials"],
  },
  query: {
    unknown: ["InvalidClientTokenId", 403, "The security token included in the request is invalid."],
    signature: [
      "SignatureDoesNotMatch",
      403,
      "The request signature we calculated does not match the signature you provided.",
    ],
  },
  s3: {
    unknown: ["InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."],
    signature: [
      "SignatureDoesNotMatch",
      403,
      "The request signature we calculated does not match the signature you provided.",
    ],
  },
  lambda: {
    unknown: ["UnrecognizedClientException", 403, "The security token included in the request is invalid."],
    signature: [
      "InvalidSignatureException",
      403,
      "The request signature we calculated does not match the signature you provided.",
    ],
  },
};
const authFailure = (service: string, kind: "unknown" | "signature") => {
  const [code, status, message] = (AUTH_FAILURES[service] ?? AUTH_FAILURES.query!)[kind];
  return new Fault(code, message, status);
};

/** Options of {@link startAwsStandIn}. */
export interface AwsStandInOptions {
  /** The account of the master key (default 999988887777). */
  masterAccount?: string;
}

/** Starts the stand-in on a free loopback port. */
export async function startAwsStandIn(options: AwsStandInOptions = {}) {
  const masterAccount = options.masterAccount ?? "999988887777";
  const master = { accessKeyId: `AKIA${randomId(16)}`, secretAccessKey: randomBytes(30).toString("base64") };
  const accounts = new Map<string, StandInAccount>();
  const issued: IssuedSession[] = [];
  const requests: RecordedRequest[] = [];
  const scripted = new Map<string, ScriptedFault[]>();
  /** `pageSize`: the most items per page whatever is asked; `omitBucketRegion`: see RestCall. */
  const state = { pageSize: 1000, omitBucketRegion: false };

  function account(id: string): StandInAccount {
    let found = accounts.get(id);
    if (!found) accounts.set(id, found = new StandInAccount(id));
    return found;
  }

  function keyOf(accessKeyId: string | undefined) {
    if (accessKeyId === master.accessKeyId) {
      return { secret: master.secretAccessKey, session: undefined, accountId: masterAccount };
    }
    const session = issued.find((s) => s.accessKeyId === accessKeyId && !s.revoked);
    return session ? { secret: session.secretAccessKey, session, accountId: session.accountId } : undefined;
  }

  function sts(record: RecordedRequest, caller: NonNullable<ReturnType<typeof keyOf>>): string {
    if (record.action === "GetCallerIdentity") {
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
    if (record.action !== "AssumeRole") {
      throw new Fault(
        "InvalidAction",
        `Could not find operation ${record.action} for version 2011-06-15`,
        400,
      );
    }
    const arn = record.params.RoleArn ?? "";
    const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
    const denied = new Fault(
      "AccessDenied",
      `User: arn:aws:iam::${masterAccount}:user/troupe is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
      403,
    );
    if (caller.session || !m) throw denied;
    const [, accountId = "", roleName = ""] = m;
    const trust = accounts.get(accountId)?.roles.get(roleName);
    if (!trust || (trust.externalId !== undefined && trust.externalId !== record.params.ExternalId)) {
      throw denied;
    }
    const session: IssuedSession = {
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(200).toString("base64")}`,
      expiration: new Date(Date.now() + Number(record.params.DurationSeconds ?? 3600) * 1000),
      accountId,
      roleName,
      sessionName: record.params.RoleSessionName ?? "",
      revoked: false,
    };
    issued.push(session);
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
        el("AssumedRoleId", `AROA${randomId(17)}:${session.sessionName}`),
        el("Arn", `arn:aws:sts::${accountId}:assumed-role/${roleName}/${session.sessionName}`),
      ),
    );
  }

  /** The body of a successful answer, or a Fault: authentication, region, scripts, then the model. */
  function answer(record: RecordedRequest, url: URL, known: ReturnType<typeof keyOf>): string {
    const service = record.service;
    const family = service === "rds" || service === "elasticache" || service === "sts" ? "query" : service;
    if (!known) throw authFailure(family, "unknown");
    if (!record.signatureValid) throw authFailure(family, "signature");
    if (known.session && record.securityToken !== known.session.sessionToken) {
      throw authFailure(family, "unknown");
    }
    const owner = account(known.accountId);
    const regional = service !== "sts" && service !== "s3";
    if (regional && owner.regions.get(record.region)?.optInStatus === "not-opted-in") {
      throw authFailure(family, "unknown");
    }
    const queue = scripted.get(record.action);
    const at = queue?.findIndex((s) => s.region === undefined || s.region === record.region) ?? -1;
    if (queue && at >= 0) {
      const [script] = queue.splice(at, 1);
      throw new Fault(
        script!.code,
        script!.message ?? `Scripted ${script!.code}`,
        script!.status,
        script!.retryAfter,
      );
    }
    if (service === "sts") return sts(record, known);
    const model: RegionModel = owner.regions.get(record.region) ??
      new StandInAccount("").region(record.region);
    if (service === "s3" || service === "lambda") {
      const call: RestCall = {
        action: record.action,
        path: url.pathname,
        query: url.searchParams,
        account: owner,
        region: record.region,
        model,
        cap: state.pageSize,
        omitBucketRegion: state.omitBucketRegion,
      };
      return service === "s3" ? s3Answer(call) : lambdaAnswer(call);
    }
    const call: QueryCall = {
      action: record.action,
      params: record.params,
      account: owner,
      region: record.region,
      model,
      cap: state.pageSize,
    };
    if (service === "ec2") return ec2Answer(call);
    if (service === "rds") return rdsAnswer(call);
    if (service === "elasticache") return elastiCacheAnswer(call);
    throw new Fault("UnknownService", `No service ${service}`, 400);
  }

  function send(res: ServerResponse, record: RecordedRequest, result: string | Fault): void {
    const status = result instanceof Fault ? result.status : 200;
    record.status = status;
    const id = record.requestId;
    const headers: Record<string, string> = { "x-amzn-requestid": id };
    if (result instanceof Fault && result.retryAfter !== undefined) {
      headers["retry-after"] = String(result.retryAfter);
    }
    let body: string;
    const ns = record.service === "rds" ? RDS_NS : record.service === "elasticache" ? ELASTICACHE_NS : STS_NS;
    if (record.service === "lambda") {
      headers["content-type"] = "application/json";
      if (result instanceof Fault) {
        headers["x-amzn-errortype"] =
          `${result.code}:http://internal.amazon.com/coral/com.amazonaws.awslambda/`;
      }
      body = result instanceof Fault ? lambdaError(result) : result;
    } else if (record.service === "s3") {
      headers["content-type"] = "application/xml";
      headers["x-amz-request-id"] = id;
      headers["x-amz-id-2"] = "stand-in";
      body = result instanceof Fault ? s3Error(result, id) : result;
    } else if (record.service === "ec2") {
      headers["content-type"] = "text/xml;charset=UTF-8";
      body = result instanceof Fault ? ec2Error(result, id) : ec2Response(record.action, result, id);
    } else {
      headers["content-type"] = "text/xml";
      body = result instanceof Fault
        ? queryError(ns, result, id)
        : queryResponse(ns, record.action, result, id);
    }
    res.writeHead(status, headers);
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://stand-in");
    const auth = parseAuthorization(req.headers.authorization);
    const service = auth?.service ?? "unknown";
    const method = req.method ?? "GET";
    const rest = service === "s3" || service === "lambda";
    const params = rest
      ? Object.fromEntries(url.searchParams)
      : Object.fromEntries(new URLSearchParams(body.toString("utf8")));
    const action = service === "s3"
      ? s3Action(method, url.pathname, url.searchParams)
      : service === "lambda"
      ? lambdaAction(method, url.pathname)
      : params.Action ?? "";
    const known = keyOf(auth?.accessKeyId);
    const record: RecordedRequest = {
      service,
      region: auth?.region ?? "",
      action,
      method,
      path: url.pathname,
      params,
      accessKeyId: auth?.accessKeyId,
      securityToken: req.headers["x-amz-security-token"] as string | undefined,
      signatureValid: auth !== undefined && known !== undefined && verifySigV4(req, body, auth, known.secret),
      requestId: randomUUID(),
    };
    requests.push(record);
    let result: string | Fault;
    try {
      result = answer(record, url, known);
    } catch (error) {
      result = error instanceof Fault ? error : new Fault("InternalFailure", String(error), 500);
    }
    send(res, record, result);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    /** Static master credentials the stand-in accepts (of account `masterAccount`). */
    master,
    masterAccount,
    issued,
    requests,
    state,
    account,
    /** The requests of one action (optionally of one region), in order. */
    calls(action: string, region?: string): RecordedRequest[] {
      return requests.filter((r) => r.action === action && (region === undefined || r.region === region));
    },
    /** The next `times` calls of `action` (of `fault.region` when set) answer `fault`. */
    failNext(action: string, fault: ScriptedFault, times = 1): void {
      const list = scripted.get(action) ?? [];
      for (let i = 0; i < times; i++) list.push(fault);
      scripted.set(action, list);
    },
    /** Makes every issued session unknown from now on (as if revoked or expired). */
    revokeSessions(): void {
      for (const session of issued) session.revoked = true;
    },
    close(): Promise<void> {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running stand-in. */
export type AwsStandIn = Awaited<ReturnType<typeof startAwsStandIn>>;
