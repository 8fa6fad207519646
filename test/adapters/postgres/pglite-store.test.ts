import { createPgliteStore } from "../../../adapters/postgres/mod.ts";
import { runStoreContract } from "../../contract/store.contract.ts";

runStoreContract({ name: "PGlite (embedded)", create: () => createPgliteStore() });
