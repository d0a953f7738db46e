/**
 * The reconcile's composition: the stores it reads and writes, the Git reader and the cluster
 * connector. This is the only composition module that pulls in isomorphic-git,
 * @kubernetes/client-node and the EKS/STS clients; the reconcile function, the CLI's
 * `diff`/`sync` commands and the tests use it, the webhook, tick and API functions do not.
 */
import { loadConfig, type ConvergeConfig } from "../config.js";
import type { ClusterAccess } from "../cluster/spec.js";
import { GitSource } from "../git/source.js";
import { connectCluster } from "../kube/connect.js";
import type { ResourceApi } from "../kube/resources.js";
import type { ReconcileDeps } from "../reconcile/reconcile.js";
import { gitToken } from "../secrets.js";
import type { ClusterStore } from "../store/clusters.js";
import type { EventStore } from "../store/events.js";
import type { OperationStore } from "../store/operations.js";
import type { SnapshotStore } from "../store/snapshots.js";
import { clusterStore, dynamo, eventStore, operationStore, resumeQueue, snapshotStore } from "./stores.js";
import { announceSettings, type AnnounceDeps } from "../events/announce.js";
import { ConvergedMarkers } from "../events/converged.js";
import { createCommitStatusPort } from "../githost/statuses.js";
import { eventPublisher } from "../events/publisher.js";

/** What a reconcile (and `converge diff` / `converge sync`) needs. */
export interface ReconcileServices {
  config: ConvergeConfig;
  clusters: ClusterStore;
  snapshots: SnapshotStore;
  events: EventStore;
  /** The record of sync operations (history, the running one, the last succeeded). */
  operations: OperationStore;
  /** The Git reader; its bare repositories under `config.workDir` are reused by warm invocations. */
  git: GitSource;
  /** Opens a cluster's API with its access spec (kubeconfig, server + token, EKS). */
  connect(access: ClusterAccess): Promise<ResourceApi>;
}

/** Builds the reconcile's services from `config` (default: the environment, see `shared/config.ts`). */
export function createReconcileServices(config: ConvergeConfig = loadConfig()): ReconcileServices {
  return {
    config,
    clusters: clusterStore(config),
    snapshots: snapshotStore(config),
    events: eventStore(config),
    operations: operationStore(config),
    git: new GitSource(config.workDir),
    connect: connectCluster,
  };
}

/**
 * What the reconcile announces with (shared/events): the publisher the environment names, the
 * branch's fleet from the cluster registry, the `Revision Converged` markers in the drift-events
 * table, commit statuses on the Git host (sources with a status API and credentials), the
 * settings of `announceSettings`.
 */
export function announceDeps(s: Pick<ReconcileServices, "config" | "clusters">, log?: ReconcileDeps["log"]): AnnounceDeps {
  return {
    publisher: eventPublisher(process.env, log),
    fleet: s.clusters,
    markers: new ConvergedMarkers(dynamo(s.config), s.config.tables.events, s.config.eventTtlDays),
    statuses: createCommitStatusPort({ region: s.config.region }),
    ...announceSettings(),
  };
}

/** The reconcile's dependencies out of the services; Git tokens come from `shared/secrets.ts`; events as `announceDeps` makes them. */
export function reconcileDeps(s: ReconcileServices, extra: Partial<ReconcileDeps> = {}): ReconcileDeps {
  const gitAuth: ReconcileDeps["gitAuth"] = async (source) =>
    source.credentials ? { username: source.credentials.username, password: await gitToken(source.credentials, s.config.region) } : undefined;
  const resume = resumeQueue(s.config);
  return {
    clusters: s.clusters,
    snapshots: s.snapshots,
    events: s.events,
    operations: s.operations,
    git: s.git,
    connect: s.connect,
    gitAuth,
    announce: announceDeps(s, extra.log),
    ...(resume ? { resume } : {}),
    ...extra,
  } as ReconcileDeps;
}
