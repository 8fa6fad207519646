import { runWorkerScenarios } from "./worker.scenarios.ts";

runWorkerScenarios("embedded");
