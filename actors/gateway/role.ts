/** Roles of the HTTP API, from least to most allowed: viewer reads; admin also submits, triggers, cancels and retries. */
export const Role = { viewer: "viewer", admin: "admin" } as const;
export type Role = (typeof Role)[keyof typeof Role];
