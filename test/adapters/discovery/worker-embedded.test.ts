import { runDiscoveryWorkerScenarios } from "./worker.scenarios.ts";

runDiscoveryWorkerScenarios("embedded");
