/**
 * Builds the `KubeConfig` of one discovery target: from the target's
 * `credentials.kubeconfig` (YAML text), else from the injected kubeconfig path
 * (the caller's `KUBECONFIG`), else from the SDK's defaults; then selects the
 * target's context. Errors never quote the kubeconfig (it holds tokens and keys).
 *
 * @module
 */
import { delimiter } from "node:path";
import { KubeConfig, type User } from "@kubernetes/client-node";
import { PermanentError } from "../../../machines/errors.ts";
import type { DiscoveryTarget } from "../provider.ts";

/** A loaded kubeconfig with its context selected, and the secrets it holds (to keep out of messages). */
export interface LoadedKubeConfig {
  config: KubeConfig;
  /** The context's user's token, password, key and auth-provider values. */
  secrets: string[];
}

/** Where a target's kubeconfig comes from, when its credentials carry none. */
export interface KubeConfigSourceOptions {
  /** One path, or several joined by the platform's path delimiter (what `KUBECONFIG` holds). */
  kubeconfigPath?: string;
}

/** Loads a target's kubeconfig and selects `target.scope` as its context. */
export function loadKubeConfig(target: DiscoveryTarget, options: KubeConfigSourceOptions): LoadedKubeConfig {
  const config = readKubeConfig(target.credentials, options);
  return { config: selectContext(config, target.scope), secrets: secretsOf(config.getCurrentUser()) };
}

/**
 * The kubeconfig's current context: the default scope of a payload that names
 * none. A kubeconfig without one is a permanent error listing its contexts.
 */
export function currentContextOf(
  credentials: Record<string, unknown> | undefined,
  options: KubeConfigSourceOptions,
): string {
  const config = readKubeConfig(credentials, options);
  const current = config.getCurrentContext();
  if (!current) {
    const known = config.getContexts().map((c) => `"${c.name}"`).join(", ") || "none";
    throw new PermanentError(
      `The kubeconfig has no current context: name one as the scope (contexts: ${known})`,
      {
        code: "K8S_CONTEXT_NOT_FOUND",
      },
    );
  }
  return current;
}

/** Loads the kubeconfig from the credentials, the configured path, or the default locations. */
function readKubeConfig(
  credentials: Record<string, unknown> | undefined,
  options: KubeConfigSourceOptions,
): KubeConfig {
  const config = new KubeConfig();
  const inline = credentials?.kubeconfig;
  if (inline !== undefined) {
    if (typeof inline !== "string" || inline.trim() === "") {
      throw new PermanentError("Kubernetes credentials.kubeconfig must be kubeconfig YAML text", {
        code: "K8S_BAD_KUBECONFIG",
      });
    }
    guard("credentials.kubeconfig", () => config.loadFromString(inline));
  } else if (options.kubeconfigPath) {
    const files = options.kubeconfigPath.split(delimiter).filter((file) => file !== "");
    files.forEach((file, i) => {
      if (i === 0) return guard(`file "${file}"`, () => config.loadFromFile(file));
      const more = new KubeConfig();
      guard(`file "${file}"`, () => more.loadFromFile(file));
      config.mergeConfig(more);
    });
  } else {
    guard("default locations", () => config.loadFromDefault());
  }
  return config;
}

/** Runs a load step; its errors (YAML errors quote the text) become a message without the detail. */
function guard(what: string, load: () => void): void {
  try {
    load();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const kind = typeof code === "string" ? code : (error as Error | null)?.name ?? "Error";
    throw new PermanentError(`Cannot load kubeconfig from ${what}: ${kind}`, { code: "K8S_BAD_KUBECONFIG" });
  }
}

function selectContext(config: KubeConfig, name: string): KubeConfig {
  const context = config.getContextObject(name);
  if (!context) {
    const known = config.getContexts().map((c) => `"${c.name}"`).join(", ") || "none";
    throw new PermanentError(`Kubernetes context "${name}" not found in kubeconfig (contexts: ${known})`, {
      code: "K8S_CONTEXT_NOT_FOUND",
    });
  }
  config.setCurrentContext(name);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new PermanentError(
      `Kubernetes context "${name}" names cluster "${context.cluster}", which is not in kubeconfig`,
      {
        code: "K8S_CLUSTER_NOT_FOUND",
      },
    );
  }
  // The SDK refuses plain HTTP at request time unless TLS verification is off; say so once, here.
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    throw new PermanentError(
      `Kubernetes cluster "${cluster.name}" of context "${name}" uses http:, which the SDK allows only with insecure-skip-tls-verify: true`,
      { code: "K8S_BAD_KUBECONFIG" },
    );
  }
  return config;
}

function secretsOf(user: User | null): string[] {
  if (!user) return [];
  const values: unknown[] = [user.token, user.password, user.keyData];
  const providerConfig = (user.authProvider as { config?: Record<string, unknown> } | undefined)?.config;
  if (providerConfig) values.push(...Object.values(providerConfig));
  return values.filter((value): value is string => typeof value === "string" && value.length >= 8);
}
