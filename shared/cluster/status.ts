/**
 * The status Converge keeps for each cluster: the central view's row.
 */
import type { SourceLocation, SyncStatus } from "../model.js";
import type { HealthStatus } from "../health/index.js";

/** Resource counts of the last reconcile that computed drift. */
export interface ResourceCounts {
  /** Objects in the desired state. */
  resources: number;
  synced: number;
  modified: number;
  missing: number;
  extra: number;
}

/**
 * Status of a cluster.
 * `sync` is `Unknown` when the cluster API could not be reached (drift unknown, last counts
 * kept), `Error` when the desired state could not be computed (bad YAML...: `message` and
 * `errorSource` say where; `snapshotKey` still names the last good desired snapshot).
 */
export interface ClusterStatus {
  sync: SyncStatus;
  /** Commit SHA of the desired state last reconciled (or attempted, on Error). */
  revision?: string;
  /** Worst health of the desired resources (Argo CD's rule); absent before the first successful reconcile. */
  health?: HealthStatus;
  /** Number of resources per health status (kinds without a health check are not counted). */
  healthCounts?: Partial<Record<HealthStatus, number>>;
  /** Human-readable cause for Unknown / Error. */
  message?: string;
  errorSource?: SourceLocation;
  counts: ResourceCounts;
  /** Key of the last good desired snapshot (`desired#...` in the snapshots table). */
  snapshotKey?: string;
  /** Revision of the last sync that succeeded (sync policy `apply`). */
  appliedRevision?: string;
  /** Revision of the last automated sync that failed: not retried automatically (Argo CD: "Failed last sync attempt"). */
  failedRevision?: string;
  /** Self-heal attempts since the cluster was last Synced, and when the last one started (ISO). */
  selfHeal?: { attempts: number; lastAt: string };
  /** The sync operation running now, with where it resumes. */
  operation?: { id: string; cursor?: { phase: string; wave: number; sentAt?: number }; only?: string[] };
  /** Automatic retries of the failed sync `of` (an operation id) of `revision`: retries so far and when the next may start (ISO). */
  retry?: { revision: string; of: string; attempts: number; nextAt: string };
  /** Kinds and namespaces of the Extra resources: listed again by the next reconcile, so an object gone from Git stays Extra until it is pruned. */
  extraScopes?: { apiVersion: string; kind: string; namespace?: string }[];
  /** Digest of the observed drift state (changes only when some resource's drift changes). */
  observedDigest?: string;
  /** ISO time the last reconcile finished. */
  lastReconcileAt?: string;
  /** ISO time of the last reconcile that computed drift (Synced or OutOfSync). */
  lastSuccessAt?: string;
  /**
   * ISO time of the first reconcile that found the cluster OutOfSync since it was last seen
   * Synced: kept through Error / Unknown (drift not known then), cleared by a Synced reconcile.
   * The diverged alarm reads how long ago it was (shared/metrics/signals.ts).
   */
  outOfSyncSince?: string;
  /** ISO time of the first of the consecutive failed (Error / Unknown) reconciles; cleared by a successful one. */
  failingSince?: string;
  /** Wall time of the last reconcile, milliseconds. */
  durationMs?: number;
}

/** The status of a cluster that has never been reconciled. */
export function initialStatus(): ClusterStatus {
  return { sync: "Unknown", message: "not reconciled yet", counts: { resources: 0, synced: 0, modified: 0, missing: 0, extra: 0 } };
}
