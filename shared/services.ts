/**
 * The composition root: builds every store, the queue and the Git reader from one
 * configuration. Handlers, the CLI and the local mode call this once per process (Lambda
 * reuses it across warm invocations).
 */
import { loadConfig, type ConvergeConfig } from "./config.js";
import { documentClient } from "./store/client.js";
import { ClusterStore } from "./store/clusters.js";
import { SnapshotStore } from "./store/snapshots.js";
import { EventStore } from "./store/events.js";
import { DeliveryStore } from "./store/deliveries.js";
import { OperationStore } from "./store/operations.js";
import { sqsClient, TaskQueue } from "./queue/tasks.js";
import { GitSource } from "./git/source.js";
import { connectCluster } from "./kube/connect.js";
import type { ResourceApi } from "./kube/resources.js";
import type { ClusterAccess } from "./cluster/spec.js";
import type { ReconcileDeps } from "./reconcile/reconcile.js";
import { gitToken } from "./secrets.js";

/** Everything a handler or the CLI needs. `queue` is undefined when no queue URL is configured. */
export interface Services {
  config: ConvergeConfig;
  clusters: ClusterStore;
  snapshots: SnapshotStore;
  events: EventStore;
  deliveries: DeliveryStore;
  /** The record of sync operations (history, the running one, the last succeeded). */
  operations: OperationStore;
  queue?: TaskQueue;
  git: GitSource;
  /** Opens a cluster's API with its access spec (kubeconfig, server + token, EKS). */
  connect(access: ClusterAccess): Promise<ResourceApi>;
}

/** Builds the services from `config` (default: the environment, see `shared/config.ts`). */
export function createServices(config: ConvergeConfig = loadConfig()): Services {
  const db = documentClient(config);
  return {
    config,
    clusters: new ClusterStore(db, config.tables.clusters),
    snapshots: new SnapshotStore(db, config.tables.snapshots),
    events: new EventStore(db, config.tables.events, config.eventTtlDays),
    deliveries: new DeliveryStore(db, config.tables.deliveries),
    operations: new OperationStore(db, config.tables.operations, { ttlDays: config.operationTtlDays }),
    queue: config.queueUrl ? new TaskQueue(sqsClient(config), config.queueUrl) : undefined,
    git: new GitSource(config.workDir),
    connect: connectCluster,
  };
}

/** The reconcile's dependencies out of the services. */
export function reconcileDeps(s: Services, extra: Partial<ReconcileDeps> = {}): ReconcileDeps {
  const gitAuth: ReconcileDeps["gitAuth"] = async (source) =>
    source.credentials ? { username: source.credentials.username, password: await gitToken(source.credentials, s.config.region) } : undefined;
  return { clusters: s.clusters, snapshots: s.snapshots, events: s.events, operations: s.operations, git: s.git, connect: s.connect, gitAuth, ...extra } as ReconcileDeps;
}
