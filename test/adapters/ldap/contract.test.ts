/**
 * sync.ldap holds to the sync-provider contract against a real slapd: a small
 * directory (60 users, 6 groups, its OUs) read in pages of 20 entries.
 */
import { runSyncProviderContract } from "../../contract/sync-provider.contract.ts";
import { createLdapProvider } from "../../../adapters/ldap/mod.ts";
import { startSlapd } from "../../harness/slapd.ts";
import { generateDirectory } from "../../support/ldif.ts";

runSyncProviderContract({
  name: "sync.ldap",
  skip: {
    throttle: "LDAP has no Retry-After: a busy server answers busy (51) or unavailable (52) without a time",
  },
  async setup() {
    const model = generateDirectory({ users: 60, groups: 6 });
    const server = await startSlapd({ ldif: model.ldif });
    const provider = createLdapProvider({ timeoutMs: 10_000, connectTimeoutMs: 2_000 });
    const wrong = "wrong-reader-password-contract-5e5e";
    const credentials = (password: string) => ({
      url: server.url,
      bindDN: server.readerDN,
      password,
      baseDN: server.suffix,
      pageSize: 20,
    });
    return {
      provider: provider as never,
      target: { scope: "corp", org: null, credentials: credentials(server.readerPassword) },
      badTarget: { scope: "corp", org: null, credentials: credentials(wrong) },
      secrets: [server.readerPassword, wrong],
      minItems: model.users.length + model.groups.length + model.organizations.length,
      async close() {
        await provider.close?.();
        await server.stop();
      },
    };
  },
});
