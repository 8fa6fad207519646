/**
 * The SDK clients of one set of credentials (an assumed-role session, or the
 * master credentials when no role is assumed): EC2, RDS, ElastiCache and Lambda
 * per region, S3 once. Made on first use; all share the connection pool (the
 * request handler) of the STS client that signed in, so closing the provider
 * closes them all.
 *
 * Retries: `maxAttempts` 1 by default (the sync engine retries a page).
 * Endpoints: a service's own override, else the base `endpoint`, else the SDK's
 * (which reads `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` itself).
 *
 * @module
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { RDSClient } from "@aws-sdk/client-rds";
import { S3Client } from "@aws-sdk/client-s3";
import type { STSClient } from "@aws-sdk/client-sts";

/** Endpoint overrides: one per service, or one base `endpoint` for all (a stand-in, a proxy). */
export interface AwsEndpoints {
  endpoint?: string;
  sts?: string;
  ec2?: string;
  rds?: string;
  elasticache?: string;
  s3?: string;
  lambda?: string;
}

/** Static credentials that sign the listing calls. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What every listing client shares. */
export interface ListingSettings {
  endpoints: AwsEndpoints;
  maxAttempts: number;
  /** The region S3's ListBuckets is signed for. */
  homeRegion: string;
  /** Path-style S3 URLs (`http://host/bucket`), which a stand-in or an S3-compatible store needs. */
  s3ForcePathStyle: boolean;
}

type Service = "ec2" | "rds" | "elasticache" | "lambda";

/** The configuration every client gets. */
interface CommonConfig {
  region: string;
  maxAttempts: number;
  requestHandler: STSClient["config"]["requestHandler"];
  endpoint?: string;
  credentials?: SigningCredentials;
}

/** The endpoint of a service: its own override, else the base one, else none (the SDK decides). */
export function endpointOf(endpoints: AwsEndpoints, service: keyof AwsEndpoints): { endpoint?: string } {
  const url = endpoints[service] ?? endpoints.endpoint;
  return url ? { endpoint: url } : {};
}

/** Lazily made clients of one set of credentials. */
export class ServiceClients {
  readonly #credentials: SigningCredentials | undefined;
  readonly #settings: ListingSettings;
  readonly #requestHandler: STSClient["config"]["requestHandler"];
  readonly #made = new Map<string, unknown>();

  /** `credentials` unset: the SDK's default provider chain. */
  constructor(sts: STSClient, credentials: SigningCredentials | undefined, settings: ListingSettings) {
    this.#credentials = credentials;
    this.#settings = settings;
    this.#requestHandler = sts.config.requestHandler;
  }

  ec2(region: string): EC2Client {
    return this.#get("ec2", region, (config) => new EC2Client(config));
  }

  rds(region: string): RDSClient {
    return this.#get("rds", region, (config) => new RDSClient(config));
  }

  elasticache(region: string): ElastiCacheClient {
    return this.#get("elasticache", region, (config) => new ElastiCacheClient(config));
  }

  lambda(region: string): LambdaClient {
    return this.#get("lambda", region, (config) => new LambdaClient(config));
  }

  s3(): S3Client {
    const key = "s3";
    let client = this.#made.get(key) as S3Client | undefined;
    if (!client) {
      client = new S3Client({
        ...this.#config("s3", this.#settings.homeRegion),
        forcePathStyle: this.#settings.s3ForcePathStyle,
      });
      this.#made.set(key, client);
    }
    return client;
  }

  #get<C>(service: Service, region: string, make: (config: CommonConfig) => C): C {
    const key = `${service} ${region}`;
    let client = this.#made.get(key) as C | undefined;
    if (!client) {
      client = make(this.#config(service, region));
      this.#made.set(key, client);
    }
    return client;
  }

  #config(service: Service | "s3", region: string): CommonConfig {
    const c = this.#credentials;
    return {
      region,
      maxAttempts: this.#settings.maxAttempts,
      requestHandler: this.#requestHandler,
      ...endpointOf(this.#settings.endpoints, service),
      ...(c
        ? {
          credentials: {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
          },
        }
        : {}),
    };
  }
}
