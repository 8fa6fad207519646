/**
 * The one AWS stand-in, for every AWS test (the `aws.iam.policy` kind and
 * discovery.aws): one real HTTP server on 127.0.0.1 that tells services apart
 * by the SigV4 credential scope (`sts`, `iam`, `ec2`, `rds`, `elasticache`,
 * `s3`, `lambda`) and answers each in its own wire format (sts.ts, iam.ts,
 * query.ts, rest.ts). It checks signatures (sigv4.ts) with the keys it knows
 * (the master key and the sessions it issued through STS AssumeRole, until
 * they expire on its clock or are revoked), refuses others with each
 * service's documented auth failure, refuses calls to regions the account has
 * not opted in to, records every request and can be told to fail the next
 * calls of an action (throttling with `Retry-After`, 5xx) or to delay them.
 */
import { Buffer } from "node:buffer";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { IAM_NS, iamAction } from "./iam.ts";
import { Fault, type RegionModel, StandInAccount } from "./model.ts";
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
} from "./query.ts";
import {
  lambdaAction,
  lambdaAnswer,
  lambdaError,
  type RestCall,
  s3Action,
  s3Answer,
  s3Error,
} from "./rest.ts";
import { parseAuthorization, verifySigV4 } from "./sigv4.ts";
import { type IssuedSession, STS_NS, stsAnswer } from "./sts.ts";
import { randomId } from "./xml.ts";

export { StandInAccount } from "./model.ts";
export type { IssuedSession } from "./sts.ts";

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
  /** The SDK's `amz-sdk-invocation-id`: one per call, the same on the SDK's own retries. */
  invocationId: string | undefined;
  status?: number;
  requestId: string;
}

/** A scripted answer for the next calls of an action. */
export interface ScriptedFault {
  code: string;
  /** Default: the code's usual status (model.ts ERROR_STATUS), else 400. */
  status?: number;
  /** AWS's message, or a function of the request (to echo what it carried). */
  message?: string | ((request: RecordedRequest) => string);
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
  /** The stand-in's clock (expirations it issues and checks). */
  now?: () => number;
  /** Most items per page whatever is asked (default 1000; lower it to force pagination). */
  pageSize?: number;
  /** Most managed policies per IAM principal (IAM's default quota is 10). */
  maxAttachments?: number;
}

/** Starts the stand-in on a free loopback port. */
export async function startAwsStandIn(options: AwsStandInOptions = {}) {
  const masterAccount = options.masterAccount ?? "999988887777";
  const now = options.now ?? Date.now;
  const master = { accessKeyId: `AKIA${randomId(16)}`, secretAccessKey: randomBytes(30).toString("base64") };
  const accounts = new Map<string, StandInAccount>();
  const issued: IssuedSession[] = [];
  const requests: RecordedRequest[] = [];
  const scripted = new Map<string, ScriptedFault[]>();
  const delays = new Map<string, number[]>();
  /** AWS managed policies (`arn:aws:iam::aws:policy/…`) that exist. */
  const awsManaged = new Set([
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/SecurityAudit",
  ]);
  /**
   * `pageSize`: the most items per page whatever is asked; `maxAttachments`: IAM's
   * policies-per-principal quota; `omitBucketRegion`: see RestCall.
   */
  const state = {
    pageSize: options.pageSize ?? 1000,
    maxAttachments: options.maxAttachments ?? 10,
    omitBucketRegion: false,
  };

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

  /** The body of a successful answer, or a Fault: authentication, region, scripts, then the model. */
  function answer(record: RecordedRequest, url: URL, known: ReturnType<typeof keyOf>): string {
    const service = record.service;
    const family = service === "ec2" || service === "s3" || service === "lambda" ? service : "query";
    if (!known) throw authFailure(family, "unknown");
    if (!record.signatureValid) throw authFailure(family, "signature");
    if (known.session && record.securityToken !== known.session.sessionToken) {
      throw authFailure(family, "unknown");
    }
    if (known.session && known.session.expiration.getTime() <= now()) {
      throw new Fault("ExpiredToken", "The security token included in the request is expired", 403);
    }
    const owner = account(known.accountId);
    const regional = service !== "sts" && service !== "iam" && service !== "s3";
    if (regional && owner.regions.get(record.region)?.optInStatus === "not-opted-in") {
      throw authFailure(family, "unknown");
    }
    const queue = scripted.get(record.action);
    const at = queue?.findIndex((s) => s.region === undefined || s.region === record.region) ?? -1;
    if (queue && at >= 0) {
      const [script] = queue.splice(at, 1);
      const message = typeof script!.message === "function" ? script!.message(record) : script!.message;
      throw new Fault(
        script!.code,
        message ?? `Scripted ${script!.code}`,
        script!.status,
        script!.retryAfter,
      );
    }
    if (service === "sts") {
      return stsAnswer({
        action: record.action,
        params: record.params,
        caller: known,
        masterAccount,
        accounts,
        issued,
        now,
      });
    }
    if (service === "iam") {
      if (!known.session) {
        throw new Fault("AccessDenied", `User is not authorized to perform: iam:${record.action}`, 403);
      }
      return iamAction(record.action, record.params, owner, { awsManaged, ...state });
    }
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
    const ns = record.service === "rds"
      ? RDS_NS
      : record.service === "elasticache"
      ? ELASTICACHE_NS
      : record.service === "iam"
      ? IAM_NS
      : STS_NS;
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
      invocationId: req.headers["amz-sdk-invocation-id"] as string | undefined,
      requestId: randomUUID(),
    };
    requests.push(record);
    const wait = delays.get(record.action)?.shift();
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
    awsManaged,
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
    /** The next call of `action` waits `ms` before answering (less if the client goes away). */
    delayNext(action: string, ms: number): void {
      delays.set(action, [...(delays.get(action) ?? []), ms]);
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
