/**
 * Kubernetes objects as discovered resources: external ids (`namespace/name`
 * for namespaced objects, `name` for cluster-scoped ones), categories, a few
 * attributes and links. Never reads Secrets, env values or annotations (which
 * can hold `last-applied-configuration` with env values); keeps the `uid`.
 *
 * @module
 */
import type {
  RbacV1Subject,
  V1ClusterRoleBinding,
  V1Deployment,
  V1Namespace,
  V1ObjectMeta,
  V1PersistentVolume,
  V1Pod,
  V1PodSpec,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { DiscoveredResource, ResourceCategory, ResourceLink } from "../provider.ts";

/** The resource types this provider produces, and their categories. */
export const KUBERNETES_TYPES = {
  namespace: "network",
  pod: "compute",
  service: "service",
  deployment: "compute",
  "persistent-volume": "data",
  "service-account": "identity",
  "role-binding": "identity",
  "cluster-role-binding": "identity",
} as const satisfies Record<string, ResourceCategory>;
export type KubernetesType = keyof typeof KUBERNETES_TYPES;

/** Drops undefined values, so attributes stay small. */
function compact(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

const iso = (
  date: Date | undefined,
) => (date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined);

/** A resource with the common fields: ids from metadata, uid, labels and creation time. */
function resource(
  type: KubernetesType,
  meta: V1ObjectMeta | undefined,
  namespaced: boolean,
  attributes: Record<string, unknown>,
  links: ResourceLink[] = [],
): DiscoveredResource {
  const name = meta?.name ?? "";
  const externalId = namespaced ? `${meta?.namespace ?? ""}/${name}` : name;
  const unique = new Map(links.map((link) => [`${link.relation} ${link.type} ${link.externalId}`, link]));
  return {
    type,
    category: KUBERNETES_TYPES[type],
    externalId,
    name: meta?.name ?? null,
    region: null,
    attributes: compact({
      uid: meta?.uid,
      ...(namespaced ? { namespace: meta?.namespace } : {}),
      labels: meta?.labels,
      createdAt: iso(meta?.creationTimestamp),
      ...attributes,
    }),
    ...(unique.size > 0 ? { links: [...unique.values()] } : {}),
  };
}

const inNamespace = (meta: V1ObjectMeta | undefined): ResourceLink[] =>
  meta?.namespace ? [{ relation: "in", type: "namespace", externalId: meta.namespace }] : [];

/** Container and init-container images of a pod spec, without duplicates. */
function images(spec: V1PodSpec | undefined): string[] | undefined {
  if (!spec) return undefined;
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.image);
  return [...new Set(all.filter((image): image is string => typeof image === "string"))];
}

/** A `namespace`. */
export function namespaceResource(ns: V1Namespace): DiscoveredResource {
  return resource("namespace", ns.metadata, false, { phase: ns.status?.phase });
}

/** A `pod`: in its namespace, runs as its service account. */
export function podResource(pod: V1Pod): DiscoveredResource {
  const meta = pod.metadata;
  const spec = pod.spec;
  const owner = meta?.ownerReferences?.find((ref) => ref.controller) ?? meta?.ownerReferences?.[0];
  const claims = (spec?.volumes ?? []).flatMap((
    v,
  ) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
  const links = inNamespace(meta);
  if (meta?.namespace && spec?.serviceAccountName) {
    links.push({
      relation: "runs-as",
      type: "service-account",
      externalId: `${meta.namespace}/${spec.serviceAccountName}`,
    });
  }
  return resource("pod", meta, true, {
    phase: pod.status?.phase,
    nodeName: spec?.nodeName,
    podIP: pod.status?.podIP,
    hostIP: pod.status?.hostIP,
    images: images(spec),
    serviceAccount: spec?.serviceAccountName,
    claims: claims.length > 0 ? claims : undefined,
    owner: owner ? { kind: owner.kind, name: owner.name } : undefined,
  }, links);
}

/** A `service`: in its namespace. */
export function serviceResource(service: V1Service): DiscoveredResource {
  const spec = service.spec;
  const ingress = service.status?.loadBalancer?.ingress?.map((i) => i.ip ?? i.hostname).filter((v) => v);
  return resource("service", service.metadata, true, {
    serviceType: spec?.type,
    clusterIP: spec?.clusterIP,
    externalName: spec?.externalName,
    ports: spec?.ports?.map((p) =>
      compact({
        name: p.name,
        port: p.port,
        protocol: p.protocol,
        targetPort: p.targetPort,
        nodePort: p.nodePort,
      })
    ),
    selector: spec?.selector,
    loadBalancer: ingress && ingress.length > 0 ? ingress : undefined,
  }, inNamespace(service.metadata));
}

/** A `deployment`: in its namespace. */
export function deploymentResource(deployment: V1Deployment): DiscoveredResource {
  const spec = deployment.spec;
  const status = deployment.status;
  return resource("deployment", deployment.metadata, true, {
    replicas: spec?.replicas,
    readyReplicas: status?.readyReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    strategy: spec?.strategy?.type,
    selector: spec?.selector?.matchLabels,
    images: images(spec?.template?.spec),
    serviceAccount: spec?.template?.spec?.serviceAccountName,
  }, inNamespace(deployment.metadata));
}

/** A `persistent-volume` (cluster-scoped). */
export function persistentVolumeResource(pv: V1PersistentVolume): DiscoveredResource {
  const spec = pv.spec;
  const claim = spec?.claimRef;
  return resource("persistent-volume", pv.metadata, false, {
    phase: pv.status?.phase,
    capacity: spec?.capacity?.storage,
    storageClass: spec?.storageClassName,
    accessModes: spec?.accessModes,
    reclaimPolicy: spec?.persistentVolumeReclaimPolicy,
    volumeMode: spec?.volumeMode,
    csiDriver: spec?.csi?.driver,
    claim: claim?.name ? `${claim.namespace ?? ""}/${claim.name}` : undefined,
  });
}

/** A `service-account`: in its namespace. Its token secrets are not listed. */
export function serviceAccountResource(sa: V1ServiceAccount): DiscoveredResource {
  return resource("service-account", sa.metadata, true, {
    automountToken: sa.automountServiceAccountToken,
  }, inNamespace(sa.metadata));
}

/** `binds` links to the service accounts among a binding's subjects. */
function bindsLinks(
  subjects: RbacV1Subject[] | undefined,
  defaultNamespace: string | undefined,
): ResourceLink[] {
  return (subjects ?? []).flatMap((s) => {
    const namespace = s.namespace || defaultNamespace;
    if (s.kind !== "ServiceAccount" || !namespace) return [];
    return [{ relation: "binds", type: "service-account", externalId: `${namespace}/${s.name}` }];
  });
}

function bindingAttributes(binding: V1RoleBinding | V1ClusterRoleBinding): Record<string, unknown> {
  return {
    roleRef: { kind: binding.roleRef.kind, name: binding.roleRef.name },
    subjects: binding.subjects?.map((s) => compact({ kind: s.kind, name: s.name, namespace: s.namespace })),
  };
}

/** A `role-binding`: in its namespace, binds its service-account subjects. */
export function roleBindingResource(binding: V1RoleBinding): DiscoveredResource {
  const meta = binding.metadata;
  return resource("role-binding", meta, true, bindingAttributes(binding), [
    ...inNamespace(meta),
    ...bindsLinks(binding.subjects, meta?.namespace),
  ]);
}

/** A `cluster-role-binding` (cluster-scoped): binds its service-account subjects. */
export function clusterRoleBindingResource(binding: V1ClusterRoleBinding): DiscoveredResource {
  return resource(
    "cluster-role-binding",
    binding.metadata,
    false,
    bindingAttributes(binding),
    bindsLinks(binding.subjects, undefined),
  );
}
