import { runWorkerScenarios } from "./worker.scenarios.ts";

runWorkerScenarios("nats+postgres");
