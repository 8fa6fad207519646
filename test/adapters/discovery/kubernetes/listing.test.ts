/**
 * The Kubernetes discovery provider with the real `@kubernetes/client-node`
 * against the API stand-in: every type read across pages, with ids,
 * categories, attributes and links, and nothing secret in what it returns.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DiscoveredResource, DiscoverySource } from "../../../../adapters/discovery/provider.ts";
import {
  createKubernetesDiscoveryProvider,
  KUBERNETES_TYPES,
} from "../../../../adapters/discovery/kubernetes/mod.ts";
import { kubeconfigFor, type KubeStandIn, startKubeStandIn } from "./stand-in.ts";
import { sampleCluster, SECRET_IN_OBJECTS } from "./fixtures.ts";

const signal = () => new AbortController().signal;

/** Reads every page of a source; returns the resources and the number of pages. */
async function drain(source: DiscoverySource) {
  const resources: DiscoveredResource[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await source.fetchPage(token, signal());
    pages++;
    resources.push(...page.items);
    token = page.next;
  } while (token !== undefined);
  return { resources, pages };
}

describe("kubernetes discovery: listing", () => {
  let k8s: KubeStandIn;
  before(async () => {
    k8s = await startKubeStandIn(sampleCluster());
  });
  after(() => k8s.close());
  beforeEach(() => {
    k8s.requests.length = 0;
  });

  const target = () => ({
    scope: "prod",
    org: null,
    credentials: { kubeconfig: kubeconfigFor(k8s.url, k8s.token) },
  });

  it("plans one cluster-wide source per type, region null", async () => {
    const sources = await createKubernetesDiscoveryProvider().plan(target(), signal());
    assert.deepEqual(sources.map((s) => s.name), Object.keys(KUBERNETES_TYPES));
    for (const source of sources) assert.deepEqual(source.covers, { types: [source.name], region: null });
    assert.equal(k8s.requests.length, 0, "planning makes no API call");
  });

  it("reads every type across pages of 2, following continue tokens", async () => {
    const sources = await createKubernetesDiscoveryProvider({ pageSize: 2 }).plan(target(), signal());
    const byType = new Map<string, DiscoveredResource[]>();
    const pages = new Map<string, number>();
    for (const source of sources) {
      const result = await drain(source);
      byType.set(source.name, result.resources);
      pages.set(source.name, result.pages);
    }
    const counts = Object.fromEntries([...byType].map(([type, list]) => [type, list.length]));
    assert.deepEqual(counts, {
      namespace: 4,
      pod: 7,
      service: 3,
      deployment: 3,
      "persistent-volume": 5,
      "service-account": 5,
      "role-binding": 2,
      "cluster-role-binding": 2,
    });
    assert.deepEqual(Object.fromEntries(pages), {
      namespace: 2,
      pod: 4,
      service: 2,
      deployment: 2,
      "persistent-volume": 3,
      "service-account": 3,
      "role-binding": 1,
      "cluster-role-binding": 1,
    });

    // The wire: limit=2 everywhere, each continue token the one the previous page returned, the bearer token.
    const podCalls = k8s.requests.filter((r) => r.path === "/api/v1/pods");
    assert.equal(podCalls.length, 4);
    assert.ok(k8s.requests.every((r) => r.limit === "2" && r.authorization === `Bearer ${k8s.token}`));
    assert.equal(podCalls[0]?.continue, null);
    assert.ok(podCalls.slice(1).every((r) => typeof r.continue === "string" && r.continue.length > 10));
    assert.equal(new Set(podCalls.map((r) => r.continue)).size, 4);
    assert.equal(k8s.requests.length, 18);
    assert.ok(k8s.requests.every((r) => r.status === 200));

    for (const [type, list] of byType) {
      assert.equal(new Set(list.map((r) => r.externalId)).size, list.length, `${type} ids are unique`);
      for (const r of list) {
        assert.equal(r.type, type);
        assert.equal(r.category, KUBERNETES_TYPES[type as keyof typeof KUBERNETES_TYPES]);
        assert.equal(r.region, null);
        assert.match(String(r.attributes.uid), /^00000000-0000-4000-8000-\d{12}$/);
      }
    }

    const find = (type: string, id: string) => {
      const found = byType.get(type)?.find((r) => r.externalId === id);
      assert.ok(found, `${type} ${id}`);
      return found;
    };
    assert.deepEqual(byType.get("pod")?.map((r) => r.externalId), [
      "shop/web-0",
      "shop/web-1",
      "shop/web-2",
      "shop/web-3",
      "billing/api-0",
      "billing/api-1",
      "kube-system/coredns-0",
    ]);
    const web0 = find("pod", "shop/web-0");
    assert.equal(web0.name, "web-0");
    assert.deepEqual(web0.links, [
      { relation: "in", type: "namespace", externalId: "shop" },
      { relation: "runs-as", type: "service-account", externalId: "shop/web" },
    ]);
    assert.deepEqual(web0.attributes, {
      uid: web0.attributes.uid,
      namespace: "shop",
      labels: { app: "web" },
      createdAt: "2024-05-01T10:00:00.000Z",
      phase: "Running",
      nodeName: "node-1",
      podIP: web0.attributes.podIP,
      hostIP: "192.168.1.10",
      images: ["busybox:1.36", "shop/web:1.2"],
      serviceAccount: "web",
      claims: ["data-web-0"],
      owner: { kind: "ReplicaSet", name: "web-0-rs" },
    });

    assert.deepEqual(find("namespace", "kube-system").attributes.phase, "Active");
    assert.equal(find("namespace", "shop").links, undefined);

    const svc = find("service", "shop/web");
    assert.deepEqual(svc.links, [{ relation: "in", type: "namespace", externalId: "shop" }]);
    assert.equal(svc.attributes.serviceType, "LoadBalancer");
    assert.deepEqual(svc.attributes.loadBalancer, ["203.0.113.7"]);
    assert.deepEqual(svc.attributes.ports, [{
      name: "http",
      port: 80,
      protocol: "TCP",
      targetPort: 8080,
      nodePort: 31000,
    }]);
    assert.deepEqual(find("service", "billing/api").attributes.ports, [{ port: 443, targetPort: "https" }]);

    const deploy = find("deployment", "shop/web");
    assert.deepEqual(deploy.links, [{ relation: "in", type: "namespace", externalId: "shop" }]);
    assert.equal(deploy.attributes.replicas, 4);
    assert.equal(deploy.attributes.readyReplicas, 4);
    assert.deepEqual(deploy.attributes.images, ["shop/web:1.2"]);

    const pv = find("persistent-volume", "pv-web-2");
    assert.equal(pv.links, undefined);
    assert.equal(pv.attributes.capacity, "10Gi");
    assert.equal(pv.attributes.storageClass, "standard");
    assert.equal(pv.attributes.claim, "shop/data-web-2");
    assert.equal(pv.attributes.csiDriver, "pd.csi.storage.gke.io");
    assert.equal(find("persistent-volume", "pv-spare").attributes.phase, "Available");

    const sa = find("service-account", "shop/web");
    assert.deepEqual(sa.links, [{ relation: "in", type: "namespace", externalId: "shop" }]);
    assert.equal(sa.attributes.automountToken, false);
    assert.equal("secrets" in sa.attributes, false);

    assert.deepEqual(find("role-binding", "shop/web-reader").links, [
      { relation: "in", type: "namespace", externalId: "shop" },
      { relation: "binds", type: "service-account", externalId: "shop/web" },
    ]);
    const apiEdit = find("role-binding", "billing/api-edit");
    assert.deepEqual(apiEdit.links, [
      { relation: "in", type: "namespace", externalId: "billing" },
      { relation: "binds", type: "service-account", externalId: "billing/api" },
      { relation: "binds", type: "service-account", externalId: "shop/web" },
    ]);
    assert.deepEqual(apiEdit.attributes.roleRef, { kind: "Role", name: "editor" });

    assert.deepEqual(find("cluster-role-binding", "system:coredns").links, [
      { relation: "binds", type: "service-account", externalId: "kube-system/coredns" },
    ]);
    const admins = find("cluster-role-binding", "cluster-admins");
    assert.equal(admins.links, undefined);
    assert.deepEqual(admins.attributes.subjects, [{ kind: "Group", name: "system:masters" }]);

    // Every link points at a resource that was discovered.
    const all = [...byType.values()].flat();
    const ids = new Set(all.map((r) => `${r.type} ${r.externalId}`));
    for (const r of all) {
      for (const l of r.links ?? []) assert.ok(ids.has(`${l.type} ${l.externalId}`), JSON.stringify(l));
    }

    const json = JSON.stringify(all);
    assert.ok(!json.includes(SECRET_IN_OBJECTS), "no env value or annotation is discovered");
    assert.ok(!json.includes(k8s.token), "the token is not in the results");
    assert.ok(!json.includes("token-abcde"), "service-account secret names are not kept");
  });

  it("asks for 500 items per page by default: one page per type here", async () => {
    const sources = await createKubernetesDiscoveryProvider().plan(target(), signal());
    for (const source of sources) {
      const page = await source.fetchPage(undefined, signal());
      assert.equal(page.next, undefined, source.name);
    }
    assert.equal(k8s.requests.length, 8);
    assert.ok(k8s.requests.every((r) => r.limit === "500" && r.continue === null));
    assert.deepEqual(k8s.requests.map((r) => r.path), [
      "/api/v1/namespaces",
      "/api/v1/pods",
      "/api/v1/services",
      "/apis/apps/v1/deployments",
      "/api/v1/persistentvolumes",
      "/api/v1/serviceaccounts",
      "/apis/rbac.authorization.k8s.io/v1/rolebindings",
      "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    ]);
  });
});
