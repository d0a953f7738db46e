/**
 * The checks of the fault-injection and abuse suite, in the order they run: `npm run chaos`
 * (`./index.ts`) runs them at full size, the test command's `test/chaos/quick.test.ts` with
 * `quick` (fewer iterations, same assertions).
 */
import type { ChaosCheck } from "./check.js";
import { injectedFaults, wireFaults } from "./faults.js";
import { hostileWebhooks } from "./webhooks.js";
import { clusterFaults } from "./clusters.js";
import { reposCheck } from "./repos.js";
import { secretsCheck } from "./secrets.js";
import { endurance } from "./endurance.js";

export const CHECKS: ChaosCheck[] = [injectedFaults, wireFaults, hostileWebhooks, clusterFaults, reposCheck, secretsCheck, endurance];
