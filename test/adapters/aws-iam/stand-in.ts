/**
 * A stand-in for AWS STS and IAM: a real HTTP server on 127.0.0.1 that speaks the
 * Query APIs' wire format (form-encoded `Action=…&Version=…` bodies, XML answers,
 * `ErrorResponse` errors with their HTTP statuses and `x-amzn-RequestId`), checks
 * SigV4 signatures with the keys it knows, keeps a small IAM model per account
 * (stand-in-iam.ts), records every request and can be told to fail or delay the
 * next calls of an action.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AwsFault, el, iamAction, randomId, StandInAccount, wrap } from "./stand-in-iam.ts";

export { StandInAccount } from "./stand-in-iam.ts";

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";

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

/** Options of {@link startStandIn}. */
export interface StandInOptions {
  /** The stand-in's clock (expirations it issues and checks). */
  now?: () => number;
  /** Most items per List page (default 100; lower it to force pagination). */
  pageSize?: number;
  /** Most managed policies per principal (IAM's default quota is 10). */
  maxAttachments?: number;
}

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** Whether a request carries a valid SigV4 signature (header form) made with `secret`. */
export function verifySignature(req: IncomingMessage, body: string, secret: string): boolean {
  const m = SIGV4.exec(String(req.headers.authorization ?? ""));
  if (!m) return false;
  const [, , date = "", region = "", service = "", signedHeaders = "", signature] = m;
  const header = (name: string) => String(req.headers[name] ?? "").trim().replace(/\s+/g, " ");
  const canonicalHeaders = signedHeaders.split(";").map((name) => `${name}:${header(name)}\n`).join("");
  const url = new URL(req.url ?? "/", "http://stand-in");
  const canonical = [
    req.method,
    url.pathname,
    url.searchParams.toString(),
    canonicalHeaders,
    signedHeaders,
    sha256(body),
  ];
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", header("x-amz-date"), scope, sha256(canonical.join("\n"))].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
  return createHmac("sha256", key).update(toSign).digest("hex") === signature;
}

/** Starts the stand-in on a free loopback port. */
export async function startStandIn(options: StandInOptions = {}) {
  const now = options.now ?? Date.now;
  const master = { accessKeyId: `AKIA${randomId(16)}`, secretAccessKey: randomBytes(30).toString("base64") };
  const accounts = new Map<string, StandInAccount>();
  const awsManaged = new Set([
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/SecurityAudit",
  ]);
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

  function assumeRole(params: Record<string, string>, caller: IssuedSession | undefined): string {
    const arn = params.RoleArn ?? "";
    const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
    const denied = new AwsFault(
      "AccessDenied",
      `User: arn:aws:iam::000000000000:user/troupe is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
    if (caller || !m) throw denied;
    const [, accountId = "", roleName = ""] = m;
    const trust = accounts.get(accountId)?.trusted.get(roleName);
    if (!trust || (trust.externalId !== undefined && trust.externalId !== params.ExternalId)) throw denied;
    const sessionName = params.RoleSessionName ?? "";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      const detail = `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`;
      throw new AwsFault("ValidationError", `1 validation error detected: ${detail}`);
    }
    const session: IssuedSession = {
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(200).toString("base64")}`,
      expiration: new Date(now() + Number(params.DurationSeconds ?? 3600) * 1000),
      accountId,
      roleName,
      sessionName,
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
        el("AssumedRoleId", `AROA${randomId(17)}:${sessionName}`),
        el("Arn", `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`),
      ),
    );
  }

  /** The result element of one call, or an AwsFault: authentication, scripts, then the model. */
  function answer(record: RecordedRequest, known: ReturnType<typeof keyOf>): string {
    const invalidToken = "The security token included in the request is invalid.";
    if (!known) throw new AwsFault("InvalidClientTokenId", invalidToken);
    if (!record.signatureValid) {
      throw new AwsFault(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
    }
    const session = known.session;
    if (session && record.securityToken !== session.sessionToken) {
      throw new AwsFault("InvalidClientTokenId", invalidToken);
    }
    if (session && session.expiration.getTime() <= now()) {
      throw new AwsFault("ExpiredToken", "The security token included in the request is expired");
    }
    const script = scripted.get(record.action)?.shift();
    if (script) {
      const message = typeof script.message === "function" ? script.message(record) : script.message;
      throw new AwsFault(script.code, message ?? `Scripted ${script.code}`, script.retryAfter, script.status);
    }
    if (record.service === "sts") {
      if (record.action === "AssumeRole") return assumeRole(record.params, session);
      throw new AwsFault("InvalidAction", `Could not find operation ${record.action} for version 2011-06-15`);
    }
    if (!session) {
      throw new AwsFault("AccessDenied", `User is not authorized to perform: iam:${record.action}`);
    }
    return iamAction(record.action, record.params, account(session.accountId), { awsManaged, ...state });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const params = Object.fromEntries(new URLSearchParams(body));
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1];
    const known = keyOf(accessKeyId);
    const requestId = randomUUID();
    const record: RecordedRequest = {
      service: params.Version === "2011-06-15" ? "sts" : "iam",
      action: params.Action ?? "",
      params,
      accessKeyId,
      securityToken: req.headers["x-amz-security-token"] as string | undefined,
      invocationId: req.headers["amz-sdk-invocation-id"] as string | undefined,
      signatureValid: known !== undefined && verifySignature(req, body, known.secret),
      requestId,
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
    const ns = record.service === "sts" ? STS_NS : IAM_NS;
    const headers: Record<string, string> = { "content-type": "text/xml", "x-amzn-RequestId": requestId };
    const metadata = wrap("ResponseMetadata", el("RequestId", requestId));
    try {
      const result = answer(record, known);
      record.status = 200;
      res.writeHead(200, headers);
      res.end(`<${record.action}Response xmlns="${ns}">${result}${metadata}</${record.action}Response>`);
    } catch (error) {
      const fault = error instanceof AwsFault
        ? error
        : new AwsFault("ServiceFailure", String(error), undefined, 500);
      record.status = fault.status;
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      const type = fault.status >= 500 ? "Receiver" : "Sender";
      const detail = wrap("Error", el("Type", type), el("Code", fault.code), el("Message", fault.message));
      res.end(`<ErrorResponse xmlns="${ns}">${detail}${el("RequestId", requestId)}</ErrorResponse>`);
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
    /** The next call of `action` waits `ms` before answering (less if the client goes away). */
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
