/**
 * The discovery port: the sync port (adapters/sync/port.ts) for cloud and
 * cluster inventory. A provider turns a target (one account, project,
 * subscription or cluster) into sources, one per resource type and region,
 * whose pages carry {@link DiscoveredResource}s written to `resources`.
 *
 * @module
 */
import type { SyncPage, SyncProvider, SyncSource, SyncTarget } from "../sync/port.ts";
export { PAGE_TOKEN_EXPIRED } from "../sync/port.ts";

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

/**
 * What a discovery source lists in full when all its pages succeed: the types,
 * and the region (null: every region of the scope, e.g. S3 buckets, aggregated
 * GCP lists, Kubernetes). A fully successful sync marks resources of these
 * types and region that it did not see as deleted.
 */
export interface ResourceCovers {
  types: string[];
  region: string | null;
}

/** One page of a discovery source. */
export type DiscoveryPage = SyncPage<DiscoveredResource, ResourceCovers>;

/** One listing: a resource type (or a few) in one region, read page by page. */
export type DiscoverySource = SyncSource<DiscoveredResource, ResourceCovers>;

/** What to inventory: `scope` is the account id, project id, subscription id or cluster (kubeconfig context) name. */
export type DiscoveryTarget = SyncTarget;

/** A provider of inventory. */
export interface DiscoveryProvider extends SyncProvider<DiscoveredResource, ResourceCovers> {
  readonly provider: ProviderName;
}
