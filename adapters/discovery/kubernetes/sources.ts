/**
 * One discovery source per Kubernetes resource type: a cluster-wide list call
 * of the SDK's typed clients, read page by page with `limit` and `_continue`
 * (the API's `continue` token), each page a fresh call that honours the
 * engine's AbortSignal and a per-call timeout.
 *
 * @module
 */
import {
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  RbacAuthorizationV1Api,
  type V1ListMeta,
} from "@kubernetes/client-node";
import type { DiscoveredResource, DiscoverySource } from "../provider.ts";
import { classifyKubernetesError } from "./classify.ts";
import {
  clusterRoleBindingResource,
  deploymentResource,
  type KubernetesType,
  namespaceResource,
  persistentVolumeResource,
  podResource,
  roleBindingResource,
  serviceAccountResource,
  serviceResource,
} from "./resources.ts";

/** The typed API clients of one cluster. */
export interface KubernetesClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
}

/** Makes the typed clients of a kubeconfig whose context is selected. */
export function makeClients(config: KubeConfig): KubernetesClients {
  return {
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    rbac: config.makeApiClient(RbacAuthorizationV1Api),
  };
}

type ListParams = { limit: number; _continue?: string };
type CallOptions = ConfigurationOptions<ObservableMiddleware>;

/** One list call of the SDK and how its items become resources. */
interface ListSpec {
  type: KubernetesType;
  /** `CoreV1Api.listPodForAllNamespaces`, for messages. */
  operation: string;
  list(clients: KubernetesClients, params: ListParams, options: CallOptions): Promise<DiscoveryPageOf>;
}
interface DiscoveryPageOf {
  resources: DiscoveredResource[];
  continueToken: string | undefined;
}

/** Types a list call and its mapper together, then erases the item type. */
function spec<T>(
  type: KubernetesType,
  operation: string,
  call: (
    c: KubernetesClients,
    p: ListParams,
    o: CallOptions,
  ) => Promise<{ items: T[]; metadata?: V1ListMeta }>,
  toResource: (item: T) => DiscoveredResource,
): ListSpec {
  return {
    type,
    operation,
    list: async (clients, params, options) => {
      const list = await call(clients, params, options);
      return { resources: list.items.map(toResource), continueToken: list.metadata?._continue || undefined };
    },
  };
}

/** Every list this provider reads, in plan order. */
export const LISTS: readonly ListSpec[] = [
  spec("namespace", "CoreV1Api.listNamespace", (c, p, o) => c.core.listNamespace(p, o), namespaceResource),
  spec(
    "pod",
    "CoreV1Api.listPodForAllNamespaces",
    (c, p, o) => c.core.listPodForAllNamespaces(p, o),
    podResource,
  ),
  spec(
    "service",
    "CoreV1Api.listServiceForAllNamespaces",
    (c, p, o) => c.core.listServiceForAllNamespaces(p, o),
    serviceResource,
  ),
  spec(
    "deployment",
    "AppsV1Api.listDeploymentForAllNamespaces",
    (c, p, o) => c.apps.listDeploymentForAllNamespaces(p, o),
    deploymentResource,
  ),
  spec(
    "persistent-volume",
    "CoreV1Api.listPersistentVolume",
    (c, p, o) => c.core.listPersistentVolume(p, o),
    persistentVolumeResource,
  ),
  spec(
    "service-account",
    "CoreV1Api.listServiceAccountForAllNamespaces",
    (c, p, o) => c.core.listServiceAccountForAllNamespaces(p, o),
    serviceAccountResource,
  ),
  spec(
    "role-binding",
    "RbacAuthorizationV1Api.listRoleBindingForAllNamespaces",
    (c, p, o) => c.rbac.listRoleBindingForAllNamespaces(p, o),
    roleBindingResource,
  ),
  spec(
    "cluster-role-binding",
    "RbacAuthorizationV1Api.listClusterRoleBinding",
    (c, p, o) => c.rbac.listClusterRoleBinding(p, o),
    clusterRoleBindingResource,
  ),
];

/** Per-call options that hand the signal to the SDK's fetch (the SDK takes no signal argument). */
function withSignal(signal: AbortSignal): CallOptions {
  return {
    middleware: [{
      pre: (context) => {
        context.setSignal(signal);
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    }],
    middlewareMergeStrategy: "append",
  };
}

/** What a source needs to read its pages. */
export interface SourceContext {
  clients: KubernetesClients;
  /** The kubeconfig context (= target scope), for messages. */
  context: string;
  secrets: readonly string[];
  pageSize: number;
  timeoutMs: number;
  now?: () => number;
}

/** The discovery source of one list. */
export function listSource(list: ListSpec, ctx: SourceContext): DiscoverySource {
  return {
    name: list.type,
    covers: { types: [list.type], region: null },
    async fetchPage(token, signal) {
      signal.throwIfAborted();
      const callSignal = AbortSignal.any([signal, AbortSignal.timeout(ctx.timeoutMs)]);
      const params: ListParams = token === undefined
        ? { limit: ctx.pageSize }
        : { limit: ctx.pageSize, _continue: token };
      try {
        const page = await list.list(ctx.clients, params, withSignal(callSignal));
        return page.continueToken === undefined
          ? { items: page.resources }
          : { items: page.resources, next: page.continueToken };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const cause = callSignal.aborted ? callSignal.reason : error;
        throw classifyKubernetesError(cause, {
          operation: list.operation,
          context: ctx.context,
          secrets: ctx.secrets,
          ...(ctx.now ? { now: ctx.now } : {}),
        });
      }
    },
  };
}
