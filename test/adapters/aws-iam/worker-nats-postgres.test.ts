import { runAwsIamWorkerScenarios } from "./worker.scenarios.ts";

runAwsIamWorkerScenarios("nats+postgres");
