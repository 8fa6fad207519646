import { runAwsIamWorkerScenarios } from "./worker.scenarios.ts";

runAwsIamWorkerScenarios("embedded");
