import { createPgliteClient } from "../../../adapters/postgres/mod.ts";
import { runInventoryContract } from "../../contract/inventory.contract.ts";

runInventoryContract({ name: "PGlite (embedded)", open: () => createPgliteClient() });
