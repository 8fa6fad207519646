/**
 * The stand-in's API routes: path patterns of the Compute Engine v1, Cloud
 * Storage JSON v1 and GKE v1 REST APIs, their list answers (with Compute's
 * `maxResults`/`pageToken`/`nextPageToken` paging and aggregated `items` keyed
 * by scope) and Google's JSON error body.
 */
import { Buffer } from "node:buffer";
import type { StandInModel } from "./stand-in-model.ts";

type Json = Record<string, unknown>;

/** An API error, answered as Google's `{"error": {...}}` body. */
export class GoogleApiError extends Error {
  readonly code: number;
  readonly status: string;
  readonly reason: string;
  constructor(code: number, status: string, reason: string, message: string) {
    super(message);
    this.code = code;
    this.status = status;
    this.reason = reason;
  }
}

/** Google's JSON error body. */
export function googleError(code: number, status: string, reason: string, message: string) {
  return { error: { code, message, errors: [{ message, domain: "global", reason }], status } };
}

/** A page of `all`, from the query's `pageToken` and `maxResults` (default 500, Compute's). */
function page<T>(all: T[], query: URLSearchParams, scope: string): { items: T[]; nextPageToken?: string } {
  const token = query.get("pageToken");
  let offset = 0;
  if (token) {
    const decoded = (() => {
      try {
        return JSON.parse(Buffer.from(token, "base64url").toString());
      } catch {
        return undefined;
      }
    })();
    if (!decoded || decoded.scope !== scope || typeof decoded.offset !== "number") {
      throw new GoogleApiError(400, "INVALID_ARGUMENT", "invalid", "Invalid value for field 'pageToken'");
    }
    offset = decoded.offset;
  }
  const size = Number(query.get("maxResults") ?? 500);
  if (!Number.isInteger(size) || size < 0 || size > 500) {
    throw new GoogleApiError(400, "INVALID_ARGUMENT", "invalid", "Invalid value for field 'maxResults'");
  }
  const items = all.slice(offset, offset + (size || 500));
  const next = offset + items.length;
  return next < all.length
    ? { items, nextPageToken: Buffer.from(JSON.stringify({ scope, offset: next })).toString("base64url") }
    : { items };
}

const lastSegment = (url: unknown) => String(url).split("/").pop() ?? "";

/** An aggregated list: the page's items grouped by scope, empty scopes with Compute's warning. */
function aggregated(
  model: StandInModel,
  all: Json[],
  query: URLSearchParams,
  kind: string,
  field: string,
  scopeOf: (item: Json) => string,
  scopes: string[],
) {
  const sorted = [...all].sort((a, b) => `${scopeOf(a)}/${a.name}`.localeCompare(`${scopeOf(b)}/${b.name}`));
  const { items, nextPageToken } = page(sorted, query, `aggregated/${field}`);
  const grouped: Record<string, Json> = {};
  for (const scope of scopes) {
    const found = items.filter((item) => scopeOf(item) === scope);
    grouped[scope] = found.length > 0 ? { [field]: found } : {
      warning: {
        code: "NO_RESULTS_ON_PAGE",
        message: `There are no results for scope '${scope}' on this page.`,
        data: [{ key: "scope", value: scope }],
      },
    };
  }
  return {
    kind,
    id: `projects/${model.project}/aggregated/${field}`,
    items: grouped,
    selfLink: model.link(`aggregated/${field}`),
    ...(nextPageToken ? { nextPageToken } : {}),
  };
}

function list(
  model: StandInModel,
  kind: string,
  path: string,
  result: { items: Json[]; nextPageToken?: string },
) {
  return { kind, id: `projects/${model.project}/${path}`, ...result, selfLink: model.link(path) };
}

/** A matched route: its name and how it answers. */
export interface Route {
  name: string;
  serve(model: StandInModel, query: URLSearchParams): unknown;
}

function project(model: StandInModel, p: string) {
  if (p !== model.project) {
    throw new GoogleApiError(404, "NOT_FOUND", "notFound", `The resource 'projects/${p}' was not found`);
  }
}

const CLUSTER_STATUS = [
  "STATUS_UNSPECIFIED",
  "PROVISIONING",
  "RUNNING",
  "RECONCILING",
  "STOPPING",
  "ERROR",
  "DEGRADED",
];

const ROUTES: [string, RegExp, (m: StandInModel, q: URLSearchParams, g: string[]) => unknown][] = [
  ["instances.aggregated", /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/instances$/, (m, q) => {
    const zones = [...m.zones.keys()].map((z) => `zones/${z}`);
    return aggregated(
      m,
      m.instances,
      q,
      "compute#instanceAggregatedList",
      "instances",
      (i) => `zones/${lastSegment(i.zone)}`,
      zones,
    );
  }],
  ["instances.list", /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/instances$/, (m, q, [, zone]) => {
    if (!m.zones.has(zone!)) {
      throw new GoogleApiError(
        404,
        "NOT_FOUND",
        "notFound",
        `The resource 'projects/${m.project}/zones/${zone}' was not found`,
      );
    }
    const items = m.instances.filter((i) => lastSegment(i.zone) === zone);
    return list(
      m,
      "compute#instanceList",
      `zones/${zone}/instances`,
      page(items, q, `zones/${zone}/instances`),
    );
  }],
  ["zones.list", /^\/compute\/v1\/projects\/([^/]+)\/zones$/, (m, q) => {
    const items = [...m.zones].map(([zone, region], n) => ({
      kind: "compute#zone",
      id: String(2000 + n),
      name: zone,
      description: zone,
      status: "UP",
      region: m.link(`regions/${region}`),
      selfLink: m.link(`zones/${zone}`),
    }));
    return list(m, "compute#zoneList", "zones", page(items, q, "zones"));
  }],
  ["networks.list", /^\/compute\/v1\/projects\/([^/]+)\/global\/networks$/, (m, q) => {
    return list(m, "compute#networkList", "global/networks", page(m.networks, q, "global/networks"));
  }],
  ["subnetworks.aggregated", /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/subnetworks$/, (m, q) => {
    const regions = [...new Set(m.zones.values())].map((r) => `regions/${r}`);
    return aggregated(
      m,
      m.subnetworks,
      q,
      "compute#subnetworkAggregatedList",
      "subnetworks",
      (s) => `regions/${lastSegment(s.region)}`,
      regions,
    );
  }],
  [
    "subnetworks.list",
    /^\/compute\/v1\/projects\/([^/]+)\/regions\/([^/]+)\/subnetworks$/,
    (m, q, [, region]) => {
      const items = m.subnetworks.filter((s) => lastSegment(s.region) === region);
      return list(
        m,
        "compute#subnetworkList",
        `regions/${region}/subnetworks`,
        page(items, q, `regions/${region}/subnetworks`),
      );
    },
  ],
  ["buckets.list", /^\/storage\/v1\/b$/, (m, q) => {
    project(m, q.get("project") ?? "");
    const sorted = [...m.buckets].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const { items, nextPageToken } = page(sorted, q, "buckets");
    return { kind: "storage#buckets", ...(nextPageToken ? { nextPageToken } : {}), items };
  }],
  ["clusters.list", /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters$/, (m, q, [, location]) => {
    const selected = location === "-" ? m.clusters : m.clusters.filter((c) => c.location === location);
    // `$alt=json;enum-encoding=int` (what the REST client asks for): enums as numbers.
    const numeric = q.get("$alt") === "json;enum-encoding=int";
    const clusters = selected.map((c) =>
      numeric ? { ...c, status: CLUSTER_STATUS.indexOf(String(c.status)) } : c
    );
    return { clusters, ...(m.missingZones.length > 0 ? { missingZones: m.missingZones } : {}) };
  }],
];

/** The route of a request, or undefined (404). */
export function route(method: string, path: string): Route | undefined {
  if (method !== "GET") return undefined;
  for (const [name, pattern, serve] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const groups = match.slice(1).map(decodeURIComponent);
    return {
      name,
      serve: (model, query) => {
        if (name !== "buckets.list") project(model, groups[0]!);
        return serve(model, query, groups);
      },
    };
  }
  return undefined;
}
