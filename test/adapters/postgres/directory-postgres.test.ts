import { createPostgresClient } from "../../../adapters/postgres/mod.ts";
import { runDirectoryContract } from "../../contract/directory.contract.ts";
import { testDatabaseUrl } from "../../harness/postgres-server.ts";

runDirectoryContract({
  name: "PostgreSQL (postgres.js)",
  open: async () => createPostgresClient({ url: await testDatabaseUrl() }),
});
