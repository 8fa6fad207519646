/**
 * Which discovery providers this build has, and how each is opened from the
 * configuration (endpoints and defaults; credentials come per job).
 *
 * @module
 */
import type { ProviderFactories } from "./discovery-kinds.ts";

/** The providers, by name. */
export const DISCOVERY_PROVIDERS: ProviderFactories = {};
