import { runDiscoveryWorkerScenarios } from "./worker.scenarios.ts";

runDiscoveryWorkerScenarios("nats+postgres");
