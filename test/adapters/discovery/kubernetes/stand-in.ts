/**
 * A stand-in for the Kubernetes API server: a real HTTP server on 127.0.0.1
 * serving the cluster-wide list paths as the API does (`kind`/`apiVersion`
 * List objects, `limit` and `continue` with `metadata.continue`, `Status`
 * bodies on errors, 410 Expired for an unknown continue token), checking a
 * bearer token, recording every request, and told to fail or hang chosen ones.
 */
import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  limit: string | null;
  continue: string | null;
  authorization: string | undefined;
  status?: number;
}

/** A scripted failure of the next request that `match`es. */
export interface Fault {
  match: (request: RecordedRequest) => boolean;
  status: number;
  reason: string;
  message?: string;
  /** The `Retry-After` header value. */
  retryAfter?: string;
}

/** The list paths and the kinds of their List objects. */
const LISTS = {
  "/api/v1/namespaces": { kind: "NamespaceList", apiVersion: "v1", store: "namespaces" },
  "/api/v1/pods": { kind: "PodList", apiVersion: "v1", store: "pods" },
  "/api/v1/services": { kind: "ServiceList", apiVersion: "v1", store: "services" },
  "/apis/apps/v1/deployments": { kind: "DeploymentList", apiVersion: "apps/v1", store: "deployments" },
  "/api/v1/persistentvolumes": { kind: "PersistentVolumeList", apiVersion: "v1", store: "persistentVolumes" },
  "/api/v1/serviceaccounts": { kind: "ServiceAccountList", apiVersion: "v1", store: "serviceAccounts" },
  "/apis/rbac.authorization.k8s.io/v1/rolebindings": {
    kind: "RoleBindingList",
    apiVersion: "rbac.authorization.k8s.io/v1",
    store: "roleBindings",
  },
  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings": {
    kind: "ClusterRoleBindingList",
    apiVersion: "rbac.authorization.k8s.io/v1",
    store: "clusterRoleBindings",
  },
} as const;

/** The objects the stand-in serves, by list. */
export type ClusterObjects = Record<(typeof LISTS)[keyof typeof LISTS]["store"], Record<string, unknown>[]>;

const EXPIRED =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/** Starts the stand-in on a free loopback port, serving `objects` to callers bearing `token`. */
export async function startKubeStandIn(
  objects: ClusterObjects,
  token = randomBytes(24).toString("base64url"),
) {
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const hangs: ((request: RecordedRequest) => boolean)[] = [];
  /** Issued continue tokens → the offset they continue from, per path. */
  const continues = new Map<string, { path: string; offset: number }>();
  const hanging = new Set<ServerResponse>();
  let resourceVersion = 1000;

  function send(res: ServerResponse, request: RecordedRequest, status: number, body: unknown, headers = {}) {
    request.status = status;
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }
  const statusBody = (code: number, reason: string, message: string) => ({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const request: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      limit: url.searchParams.get("limit"),
      continue: url.searchParams.get("continue"),
      authorization: req.headers.authorization,
    };
    requests.push(request);
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, request, 401, statusBody(401, "Unauthorized", "Unauthorized"));
    }
    const hang = hangs.findIndex((match) => match(request));
    if (hang >= 0) {
      hangs.splice(hang, 1);
      hanging.add(res);
      res.on("close", () => hanging.delete(res));
      return;
    }
    const fault = faults.findIndex((f) => f.match(request));
    if (fault >= 0) {
      const [f] = faults.splice(fault, 1);
      if (f) {
        const headers = f.retryAfter === undefined ? {} : { "retry-after": f.retryAfter };
        return send(res, request, f.status, statusBody(f.status, f.reason, f.message ?? f.reason), headers);
      }
    }
    const list = LISTS[url.pathname as keyof typeof LISTS];
    if (req.method !== "GET" || !list) {
      return send(
        res,
        request,
        404,
        statusBody(404, "NotFound", "the server could not find the requested resource"),
      );
    }
    let offset = 0;
    if (request.continue) {
      const from = continues.get(request.continue);
      if (!from || from.path !== url.pathname) {
        return send(res, request, 410, statusBody(410, "Expired", EXPIRED));
      }
      offset = from.offset;
    }
    const all = objects[list.store];
    const limit = Number(request.limit ?? 0);
    const end = limit > 0 ? Math.min(all.length, offset + limit) : all.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(++resourceVersion) };
    if (end < all.length) {
      const next = randomBytes(18).toString("base64url");
      continues.set(next, { path: url.pathname, offset: end });
      metadata.continue = next;
      metadata.remainingItemCount = all.length - end;
    }
    send(res, request, 200, {
      kind: list.kind,
      apiVersion: list.apiVersion,
      metadata,
      items: all.slice(offset, end),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    token,
    requests,
    /** Fails the next request that matches, once per call. */
    fail(fault: Fault) {
      faults.push(fault);
    },
    /** Holds the next matching request without answering (until the client gives up). */
    hang(match: (request: RecordedRequest) => boolean) {
      hangs.push(match);
    },
    /** Forgets every continue token issued (as after an etcd compaction). */
    expireContinueTokens() {
      continues.clear();
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type KubeStandIn = Awaited<ReturnType<typeof startKubeStandIn>>;

/** A kubeconfig (JSON is YAML) for the stand-in: one cluster, one token user, the given context names. */
export function kubeconfigFor(url: string, token: string, contexts: string[] = ["prod"]): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "stand-in", cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: "reader", user: { token } }],
    contexts: contexts.map((name) => ({ name, context: { cluster: "stand-in", user: "reader" } })),
    "current-context": contexts[0],
  });
}
