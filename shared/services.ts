/**
 * The full composition root of the CLI, the local tools and the tests: every store, the queue,
 * the Git reader and the cluster connector from one configuration, built once per process.
 *
 * Lambda handlers do not import it: each builds only what it uses from `compose/stores.ts`
 * (one factory per store, no Git or Kubernetes code) or, for the reconcile, from
 * `compose/reconcile.ts`, so the webhook, tick and API bundles stay small
 * (test/infra/bundles.test.ts).
 */
import { loadConfig, type ConvergeConfig } from "./config.js";
import type { DeliveryStore } from "./store/deliveries.js";
import type { TaskQueue } from "./queue/tasks.js";
import { createReconcileServices, type ReconcileServices } from "./compose/reconcile.js";
import { deliveryStore, taskQueue } from "./compose/stores.js";

export { reconcileDeps, type ReconcileServices } from "./compose/reconcile.js";

/** Everything the CLI, the local tools and the tests use. `queue` is undefined when no queue URL is configured. */
export interface Services extends ReconcileServices {
  deliveries: DeliveryStore;
  queue?: TaskQueue;
}

/** Builds the services from `config` (default: the environment, see `shared/config.ts`). */
export function createServices(config: ConvergeConfig = loadConfig()): Services {
  return { ...createReconcileServices(config), deliveries: deliveryStore(config), queue: taskQueue(config) };
}
