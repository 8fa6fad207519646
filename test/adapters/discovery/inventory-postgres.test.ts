import { createPostgresClient } from "../../../adapters/postgres/mod.ts";
import { runInventoryContract } from "../../contract/inventory.contract.ts";
import { testDatabaseUrl } from "../../harness/postgres-server.ts";

runInventoryContract({
  name: "PostgreSQL (postgres.js)",
  open: async () => createPostgresClient({ url: await testDatabaseUrl() }),
});
