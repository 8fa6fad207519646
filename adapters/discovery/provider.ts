/**
 * The discovery port: what a cloud or cluster provider implements so the sync
 * engine (sync.ts) can inventory it. A provider turns a target (one account,
 * project, subscription or cluster) into sources, one per resource type and
 * region; a source lists its resources page by page from an explicit token, so
 * the engine can retry exactly the page that was throttled and name the pages
 * that failed.
 *
 * Providers never read the environment or log credentials: endpoints and
 * credentials are injected; errors are typed (`TransientError` with
 * `retryAfterMs` for throttling, 5xx and timeouts; `PermanentError` for bad
 * credentials, access denied, not found), and their messages never carry a secret.
 *
 * @module
 */

/** Where inventory comes from; the `provider` column of `resources`. */
export const PROVIDERS = ["aws", "gcp", "azure", "kubernetes"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/**
 * What a resource is, for the reference schema's views: compute → `entities`,
 * network → `networking_resources`, data → `data_stores`, service → `services`.
 * Identity (service accounts, role bindings) and other have no view.
 */
export type ResourceCategory = "compute" | "network" | "data" | "service" | "identity" | "other";

/** An edge from a resource to another one of the same provider and scope. */
export interface ResourceLink {
  /**
   * What the edge means, from the resource's side: `in` (instance in subnet,
   * subnet in VPC, pod in namespace), `secured-by` (instance → security group),
   * `attached` (pod → persistent volume), `runs-as` (pod → service account),
   * `selects` (service → pod), `binds` (role binding → service account)...
   */
  relation: string;
  /** The other resource's type and external id. */
  type: string;
  externalId: string;
}

/** One resource as a provider sees it. */
export interface DiscoveredResource {
  /** Provider-specific, dotted, stable: `ec2.instance`, `compute.network`, `pod`. */
  type: string;
  category: ResourceCategory;
  /** Unique within provider, scope and type (an id, ARN, self link, ARM id or `namespace/name`). */
  externalId: string;
  name: string | null;
  /** Region, zone or location; null for global resources (and Kubernetes). */
  region: string | null;
  /** What else is worth keeping (state, tags, sizes...); JSON, no credentials. */
  attributes: Record<string, unknown>;
  links?: ResourceLink[];
}

/** One page of a source. */
export interface DiscoveryPage {
  resources: DiscoveredResource[];
  /** The token of the next page; absent on the last page. */
  next?: string;
}

/**
 * The code of a `TransientError` saying a page token expired (Kubernetes' 410
 * Gone for an old `continue`): the engine reads that source again from its
 * first page instead of retrying the token.
 */
export const PAGE_TOKEN_EXPIRED = "PAGE_TOKEN_EXPIRED";

/** One listing: a resource type (or a few) in one region, read page by page. */
export interface DiscoverySource {
  /** Human-readable and stable within a run: `ec2.instance us-east-1`. */
  name: string;
  /**
   * What this source lists in full when all its pages succeed: the types, and
   * the region (null: every region of the scope, e.g. S3 buckets, aggregated
   * GCP lists, Kubernetes). A fully successful sync marks resources of these
   * types and region that it did not see as deleted.
   */
  covers: { types: string[]; region: string | null };
  /**
   * Fetches one page: the first with `token` undefined, the next with the
   * previous page's `next`. Calling again with the same token after a
   * `TransientError` fetches the same page again.
   */
  fetchPage(token: string | undefined, signal: AbortSignal): Promise<DiscoveryPage>;
}

/** What to inventory. */
export interface DiscoveryTarget {
  /** The account id, project id, subscription id or cluster (kubeconfig context) name. */
  scope: string;
  /** Only these regions; unset: every region enabled for the scope. */
  regions?: string[];
  /**
   * Resolved credentials (from the environment or a mounted secret file, by
   * the payload's credentials reference); unset: the SDK's default chain.
   * Secret: never log or echo any of it.
   */
  credentials?: Record<string, unknown>;
  org: string | null;
}

/** A provider of inventory. */
export interface DiscoveryProvider {
  readonly provider: ProviderName;
  /**
   * Plans one sync of a target: which sources to read (for AWS this asks for
   * the account's enabled regions after assuming its role). Throws typed errors.
   */
  plan(target: DiscoveryTarget, signal: AbortSignal): Promise<DiscoverySource[]>;
  /**
   * The scope a payload without one means, where the provider can tell from its
   * credentials (the caller's AWS account, the kubeconfig's current context).
   * Absent: the payload must name a scope.
   */
  defaultScope?(credentials: Record<string, unknown> | undefined, signal: AbortSignal): Promise<string>;
  /** Releases clients and connections. */
  close?(): void | Promise<void>;
}
