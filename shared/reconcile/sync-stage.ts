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
 * - never a revision older than the one synced from the branch (an ancestor of it: the branch
 *   was rewound); that is reported, and left to a manual sync.
 * A manual sync (`converge sync`) runs whenever the cluster is OutOfSync, also for a revision
 * whose automated sync failed. A running operation is resumed where it stopped (its cursor is
 * kept in the cluster status).
 */
import type { KubeObject, ResourceDrift } from "../model.js";
import { resourceKey } from "../model.js";
import { FIELD_MANAGER, type ResourceApi } from "../kube/resources.js";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { ClusterRecord } from "../store/clusters.js";
import { OperationInProgressError, type OperationRecord, type OperationTrigger } from "../store/operations.js";
import type { ClusterPort, OperationPort } from "./ports.js";
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
  /** The revision is a strict ancestor of this synced one (the branch was rewound): not applied automatically. */
  behind?: string;
  /** Options of a manual sync: prune this once, past the prune guard (`force`), only these resource keys. */
  manual?: { prune?: boolean; force?: boolean; resources?: string[] };
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
  const outOfSync = drift.filter((d) => needsSync(d, input.manual?.prune ?? spec.prune));
  if (outOfSync.length === 0) return { status: { selfHeal: undefined, ...(status.appliedRevision !== revision ? { appliedRevision: revision } : {}) } };
  if (input.trigger.type === "manual" || input.trigger.type === "rollback") return { start: input.trigger, status: { selfHeal: undefined } };
  if (input.behind)
    return {
      status: {},
      message: `${revision.slice(0, 12)} is older than the synced ${input.behind.slice(0, 12)} on branch ${spec.source.branch}; not applied automatically (converge sync --revision ${revision} applies it)`,
    };
  if (status.appliedRevision !== revision) {
    if (status.failedRevision !== revision) return { start: input.trigger, status: { retry: undefined } };
    return retryDecision(input, now);
  }
  if (!spec.selfHeal) return { status: {} };
  const attempts = status.selfHeal?.attempts ?? 0;
  if (attempts >= MAX_HEALS) return { status: {}, message: `self-heal stopped after ${attempts} attempts: ${outOfSync.map((d) => d.key).join(", ")} keep drifting` };
  const nextAt = status.selfHeal ? Date.parse(status.selfHeal.lastAt) + healBackoffMs(attempts - 1) : now;
  if (nextAt > now) return { status: {}, resumeAt: nextAt };
  return { start: { type: "self-heal", attempt: attempts + 1 }, selective: true, status: { selfHeal: { attempts: attempts + 1, lastAt: new Date(now).toISOString() } } };
}

/** Retrying a failed automated sync of the same revision, per the cluster's `retry` policy (its backoff counted from the failure). */
function retryDecision(input: SyncInput, now: number): ReturnType<typeof decide> {
  const { revision, rec } = input;
  const state = rec.status.retry?.revision === revision ? rec.status.retry : undefined;
  if (!state || state.attempts >= rec.spec.retry.limit) {
    const tried = state?.attempts ? ` after ${state.attempts} retries` : "";
    return { status: {}, message: `the sync of ${revision.slice(0, 12)} failed${tried}; not retried automatically (converge sync to retry)` };
  }
  const nextAt = Date.parse(state.nextAt);
  if (nextAt > now) return { status: {}, resumeAt: nextAt };
  return { start: { type: "retry", of: state.of, attempt: state.attempts + 1 }, status: { retry: { ...state, attempts: state.attempts + 1 } } };
}

/** The retry state after operation `op` of an automated sync failed (the wait: duration × factor^retries, capped). */
function afterFailure(spec: SyncInput["rec"]["spec"], previous: SyncInput["rec"]["status"]["retry"], op: Pick<OperationRecord, "id" | "revision">, now: number) {
  const attempts = previous?.revision === op.revision ? previous.attempts : 0;
  const wait = Math.min(spec.retry.durationSeconds * spec.retry.factor ** attempts, spec.retry.maxDurationSeconds) * 1000;
  return { revision: op.revision, of: previous?.revision === op.revision ? previous.of : op.id, attempts, nextAt: new Date(now + wait).toISOString() };
}

/**
 * The plan of an operation over a cluster's desired and live state (the same each time it is
 * made for one operation: its revision and start time name the `generateName` hooks).
 * `only`: a selective sync of these resource keys (hooks skipped, as Argo CD does).
 * @returns the plan, and why prune was refused (see `pruneGuard`) if it was.
 * @throws SyncWaveError (a bad wave annotation), SyncPlanError.
 */
export function planOperation(input: Omit<SyncInput, "trigger">, op: Pick<OperationRecord, "startedAt" | "revision"> & { prune: boolean }, only: Set<string> | undefined) {
  const { spec } = input.rec;
  const extra = new Set(input.drift.filter((d) => d.state === "Extra").map((d) => d.key));
  const pruneCandidates = input.live.filter((o) => extra.has(resourceKey(o)));
  const outOfSync = new Set(input.drift.filter((d) => d.state !== "Synced").map((d) => d.key));
  const guard = op.prune ? pruneGuard(input.resources.length, input.resources.length + pruneCandidates.length, pruneCandidates.length, { force: input.manual?.force }) : undefined;
  const plan = planSync({
    resources: input.resources,
    hooks: input.hooks,
    pruneCandidates,
    options: {
      prune: op.prune && !guard,
      pruneLast: spec.syncOptions.pruneLast,
      ...(spec.syncOptions.applyOutOfSyncOnly ? { applyOutOfSyncOnly: outOfSync } : {}),
      ...(only ? { resources: only } : {}),
      revision: op.revision,
      startedAt: new Date(op.startedAt),
    },
  });
  return { plan, guard };
}

/** What the sync stage uses. */
export interface SyncStageDeps {
  operations: OperationPort;
  clusters: ClusterPort;
  log: Log;
  now: () => number;
  waitMs?: number;
  /** Told of each operation record once its start or its end is stored (phase Running, then a final phase): the reconcile announces them. */
  onOperation?: (op: OperationRecord) => void;
}

/** How long a sync holds the cluster's lease at most (ms): longer than one reconcile (a Lambda runs 15 minutes at most). */
export const LEASE_MS = 15 * 60_000;

/**
 * Runs the sync stage for one reconcile. A sync holds the cluster's lease (shared/store/clusters.ts)
 * while it runs, so a tick, a push and a CLI sync never sync one cluster together.
 * @throws ClusterUnreachableError / KubeApiError (cluster-wide failures: retried by the caller's policy), store errors.
 */
export async function syncStage(deps: SyncStageDeps, api: ResourceApi, input: SyncInput): Promise<SyncOutcome> {
  const { rec } = input;
  if (rec.spec.syncPolicy !== "apply") return { synced: false, applied: 0, status: {} };
  // the running operation, also one whose cursor a concurrent status write lost (it restarts its plan: applies are idempotent)
  const running = rec.status.operation ? await deps.operations.get(rec.name, rec.status.operation.id) : await deps.operations.running(rec.name);
  const d = running?.phase === "Running" ? undefined : decide(input, deps.now());
  if (d && !d.start) return { synced: false, applied: 0, status: { ...d.status, operation: undefined }, resumeAt: d.resumeAt, message: d.message };
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  if (!(await deps.clusters.acquireLease(rec.name, owner, LEASE_MS, deps.now()))) {
    return { synced: false, applied: 0, status: {}, message: "another sync of this cluster is running (its lease is held); this reconcile only compared" };
  }
  try {
    if (!d?.start) return await runOperation(deps, api, input, running!, rec.status.operation?.cursor as SyncCursor | undefined, {});
    let op: OperationRecord;
    try {
      op = await deps.operations.start({ cluster: rec.name, revision: input.revision, trigger: d.start, prune: input.manual?.prune ?? rec.spec.prune });
      deps.onOperation?.(op);
    } catch (err) {
      if (err instanceof OperationInProgressError) return { synced: false, applied: 0, status: {}, message: err.message };
      throw err;
    }
    return await runOperation(deps, api, input, op, undefined, d.status);
  } finally {
    await deps.clusters.releaseLease(rec.name, owner);
  }
}

/** Runs (or resumes from `cursor`) operation `op` under the cluster's lease and records it; `status` is what the decision to start it changes. */
async function runOperation(
  deps: Omit<SyncStageDeps, "clusters">,
  api: ResourceApi,
  input: SyncInput,
  op: OperationRecord,
  cursor: SyncCursor | undefined,
  status: Partial<ClusterStatus>,
): Promise<SyncOutcome> {
  const { rec } = input;
  if (rec.spec.syncOptions.createNamespace) await ensureNamespace(api, rec.spec.namespace);
  const only =
    rec.status.operation?.id === op.id ? rec.status.operation.only : op.trigger.type === "self-heal" ? input.drift.filter((d) => needsSync(d, rec.spec.prune)).map((d) => d.key) : selected(input);
  const { plan, guard } = planOperation(input, { ...op, prune: op.prune ?? rec.spec.prune }, only ? new Set(only) : undefined);
  if (guard) deps.log.warn("prune refused", { cluster: rec.name, reason: guard });
  const progress: SyncProgress = await runSync({ api, owner: rec.name, namespace: rec.spec.namespace, options: rec.spec.syncOptions, now: deps.now, pollMs: deps.waitMs }, plan, cursor, op.resources);
  const message = [progress.message, guard && `prune skipped: ${guard}`].filter(Boolean).join("; ") || undefined;
  await deps.operations.update({ ...op, resources: progress.results, ...(message ? { message } : {}) });
  const before = new Set(op.resources.map((r) => `${r.action}|${r.key}|${r.status}`));
  const applied = progress.results.filter((r) => ["Synced", "Pruned", "Running"].includes(r.status) && !before.has(`${r.action}|${r.key}|${r.status}`)).length;
  if (progress.phase === "Running") {
    return { synced: true, applied, status: { ...status, operation: { id: op.id, cursor: progress.cursor, ...(only ? { only } : {}) } }, resumeAt: deps.now() + 5_000 };
  }
  deps.onOperation?.(await deps.operations.finish(op, progress.phase, message));
  const automated = op.trigger.type === "push" || op.trigger.type === "tick" || op.trigger.type === "retry";
  const retry = { ...rec.status.retry, ...status.retry } as ClusterStatus["retry"];
  const done: Partial<ClusterStatus> =
    progress.phase === "Succeeded"
      ? { appliedRevision: op.revision, failedRevision: undefined, retry: undefined }
      : automated
        ? { failedRevision: op.revision, retry: afterFailure(rec.spec, retry, op, deps.now()) }
        : {};
  deps.log.info("sync finished", { cluster: rec.name, operation: op.id, phase: progress.phase, revision: op.revision, ...(message ? { detail: message } : {}) });
  return { synced: true, applied, status: { ...status, ...done, operation: undefined }, message: progress.phase === "Failed" ? `sync failed: ${message}` : undefined };
}

/** `CreateNamespace=true`: the cluster's namespace is created when missing (not tracked, so never pruned; as Argo CD). */
async function ensureNamespace(api: ResourceApi, name: string): Promise<void> {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name } };
  if (!(await api.get(ns))) await api.apply(ns, { fieldManager: FIELD_MANAGER, force: true });
}

/**
 * The resource keys a manual sync's `--resource` selectors name: a full key
 * (`apps/Deployment/default/web`), `Kind/namespace/name`, or `Kind/name` (cluster-scoped or in
 * the cluster's namespace); undefined when the sync is not selective.
 */
export function selected(input: Pick<SyncInput, "manual" | "resources" | "live" | "rec">): string[] | undefined {
  const selectors = input.manual?.resources;
  if (!selectors?.length) return undefined;
  const keys = [...input.resources, ...input.live].map((o) => resourceKey(o));
  const short = (k: string) => k.split("/").slice(1);
  return [...new Set(keys)].filter((k) => {
    const [kind, ns, name] = short(k);
    return selectors.some((s) => s === k || s === `${kind}/${ns}/${name}` || (s === `${kind}/${name}` && (!ns || ns === input.rec.spec.namespace)));
  });
}
