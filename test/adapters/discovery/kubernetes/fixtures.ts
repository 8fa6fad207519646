/**
 * A small cluster for the stand-in, in the API's JSON shape: 4 namespaces,
 * 7 pods, 3 services, 3 deployments, 5 persistent volumes, 5 service accounts,
 * 2 role bindings and 2 cluster role bindings. Pods carry an env value and an
 * annotation holding {@link SECRET_IN_OBJECTS}, which must never be discovered.
 */
import type { ClusterObjects } from "./stand-in.ts";

/** A value planted in env vars and annotations: no discovered resource may carry it. */
export const SECRET_IN_OBJECTS = "hunter2-planted-secret-value";

const created = "2024-05-01T10:00:00Z";
let uidCounter = 0;
const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, "0")}`,
  resourceVersion: "42",
  creationTimestamp: created,
  ...extra,
});

function pod(namespace: string, name: string, sa: string, image: string, claim?: string) {
  return {
    metadata: meta(name, namespace, {
      labels: { app: name.replace(/-\d+$/, "") },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": `{"env":"${SECRET_IN_OBJECTS}"}` },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: `${name}-rs`,
        uid: "x",
        controller: true,
      }],
    }),
    spec: {
      serviceAccountName: sa,
      nodeName: "node-1",
      containers: [{ name: "main", image, env: [{ name: "DB_PASSWORD", value: SECRET_IN_OBJECTS }] }],
      initContainers: [{ name: "init", image: "busybox:1.36" }],
      volumes: claim ? [{ name: "data", persistentVolumeClaim: { claimName: claim } }] : [],
    },
    status: { phase: "Running", podIP: `10.0.0.${uidCounter}`, hostIP: "192.168.1.10" },
  };
}

function binding(name: string, namespace: string | undefined, role: string, subjects: unknown[]) {
  return {
    metadata: meta(name, namespace),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: namespace ? "Role" : "ClusterRole", name: role },
    subjects,
  };
}

/** A fresh copy of the sample cluster. */
export function sampleCluster(): ClusterObjects {
  uidCounter = 0;
  return {
    namespaces: ["default", "kube-system", "shop", "billing"].map((name) => ({
      metadata: meta(name, undefined, { labels: { "kubernetes.io/metadata.name": name } }),
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    })),
    pods: [
      pod("shop", "web-0", "web", "shop/web:1.2", "data-web-0"),
      pod("shop", "web-1", "web", "shop/web:1.2", "data-web-1"),
      pod("shop", "web-2", "web", "shop/web:1.2", "data-web-2"),
      pod("shop", "web-3", "web", "shop/web:1.2", "data-web-3"),
      pod("billing", "api-0", "api", "billing/api:7"),
      pod("billing", "api-1", "api", "billing/api:7"),
      pod("kube-system", "coredns-0", "coredns", "coredns/coredns:1.11"),
    ],
    services: [
      {
        metadata: meta("web", "shop", { labels: { app: "web" } }),
        spec: {
          type: "LoadBalancer",
          clusterIP: "10.96.0.20",
          selector: { app: "web" },
          ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080, nodePort: 31000 }],
        },
        status: { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } },
      },
      {
        metadata: meta("api", "billing"),
        spec: {
          type: "ClusterIP",
          clusterIP: "10.96.0.30",
          selector: { app: "api" },
          ports: [{ port: 443, targetPort: "https" }],
        },
        status: {},
      },
      {
        metadata: meta("kubernetes", "default"),
        spec: {
          type: "ClusterIP",
          clusterIP: "10.96.0.1",
          ports: [{ name: "https", port: 443, targetPort: 6443 }],
        },
        status: {},
      },
    ],
    deployments: [
      ["shop", "web", 4, "web", "shop/web:1.2"],
      ["billing", "api", 2, "api", "billing/api:7"],
      ["kube-system", "coredns", 1, "coredns", "coredns/coredns:1.11"],
    ].map(([namespace, name, replicas, sa, image]) => ({
      metadata: meta(name as string, namespace as string),
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        strategy: { type: "RollingUpdate" },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            serviceAccountName: sa,
            containers: [{ name: "main", image, env: [{ name: "TOKEN", value: SECRET_IN_OBJECTS }] }],
          },
        },
      },
      status: { replicas, readyReplicas: replicas, availableReplicas: replicas, updatedReplicas: replicas },
    })),
    persistentVolumes: [
      ...[0, 1, 2, 3].map((i) => ({
        metadata: meta(`pv-web-${i}`),
        spec: {
          capacity: { storage: "10Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Delete",
          storageClassName: "standard",
          volumeMode: "Filesystem",
          csi: { driver: "pd.csi.storage.gke.io", volumeHandle: `disk-${i}` },
          claimRef: { kind: "PersistentVolumeClaim", namespace: "shop", name: `data-web-${i}` },
        },
        status: { phase: "Bound" },
      })),
      {
        metadata: meta("pv-spare"),
        spec: {
          capacity: { storage: "1Ti" },
          accessModes: ["ReadWriteMany"],
          storageClassName: "nfs",
          nfs: { server: "nfs", path: "/x" },
        },
        status: { phase: "Available" },
      },
    ],
    serviceAccounts: [
      ["default", "default"],
      ["shop", "default"],
      ["shop", "web"],
      ["billing", "api"],
      ["kube-system", "coredns"],
    ].map(([namespace, name]) => ({
      metadata: meta(name as string, namespace),
      secrets: [{ name: `${name}-token-abcde` }],
      automountServiceAccountToken: name !== "web",
    })),
    roleBindings: [
      binding("web-reader", "shop", "reader", [
        { kind: "ServiceAccount", name: "web" },
        { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "alice@example.com" },
      ]),
      binding("api-edit", "billing", "editor", [
        { kind: "ServiceAccount", name: "api", namespace: "billing" },
        { kind: "ServiceAccount", name: "web", namespace: "shop" },
      ]),
    ],
    clusterRoleBindings: [
      binding("system:coredns", undefined, "system:coredns", [{
        kind: "ServiceAccount",
        name: "coredns",
        namespace: "kube-system",
      }]),
      binding("cluster-admins", undefined, "cluster-admin", [
        { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:masters" },
      ]),
    ],
  };
}
