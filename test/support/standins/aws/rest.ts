/**
 * The REST services of the AWS stand-in: S3 (REST XML: `ListAllMyBucketsResult`
 * with `ContinuationToken` and `BucketRegion`, `LocationConstraint`, `<Error>`
 * documents) and Lambda (REST JSON: `GET /2015-03-31/functions/` with `Marker`
 * and `MaxItems`, errors typed by the `x-amzn-ErrorType` header).
 */
import { el, wrap } from "./xml.ts";
import { Fault, paginate, type RegionModel, type StandInAccount } from "./model.ts";

export const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** What a REST action sees. */
export interface RestCall {
  action: string;
  path: string;
  query: URLSearchParams;
  account: StandInAccount;
  region: string;
  model: RegionModel;
  cap: number;
  /** Leave `BucketRegion` out of ListBuckets (as S3 does for a request without parameters). */
  omitBucketRegion: boolean;
}

/** The S3 operation of a request: `ListBuckets`, `GetBucketLocation` or `Unsupported`. */
export function s3Action(method: string, path: string, query: URLSearchParams): string {
  if (method === "GET" && path === "/") return "ListBuckets";
  if (method === "GET" && /^\/[^/]+\/?$/.test(path) && query.has("location")) return "GetBucketLocation";
  return "Unsupported";
}

/** The Lambda operation of a request: `ListFunctions` or `Unsupported`. */
export function lambdaAction(method: string, path: string): string {
  return method === "GET" && /^\/2015-03-31\/functions\/?$/.test(path) ? "ListFunctions" : "Unsupported";
}

function count(
  raw: string | null,
  name: string,
  min: number,
  max: number,
  fault: (m: string) => Fault,
): number {
  if (raw === null) return max;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw fault(`${name} must be between ${min} and ${max}`);
  return n;
}

/** The XML body of an S3 answer. */
export function s3Answer(call: RestCall): string {
  const invalid = (message: string) => new Fault("InvalidArgument", message, 400);
  if (call.action === "ListBuckets") {
    const q = call.query;
    const filter = q.get("bucket-region");
    const prefix = q.get("prefix") ?? "";
    const buckets = call.account.buckets
      .filter((b) => (filter === null || b.region === filter) && b.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
    const { page, next } = paginate(buckets, {
      token: q.get("continuation-token") ?? undefined,
      asked: count(q.get("max-buckets"), "max-buckets", 1, 10_000, invalid),
      cap: call.cap,
      scope: "ListBuckets",
      invalid,
    });
    const parameterised = ["max-buckets", "continuation-token", "prefix", "bucket-region"].some((p) =>
      q.has(p)
    );
    const withRegion = parameterised && !call.omitBucketRegion;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="${S3_NS}">${
      wrap("Owner", el("ID", `owner-${call.account.id}`), el("DisplayName", "owner"))
    }${
      wrap(
        "Buckets",
        ...page.map((b) =>
          wrap(
            "Bucket",
            el("Name", b.name),
            el("CreationDate", b.created),
            withRegion ? el("BucketRegion", b.region) : "",
          )
        ),
      )
    }${next ? el("ContinuationToken", next) : ""}${
      prefix ? el("Prefix", prefix) : ""
    }</ListAllMyBucketsResult>`;
  }
  if (call.action === "GetBucketLocation") {
    const name = call.path.replace(/^\/|\/$/g, "");
    const bucket = call.account.buckets.find((b) => b.name === name);
    if (!bucket) throw new Fault("NoSuchBucket", "The specified bucket does not exist", 404);
    const location = bucket.region === "us-east-1" ? "" : bucket.region;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${location}</LocationConstraint>`;
  }
  throw new Fault(
    "NotImplemented",
    "A header you provided implies functionality that is not implemented",
    501,
  );
}

/** S3's error document. */
export function s3Error(fault: Fault, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${
    wrap(
      "Error",
      el("Code", fault.code),
      el("Message", fault.message),
      el("RequestId", requestId),
      el("HostId", "stand-in"),
    )
  }`;
}

/** The JSON body of a Lambda answer. */
export function lambdaAnswer(call: RestCall): string {
  if (call.action !== "ListFunctions") throw new Fault("ResourceNotFoundException", "Unknown operation", 404);
  const invalid = (message: string) => new Fault("InvalidParameterValueException", message, 400);
  const { page, next } = paginate(call.model.functions, {
    token: call.query.get("Marker") ?? undefined,
    asked: Math.min(50, count(call.query.get("MaxItems"), "MaxItems", 1, 10_000, invalid)),
    cap: call.cap,
    scope: `ListFunctions/${call.region}`,
    invalid,
  });
  const functions = page.map((f) => ({
    FunctionName: f.name,
    FunctionArn: `arn:aws:lambda:${call.region}:${call.account.id}:function:${f.name}`,
    Runtime: f.runtime,
    Role: `arn:aws:iam::${call.account.id}:role/${f.name}-role`,
    Handler: f.handler,
    CodeSize: 1024,
    Description: "",
    Timeout: 3,
    MemorySize: f.memory,
    LastModified: "2024-05-01T12:00:00.000+0000",
    CodeSha256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    Version: "$LATEST",
    ...(f.vpc
      ? {
        VpcConfig: {
          SubnetIds: f.vpc.subnetIds,
          SecurityGroupIds: f.vpc.groupIds,
          VpcId: f.vpc.vpcId,
          Ipv6AllowedForDualStack: false,
        },
      }
      : {}),
    TracingConfig: { Mode: "PassThrough" },
    PackageType: "Zip",
    Architectures: ["x86_64"],
    EphemeralStorage: { Size: 512 },
  }));
  return JSON.stringify({ Functions: functions, NextMarker: next ?? null });
}

/** Lambda's error answer: the body (the type goes in `x-amzn-ErrorType`). */
export function lambdaError(fault: Fault): string {
  return JSON.stringify({
    Type: fault.status >= 500 ? "Service" : "User",
    message: fault.message,
    ...(fault.status === 429 ? { Reason: "CallerRateLimitExceeded" } : {}),
  });
}
