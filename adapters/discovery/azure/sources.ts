/**
 * The sources of one subscription: virtual machines, virtual networks (with
 * their subnets), storage accounts and managed clusters, each listed
 * subscription-wide with the official ARM client, one HTTP request per
 * `fetchPage` (`byPage({ continuationToken })`, the token being ARM's
 * `nextLink`).
 *
 * ARM lists are not regional: without `target.regions` each source covers
 * every region (`region: null`); with them there is one source per type and
 * region, covering that region, which lists the subscription and keeps that
 * region's resources (so each listing is read once per region).
 *
 * @module
 */
import { ComputeManagementClient } from "@azure/arm-compute";
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { NetworkManagementClient } from "@azure/arm-network";
import { StorageManagementClient } from "@azure/arm-storage";
import type { TokenCredential } from "@azure/identity";
import type { Agent } from "node:https";
import type { DiscoveredResource, DiscoverySource } from "../provider.ts";
import { classifyAzureError } from "./classify.ts";
import {
  AZURE_TYPES,
  fromManagedCluster,
  fromStorageAccount,
  fromVirtualMachine,
  fromVirtualNetwork,
  normaliseRegion,
} from "./resources.ts";
import { type ArmPipeline, attachSlotPolicy, type PageSlot, pipelineOptions } from "./transport.ts";

/** A page as the ARM clients' `byPage()` yields it. */
type ArmPage<T> = T[] & { continuationToken?: string };

/** Everything the sources of one plan share. */
export interface SourceContext {
  subscriptionId: string;
  credential: TokenCredential;
  agent: Agent;
  endpoint: string;
  /** The token scope for ARM: `<audience>/.default`. */
  scope: string;
  /** Most milliseconds one page may take. */
  pageTimeoutMs: number;
  secrets: readonly string[];
}

interface Listing<T> {
  /** The ARM collection, for names and messages. */
  collection: string;
  types: string[];
  /** A fresh client; the source attaches its abort-signal policy to `pipeline`. */
  client(
    options: ReturnType<typeof clientOptions>,
  ): { pipeline: ArmPipeline; pages(token: string | undefined): AsyncIterableIterator<ArmPage<T>> };
  map(item: T): DiscoveredResource[];
}

function clientOptions(context: SourceContext) {
  return {
    ...pipelineOptions(context.agent),
    endpoint: context.endpoint,
    credentials: { scopes: [context.scope] },
  };
}

/** The four listings, each with its client. */
function listings(context: SourceContext) {
  const sub = context.subscriptionId;
  const virtualMachines: Listing<Parameters<typeof fromVirtualMachine>[0]> = {
    collection: "Microsoft.Compute/virtualMachines",
    types: [AZURE_TYPES.virtualMachine],
    client(options) {
      const client = new ComputeManagementClient(context.credential, sub, options);
      return {
        pipeline: client.pipeline,
        pages: (token) => client.virtualMachines.listAll().byPage(pageSettings(token)),
      };
    },
    map: fromVirtualMachine,
  };
  const virtualNetworks: Listing<Parameters<typeof fromVirtualNetwork>[0]> = {
    collection: "Microsoft.Network/virtualNetworks",
    types: [AZURE_TYPES.virtualNetwork, AZURE_TYPES.subnet],
    client(options) {
      const client = new NetworkManagementClient(context.credential, sub, options);
      return {
        pipeline: client.pipeline,
        pages: (token) => client.virtualNetworks.listAll().byPage(pageSettings(token)),
      };
    },
    map: fromVirtualNetwork,
  };
  const storageAccounts: Listing<Parameters<typeof fromStorageAccount>[0]> = {
    collection: "Microsoft.Storage/storageAccounts",
    types: [AZURE_TYPES.storageAccount],
    client(options) {
      const client = new StorageManagementClient(context.credential, sub, options);
      return {
        pipeline: client.pipeline,
        pages: (token) => client.storageAccounts.list().byPage(pageSettings(token)),
      };
    },
    map: fromStorageAccount,
  };
  const managedClusters: Listing<Parameters<typeof fromManagedCluster>[0]> = {
    collection: "Microsoft.ContainerService/managedClusters",
    types: [AZURE_TYPES.managedCluster],
    client(options) {
      const client = new ContainerServiceClient(context.credential, sub, options);
      return {
        pipeline: client.pipeline,
        pages: (token) => client.managedClusters.list().byPage(pageSettings(token)),
      };
    },
    map: fromManagedCluster,
  };
  return [virtualMachines, virtualNetworks, storageAccounts, managedClusters] as Listing<unknown>[];
}

const pageSettings = (token: string | undefined) => (token === undefined ? {} : { continuationToken: token });

function source<T>(listing: Listing<T>, context: SourceContext, region: string | null): DiscoverySource {
  const slot: PageSlot = { signal: undefined, armError: undefined };
  const client = listing.client(clientOptions(context));
  attachSlotPolicy(client.pipeline, slot);
  const operation = `Azure ${listing.collection} list (subscription ${context.subscriptionId})`;
  return {
    name: `${listing.types[0]} ${region ?? "all regions"}`,
    covers: { types: listing.types, region },
    async fetchPage(token, signal) {
      const timeout = AbortSignal.timeout(context.pageTimeoutMs);
      slot.signal = AbortSignal.any([signal, timeout]);
      slot.armError = undefined;
      const pages = client.pages(token);
      try {
        const { value } = await pages.next();
        const page: ArmPage<T> = value ?? [];
        const resources = page.flatMap((item) => listing.map(item))
          .filter((resource) => region === null || resource.region === region);
        return page.continuationToken
          ? { items: resources, next: page.continuationToken }
          : { items: resources };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw classifyAzureError(error, {
          operation,
          secrets: context.secrets,
          timedOut: timeout.aborted,
          armError: slot.armError,
        });
      } finally {
        slot.signal = undefined;
        await pages.return?.();
      }
    },
  };
}

/** The sources of a subscription, one per listing (and per region when `regions` is given). */
export function subscriptionSources(
  context: SourceContext,
  regions: readonly string[] | undefined,
): DiscoverySource[] {
  const wanted = regions === undefined ? [null] : [...new Set(regions.map(normaliseRegion))];
  return listings(context).flatMap((listing) => wanted.map((region) => source(listing, context, region)));
}
