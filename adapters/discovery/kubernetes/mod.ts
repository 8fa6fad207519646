/**
 * The Kubernetes discovery provider: inventories one cluster (a kubeconfig
 * context) with `@kubernetes/client-node` — namespaces, pods, services,
 * deployments, persistent volumes, service accounts, role bindings and
 * cluster role bindings, one source each, read cluster-wide page by page.
 *
 * @module
 */
import { ValidationError } from "../../../machines/errors.ts";
import type { DiscoveryProvider, DiscoverySource, DiscoveryTarget } from "../provider.ts";
import { currentContextOf, loadKubeConfig } from "./kubeconfig.ts";
import { LISTS, listSource, makeClients } from "./sources.ts";

export { KUBERNETES_TYPES, type KubernetesType } from "./resources.ts";

/** Options of {@link createKubernetesDiscoveryProvider}. */
export interface KubernetesDiscoveryOptions {
  /**
   * Kubeconfig file(s) for targets whose credentials carry no `kubeconfig`:
   * one path or several joined by `:` (`;` on Windows), e.g. the caller's
   * `KUBECONFIG`. Unset: the SDK's `loadFromDefault()` (which reads `KUBECONFIG`,
   * then `~/.kube/config`, then the in-cluster service account).
   */
  kubeconfigPath?: string;
  /** Items per list call (`limit`). Default 500. */
  pageSize?: number;
  /** Timeout of one list call, in ms. Default 60,000. */
  timeoutMs?: number;
  /** Clock for `Retry-After` dates. */
  now?: () => number;
}

const positive = (value: number | undefined, fallback: number, field: string): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a positive integer`, { field });
  }
  return value;
};

/** Creates the Kubernetes discovery provider. */
export function createKubernetesDiscoveryProvider(
  options: KubernetesDiscoveryOptions = {},
): DiscoveryProvider {
  const pageSize = positive(options.pageSize, 500, "pageSize");
  const timeoutMs = positive(options.timeoutMs, 60_000, "timeoutMs");
  return {
    provider: "kubernetes",
    // deno-lint-ignore require-await -- async so that a bad kubeconfig rejects rather than throws
    async plan(target: DiscoveryTarget, signal: AbortSignal): Promise<DiscoverySource[]> {
      signal.throwIfAborted();
      const { config, secrets } = loadKubeConfig(
        target,
        options.kubeconfigPath === undefined ? {} : { kubeconfigPath: options.kubeconfigPath },
      );
      const ctx = {
        clients: makeClients(config),
        context: target.scope,
        secrets,
        pageSize,
        timeoutMs,
        ...(options.now ? { now: options.now } : {}),
      };
      return LISTS.map((list) => listSource(list, ctx));
    },
    // deno-lint-ignore require-await -- async so that a bad kubeconfig rejects rather than throws
    async defaultScope(credentials, signal) {
      signal.throwIfAborted();
      return currentContextOf(
        credentials,
        options.kubeconfigPath === undefined ? {} : { kubeconfigPath: options.kubeconfigPath },
      );
    },
  };
}
