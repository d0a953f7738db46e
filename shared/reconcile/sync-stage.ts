/**
 * The sync stage of a reconcile: whether this reconcile syncs the cluster, and running (or
 * resuming) that operation, recorded in the operations store.
 *
 * When a cluster with sync policy `apply` syncs (Argo CD's automated sync, with its
 * `selfHeal` and `prune`; https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/):
 * - a revision not synced yet, when the cluster is OutOfSync: once. A revision whose sync
 *   failed is not retried automatically (Argo CD: "Failed last sync attempt");
 * - with self-heal, live drift at the synced revision: a selective sync of the drifted
 *   resources, without hooks, after an exponential backoff per cluster (2 s, 6 s, 18 s, ...
 *   at most 300 s, Argo CD's default series) counted from the previous heal; after
 *   `MAX_HEALS` heals without the cluster being Synced in between, Converge stops fighting and
 *   reports the resources that keep drifting;
 * - Extra objects count as drift only with prune; a sync that would prune more than half of the
 *   tracked objects, or everything, prunes nothing (`pruneGuard`).
 * A manual sync (`converge sync`) runs whenever the cluster is OutOfSync, also for a revision
 * whose automated sync failed. A running operation is resumed where it stopped (its cursor is
 * kept in the cluster status).
 */
import type { KubeObject, ResourceDrift } from "../model.js";
import { resourceKey } from "../model.js";
import { FIELD_MANAGER, type ResourceApi } from "../kube/resources.js";
import type { ClusterRecord } from "../store/clusters.js";
import { OperationInProgressError, type OperationRecord, type OperationStore, type OperationTrigger } from "../store/operations.js";
import type { ClusterStatus } from "../cluster/status.js";
import { planSync, pruneGuard } from "../sync/plan.js";
import { runSync, type SyncCursor, type SyncProgress } from "../sync/run.js";
import type { Log } from "./reconcile.js";

/** Heals in a row (without a Synced reconcile between) after which self-heal stops. */
export const MAX_HEALS = 5;

/** Self-heal backoff after `attempts` heals: 2 s × 3^attempts, at most 300 s (Argo CD's default). */
export function healBackoffMs(attempts: number): number {
  return Math.min(2_000 * 3 ** attempts, 300_000);
}

/** What the stage works on: the cluster, its placed desired resources and hooks, the comparison. */
export interface SyncInput {
  rec: ClusterRecord;
  revision: string;
  resources: KubeObject[];
  hooks: KubeObject[];
  drift: ResourceDrift[];
  live: KubeObject[];
  /** What asked for this reconcile (a push or a tick). */
  trigger: OperationTrigger;
}

/** What the stage did: objects sent, the status fields it changes, and when to come back for a running operation. */
export interface SyncOutcome {
  synced: boolean;
  /** Objects this call applied, pruned or created (hooks). */
  applied: number;
  status: Partial<ClusterStatus>;
  /** Epoch ms to reconcile again (a running operation waits for health); undefined: the interval. */
  resumeAt?: number;
  message?: string;
}

const needsSync = (d: ResourceDrift, prune: boolean) => d.state === "Modified" || d.state === "Missing" || (d.state === "Extra" && prune && !d.pruneSkipped);

/** Whether to start an operation now, and its trigger; or why not (a message), or nothing. */
function decide(input: SyncInput, now: number): { start?: OperationTrigger; selective?: boolean; status: Partial<ClusterStatus>; resumeAt?: number; message?: string } {
  const { rec, revision, drift } = input;
  const { spec, status } = rec;
  const outOfSync = drift.filter((d) => needsSync(d, spec.prune));
  if (outOfSync.length === 0) return { status: { selfHeal: undefined, ...(status.appliedRevision !== revision ? { appliedRevision: revision } : {}) } };
  if (input.trigger.type === "manual" || input.trigger.type === "rollback") return { start: input.trigger, status: { selfHeal: undefined } };
  if (status.appliedRevision !== revision) {
    if (status.failedRevision === revision) return { status: {}, message: `the sync of ${revision.slice(0, 12)} failed; not retried automatically (converge sync to retry)` };
    return { start: input.trigger, status: {} };
  }
  if (!spec.selfHeal) return { status: {} };
  const attempts = status.selfHeal?.attempts ?? 0;
  if (attempts >= MAX_HEALS) return { status: {}, message: `self-heal stopped after ${attempts} attempts: ${outOfSync.map((d) => d.key).join(", ")} keep drifting` };
  const nextAt = status.selfHeal ? Date.parse(status.selfHeal.lastAt) + healBackoffMs(attempts - 1) : now;
  if (nextAt > now) return { status: {}, resumeAt: nextAt };
  return { start: { type: "self-heal", attempt: attempts + 1 }, selective: true, status: { selfHeal: { attempts: attempts + 1, lastAt: new Date(now).toISOString() } } };
}

/** The plan of operation `op` over the input (the same each time it is made for `op`). */
function planFor(input: SyncInput, op: Pick<OperationRecord, "startedAt" | "trigger" | "revision">, selectiveKeys: Set<string> | undefined) {
  const { spec } = input.rec;
  const extra = new Set(input.drift.filter((d) => d.state === "Extra").map((d) => d.key));
  const pruneCandidates = input.live.filter((o) => extra.has(resourceKey(o)));
  const outOfSync = new Set(input.drift.filter((d) => d.state !== "Synced").map((d) => d.key));
  const guard = spec.prune ? pruneGuard(input.resources.length, input.resources.length + pruneCandidates.length, pruneCandidates.length) : undefined;
  const plan = planSync({
    resources: input.resources,
    hooks: input.hooks,
    pruneCandidates,
    options: {
      prune: spec.prune && !guard,
      pruneLast: spec.syncOptions.pruneLast,
      ...(spec.syncOptions.applyOutOfSyncOnly ? { applyOutOfSyncOnly: outOfSync } : {}),
      ...(selectiveKeys ? { resources: selectiveKeys } : {}),
      revision: op.revision,
      startedAt: new Date(op.startedAt),
    },
  });
  return { plan, guard };
}

/**
 * Runs the sync stage for one reconcile.
 * @throws ClusterUnreachableError / KubeApiError (cluster-wide failures: retried by the caller's policy), store errors.
 */
export async function syncStage(deps: { operations: OperationStore; log: Log; now: () => number }, api: ResourceApi, input: SyncInput): Promise<SyncOutcome> {
  const { rec } = input;
  if (rec.spec.syncPolicy !== "apply") return { synced: false, applied: 0, status: {} };
  const now = deps.now();
  let op: OperationRecord | undefined = rec.status.operation ? await deps.operations.get(rec.name, rec.status.operation.id) : undefined;
  let cursor = op?.phase === "Running" ? (rec.status.operation?.cursor as SyncCursor | undefined) : undefined;
  let status: Partial<ClusterStatus> = {};
  if (op?.phase !== "Running") {
    const d = decide(input, now);
    if (!d.start) return { synced: false, applied: 0, status: { ...d.status, operation: undefined }, resumeAt: d.resumeAt, message: d.message };
    status = d.status;
    try {
      op = await deps.operations.start({ cluster: rec.name, revision: input.revision, trigger: d.start, prune: rec.spec.prune });
    } catch (err) {
      if (err instanceof OperationInProgressError) return { synced: false, applied: 0, status: {}, message: err.message };
      throw err;
    }
    cursor = undefined;
  }
  if (rec.spec.syncOptions.createNamespace) await ensureNamespace(api, rec.spec.namespace);
  const selective = op.trigger.type === "self-heal" ? new Set(input.drift.filter((d) => needsSync(d, rec.spec.prune)).map((d) => d.key)) : undefined;
  const { plan, guard } = planFor(input, op, selective);
  if (guard) deps.log.warn("prune refused", { cluster: rec.name, reason: guard });
  const progress: SyncProgress = await runSync({ api, owner: rec.name, namespace: rec.spec.namespace, options: rec.spec.syncOptions, now: deps.now }, plan, cursor, op.resources);
  const message = [progress.message, guard && `prune skipped: ${guard}`].filter(Boolean).join("; ") || undefined;
  await deps.operations.update({ ...op, resources: progress.results, ...(message ? { message } : {}) });
  const before = new Set(op.resources.map((r) => `${r.action}|${r.key}|${r.status}`));
  const applied = progress.results.filter((r) => ["Synced", "Pruned", "Running"].includes(r.status) && !before.has(`${r.action}|${r.key}|${r.status}`)).length;
  if (progress.phase === "Running") {
    return { synced: true, applied, status: { ...status, operation: { id: op.id, cursor: progress.cursor } }, resumeAt: deps.now() + 5_000 };
  }
  await deps.operations.finish(op, progress.phase, message);
  const automated = op.trigger.type === "push" || op.trigger.type === "tick";
  const done: Partial<ClusterStatus> = progress.phase === "Succeeded" ? { appliedRevision: op.revision, failedRevision: undefined } : automated ? { failedRevision: op.revision } : {};
  deps.log.info("sync finished", { cluster: rec.name, operation: op.id, phase: progress.phase, revision: op.revision, message });
  return { synced: true, applied, status: { ...status, ...done, operation: undefined }, message: progress.phase === "Failed" ? `sync failed: ${message}` : undefined };
}

/** `CreateNamespace=true`: the cluster's namespace is created when missing (not tracked, so never pruned; as Argo CD). */
async function ensureNamespace(api: ResourceApi, name: string): Promise<void> {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
  if (!(await api.get(ns))) await api.apply(ns, { fieldManager: FIELD_MANAGER, force: true });
}
