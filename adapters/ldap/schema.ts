/**
 * The credentials of an LDAP directory, as a `sync.ldap` payload's credentials
 * reference resolves them (`TROUPE_CREDENTIALS_<REF>` or
 * `<TROUPE_CREDENTIALS_DIR>/<ref>.json`). Strict: an unknown field is refused, so
 * a typo (`bindDn`) fails the job at once instead of binding anonymously.
 * Cheap: zod only, imported by the manifest at start.
 *
 * @example
 * ```json
 * { "url": "ldaps://ldap.example.org", "bindDN": "cn=reader,dc=example,dc=org",
 *   "password": "…", "baseDN": "dc=example,dc=org", "ca": "-----BEGIN CERTIFICATE-----\n…" }
 * ```
 * @module
 */
import { z } from "zod";

/** `ldap://host[:port]` or `ldaps://host[:port]`, an optional trailing `/` and nothing after it. */
export const LDAP_URL = /^ldaps?:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?\/?$/;

/** The largest page the provider asks for (Active Directory's MaxPageSize defaults to 1,000). */
export const MAX_PAGE_SIZE = 10_000;

/** Which directory's attribute names and object classes to read. */
export const LDAP_SCHEMAS = ["openldap", "ad"] as const;
export type LdapSchema = (typeof LDAP_SCHEMAS)[number];

const text = (what: string) => z.string().trim().min(1, { message: `must be a non-empty ${what}` });

/** The credentials object of an LDAP directory. */
export const ldapCredentialsSchema = z.strictObject({
  url: z.string().regex(LDAP_URL, {
    message: "must be an ldap:// or ldaps:// URL: scheme, host and port only",
  }),
  bindDN: text("DN"),
  /** Secret: never logged, echoed or put in an error. */
  password: z.string().min(1, { message: "must be a non-empty string" }).meta({ writeOnly: true }),
  baseDN: text("DN"),
  /** Upgrades an ldap:// connection with the StartTLS extended operation before binding. */
  startTLS: z.boolean().default(false),
  /** PEM certificate(s) the server's certificate must chain to; absent: the runtime's trusted roots. */
  ca: z.string().includes("-----BEGIN CERTIFICATE-----", {
    message: "must be PEM text of one or more certificates",
  })
    .optional(),
  schema: z.enum(LDAP_SCHEMAS).default("openldap"),
  /** The whole filter selecting users; absent: the schema's default. */
  userFilter: text("LDAP filter").optional(),
  /** The whole filter selecting groups; absent: the schema's default. */
  groupFilter: text("LDAP filter").optional(),
  /** Entries per paged-results page (RFC 2696). */
  pageSize: z.int().min(1).max(MAX_PAGE_SIZE).default(500),
}).superRefine((value, ctx) => {
  const secure = value.url.startsWith("ldaps:");
  if (secure && value.startTLS) {
    ctx.addIssue({ code: "custom", path: ["startTLS"], message: "must not be set with an ldaps:// URL" });
  }
  // A CA on a plain connection would be silently unused: the operator expected TLS.
  if (value.ca !== undefined && !secure && !value.startTLS) {
    ctx.addIssue({ code: "custom", path: ["ca"], message: "is used only with an ldaps:// URL or startTLS" });
  }
});

/** Validated credentials of an LDAP directory. */
export type LdapCredentials = z.output<typeof ldapCredentialsSchema>;

/** The default filters of each schema. */
export const DEFAULT_FILTERS: Readonly<
  Record<LdapSchema, { users: string; groups: string; organizations: string }>
> = {
  openldap: {
    users: "(objectClass=inetOrgPerson)",
    groups: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
    organizations: "(objectClass=organizationalUnit)",
  },
  ad: {
    users: "(&(objectCategory=person)(objectClass=user))",
    groups: "(objectClass=group)",
    organizations: "(objectClass=organizationalUnit)",
  },
};

/**
 * Validates resolved credentials. Issues name the field and the rule, never the
 * value (zod's messages carry no input).
 */
export function parseLdapCredentials(
  value: unknown,
): { ok: true; credentials: LdapCredentials } | { ok: false; field: string; message: string } {
  const parsed = ldapCredentialsSchema.safeParse(value ?? {});
  if (parsed.success) return { ok: true, credentials: parsed.data };
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    return { ok: false, field: issue.keys[0]!, message: "is not a known field" };
  }
  const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  return { ok: false, field, message: issue.message };
}
