/**
 * The inventory port: where a discovery sync writes what it saw, the sync
 * sink (adapters/sync/port.ts) of `resources`. PostgreSQL implements it
 * (adapters/postgres/sql-inventory.ts).
 *
 * A stale resource is a live resource of a covered type and region that a
 * fully successful run did not see; it is marked deleted (`deleted_at`), never
 * removed.
 *
 * @module
 */
import type { SyncSink } from "../sync/port.ts";
import type { DiscoveredResource, ResourceCovers } from "./provider.ts";

export type { FailedPage, RunEnd, RunRef, RunStart } from "../sync/port.ts";

/** Writes of a discovery sync: resources (and their outgoing links) tagged with the run. */
export type Inventory = SyncSink<DiscoveredResource, ResourceCovers>;
