import { createPgliteClient } from "../../../adapters/postgres/mod.ts";
import { runDirectoryContract } from "../../contract/directory.contract.ts";

runDirectoryContract({ name: "PGlite (embedded)", open: () => createPgliteClient() });
