/**
 * `converge sync --dry-run`: what a sync of a cluster would do now, in order, computed with the
 * reconcile's comparison and the sync engine's planner, nothing applied.
 */
import { diffCluster } from "../shared/reconcile/diff-cluster.js";
import { planOperation, selected } from "../shared/reconcile/sync-stage.js";
import { reconcileDeps, type Services } from "../shared/services.js";
import { ClusterNotFoundError } from "../shared/store/clusters.js";
import type { SyncTask } from "../shared/sync/plan.js";

/** Options of a manual sync, as `converge sync` takes them. */
export interface ManualSyncOptions {
  revision?: string;
  prune?: boolean;
  force?: boolean;
  resources?: string[];
}

function describe(t: SyncTask): string {
  const o = t.object;
  const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
  if (t.type === "hook") return `run hook ${what}`;
  if (t.type === "prune") return `prune ${what}`;
  if (t.type === "pruneSkipped") return `keep ${what} (${t.reason})`;
  return `apply ${what}`;
}

/**
 * The lines of a dry run: one per task, `<phase> wave <n>: <action> <kind> <namespace>/<name>`,
 * in the order a sync would run them, then the SyncFail hooks and the planner's warnings.
 * @throws ClusterNotFoundError, RenderError / SourceError, cluster API errors, SyncWaveError.
 */
export async function syncDryRun(services: Services, cluster: string, opts: ManualSyncOptions): Promise<string[]> {
  const rec = await services.clusters.get(cluster);
  if (!rec) throw new ClusterNotFoundError(cluster);
  const r = await diffCluster(reconcileDeps(services), cluster, opts.revision);
  const input = { rec, revision: r.revision!, resources: [...r.desired.values()], hooks: r.hooks ?? [], drift: r.drift, live: [...r.live.values()], manual: opts };
  const only = selected(input);
  const { plan, guard } = planOperation(input, { revision: r.revision!, startedAt: new Date().toISOString(), prune: opts.prune ?? rec.spec.prune }, only ? new Set(only) : undefined);
  const outOfSync = new Set(r.drift.filter((d) => d.state !== "Synced").map((d) => d.key));
  const lines = plan.steps.flatMap((s) => s.groups.flatMap((g) => g.tasks.map((t) => `${s.phase} wave ${s.wave}: ${describe(t)}${t.type === "apply" && !outOfSync.has(t.key) ? " (in sync)" : ""}`)));
  lines.push(...plan.syncFail.flatMap((s) => s.groups.flatMap((g) => g.tasks.map((t) => `on failure: ${describe(t)}`))));
  if (guard) lines.push(`warning: prune refused: ${guard}`);
  lines.push(...plan.warnings.map((w) => `warning: ${w}`));
  return [`revision ${r.revision!.slice(0, 12)}: ${outOfSync.size} resource(s) out of sync`, ...lines];
}
