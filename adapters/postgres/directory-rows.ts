/**
 * Directory rows as read (identities, groups, organizations, write-back
 * changes), their mapping from SQL rows, and their JSON for the API.
 *
 * @module
 */
import { toDate, toDateOrNull } from "./sql-store.ts";

type Row = Record<string, unknown>;

/** An identity as stored. */
export interface IdentityRow {
  id: number;
  provider: string;
  scope: string;
  externalId: string;
  kind: string;
  username: string | null;
  email: string | null;
  displayName: string | null;
  status: string;
  attributes: Record<string, unknown>;
  org: string | null;
  organizationId: number | null;
  runTag: string;
  firstSeen: Date;
  lastSeen: Date;
  deletedAt: Date | null;
}

/** A group as stored; `directMembers` when listed. */
export interface GroupRow {
  id: number;
  provider: string;
  scope: string;
  externalId: string;
  name: string;
  attributes: Record<string, unknown>;
  org: string | null;
  runTag: string;
  firstSeen: Date;
  lastSeen: Date;
  deletedAt: Date | null;
  directMembers?: number;
}

/** An organization (OU, org unit) as stored. */
export interface OrganizationRow {
  id: number;
  provider: string;
  scope: string;
  externalId: string;
  name: string;
  parentId: number | null;
  org: string | null;
  firstSeen: Date;
  lastSeen: Date;
  deletedAt: Date | null;
}

/** A write-back change; `status` derived from `appliedAt` and its job. */
export interface ChangeRow {
  id: number;
  groupId: number;
  identityId: number;
  identityExternalId: string | null;
  identityUsername: string | null;
  operation: "add" | "remove";
  status: "pending" | "applied" | "failed";
  jobId: string | null;
  requestedAt: Date;
  appliedAt: Date | null;
  providerRequestId: string | null;
}

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
const id = (value: unknown) => (value === null || value === undefined ? null : Number(value));

export function toIdentityRow(row: Row): IdentityRow {
  return {
    id: Number(row.id),
    provider: String(row.provider),
    scope: String(row.scope),
    externalId: String(row.external_id),
    kind: String(row.kind),
    username: text(row.username),
    email: text(row.email),
    displayName: text(row.display_name),
    status: String(row.status),
    attributes: (row.attributes as Record<string, unknown>) ?? {},
    org: text(row.org),
    organizationId: id(row.organization_id),
    runTag: String(row.run_tag),
    firstSeen: toDate(row.first_seen),
    lastSeen: toDate(row.last_seen),
    deletedAt: toDateOrNull(row.deleted_at),
  };
}

export function toGroupRow(row: Row): GroupRow {
  return {
    id: Number(row.id),
    provider: String(row.provider),
    scope: String(row.scope),
    externalId: String(row.external_id),
    name: String(row.name),
    attributes: (row.attributes as Record<string, unknown>) ?? {},
    org: text(row.org),
    runTag: String(row.run_tag),
    firstSeen: toDate(row.first_seen),
    lastSeen: toDate(row.last_seen),
    deletedAt: toDateOrNull(row.deleted_at),
    ...(row.direct_members !== undefined ? { directMembers: Number(row.direct_members) } : {}),
  };
}

export function toOrganizationRow(row: Row): OrganizationRow {
  return {
    id: Number(row.id),
    provider: String(row.provider),
    scope: String(row.scope),
    externalId: String(row.external_id),
    name: String(row.name),
    parentId: id(row.parent_id),
    org: text(row.org),
    firstSeen: toDate(row.first_seen),
    lastSeen: toDate(row.last_seen),
    deletedAt: toDateOrNull(row.deleted_at),
  };
}

export function toChangeRow(row: Row): ChangeRow {
  const failed = row.job_status === "failed" || row.job_status === "cancelled";
  return {
    id: Number(row.id),
    groupId: Number(row.group_id),
    identityId: Number(row.identity_id),
    identityExternalId: text(row.identity_external_id),
    identityUsername: text(row.identity_username),
    operation: row.operation === "remove" ? "remove" : "add",
    status: row.applied_at ? "applied" : failed ? "failed" : "pending",
    jobId: text(row.job_id),
    requestedAt: toDate(row.requested_at),
    appliedAt: toDateOrNull(row.applied_at),
    providerRequestId: text(row.provider_request_id),
  };
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** Identity → JSON for the API (the run tag stays inside). */
export function identityToJson(row: IdentityRow): Record<string, unknown> {
  const { runTag: _, firstSeen, lastSeen, deletedAt, ...rest } = row;
  return { ...rest, firstSeen: iso(firstSeen), lastSeen: iso(lastSeen), deletedAt: iso(deletedAt) };
}

/** Group → JSON for the API. */
export function groupToJson(row: GroupRow): Record<string, unknown> {
  const { runTag: _, firstSeen, lastSeen, deletedAt, ...rest } = row;
  return { ...rest, firstSeen: iso(firstSeen), lastSeen: iso(lastSeen), deletedAt: iso(deletedAt) };
}

/** Organization → JSON for the API. */
export function organizationToJson(row: OrganizationRow): Record<string, unknown> {
  const { firstSeen, lastSeen, deletedAt, ...rest } = row;
  return { ...rest, firstSeen: iso(firstSeen), lastSeen: iso(lastSeen), deletedAt: iso(deletedAt) };
}

/** Change → JSON for the API. */
export function changeToJson(row: ChangeRow): Record<string, unknown> {
  return { ...row, requestedAt: iso(row.requestedAt), appliedAt: iso(row.appliedAt) };
}
