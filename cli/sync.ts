/**
 * The sync commands of the CLI: `converge sync` (now, `--dry-run`, `--resume`), `converge sync
 * history` and `converge rollback`. A manual sync runs the reconcile here, with the caller's
 * credentials; a dry run is the reconcile's comparison and the sync engine's planner, nothing applied.
 */
import { hostname, userInfo } from "node:os";
import { type Command, Option } from "commander";
import { formatDuration } from "../shared/cluster/spec.js";
import { diffCluster } from "../shared/reconcile/diff-cluster.js";
import { reconcileCluster } from "../shared/reconcile/reconcile.js";
import { describeTrigger, isOperationId, RESULT_STATUSES, type OperationRecord, type OperationSummary } from "../shared/store/operations.js";
import { UsageError } from "./errors.js";
import { durationFlag, limitFlag, table, time } from "./format.js";
import { planOperation, selected } from "../shared/reconcile/sync-stage.js";
import { reconcileDeps, type Services } from "../shared/services.js";
import { ClusterNotFoundError, type ClusterRecord } from "../shared/store/clusters.js";
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

/** `2 Synced, 1 Pruned`: an operation's results by status. */
function resultCounts(op: Pick<OperationSummary, "counts">): string {
  return RESULT_STATUSES.filter((r) => op.counts[r])
    .map((r) => `${op.counts[r]} ${r}`)
    .join(", ");
}

/** `user@host`: the caller a manual sync, a rollback or a resume is recorded with. */
export function localCaller(): string {
  return `${userInfo().username}@${hostname()}`;
}

/**
 * A manual sync, run here with the caller's credentials (as `converge diff --cluster` reads):
 * reconciles with trigger `manual` until the operation ends, printing its progress. Used by
 * `converge sync`, `converge rollback` and the sync buttons of `converge ui`.
 * @param caller who asked (recorded in the operation's trigger); default `user@host`.
 * @returns the operation, or undefined when the cluster is in sync (nothing to do).
 * @throws UsageError when the cluster is unknown or cannot sync (Error, Unknown: the message says why).
 */
export async function syncNow(services: Services, cluster: string, progress: (line: string) => void, manual: ManualSyncOptions = {}, caller = localCaller()): Promise<OperationRecord | undefined> {
  const deps = reconcileDeps(services);
  const t0 = new Date(Date.now() - 1000).toISOString();
  for (let round = 0; round < 720; round++) {
    const { revision, ...sync } = manual;
    const outcome = await reconcileCluster(deps, {
      cluster,
      reason: "manual",
      caller,
      enqueuedAt: new Date().toISOString(),
      ...(revision ? { revision } : {}),
      ...(Object.keys(sync).length ? { sync } : {}),
    });
    if (!outcome) throw new UsageError(`no cluster named ${cluster}`);
    const id = outcome.status.operation?.id;
    if (!id) {
      // this sync, or one the control plane ran meanwhile (it holds the lease while it syncs)
      const last = (await services.operations.history(cluster, { limit: 5 })).operations.find((op) => op.trigger.type !== "image-update");
      if (last && last.startedAt >= t0 && last.phase !== "Running") return last;
      if (outcome.status.sync === "Synced") return undefined;
      if (!/another sync of this cluster is running/.test(outcome.status.message ?? "")) throw new UsageError(outcome.status.message ?? `${cluster} is ${outcome.status.sync}: cannot sync`);
    }
    progress(`running ${id ?? "(another sync holds the lease)"}: ${outcome.status.message ?? "waiting"}`);
    await new Promise((r) => setTimeout(r, 5_000));
  }
  throw new Error(`the sync of ${cluster} is still running after an hour: see converge sync history --cluster ${cluster}`);
}

/**
 * The revision `converge rollback` returns to: the one of operation `to` (an id), the revision
 * `to` (a commit SHA that synced), or by default the last revision that synced before the
 * cluster's current one.
 * @throws UsageError when there is no such earlier successful sync.
 */
export async function rollbackTarget(services: Services, cluster: string, to: string | undefined): Promise<string> {
  const rec = await services.clusters.get(cluster);
  if (!rec) throw new UsageError(`no cluster named ${cluster}`);
  if (to && isOperationId(to)) {
    const op = await services.operations.get(cluster, to);
    if (op?.phase !== "Succeeded") throw new UsageError(`operation ${to} of ${cluster} did not succeed (or does not exist): only a revision that synced can be rolled back to`);
    return op.revision;
  }
  if (to) {
    const op = await services.operations.lastSucceeded(cluster, { revision: to });
    if (!op) throw new UsageError(`${to} never synced on ${cluster}: roll back to a revision of converge sync history --cluster ${cluster}`);
    return op.revision;
  }
  for (let cursor: string | undefined, page = 0; page < 20; page++) {
    const h = await services.operations.summaries(cluster, { limit: 100, ...(cursor ? { cursor } : {}) });
    const earlier = h.operations.find((op) => op.phase === "Succeeded" && !op.dryRun && op.trigger.type !== "image-update" && op.revision !== rec.status.appliedRevision);
    if (earlier) return earlier.revision;
    if (!h.cursor) break;
    cursor = h.cursor;
  }
  throw new UsageError(`${cluster} has no earlier revision that synced`);
}

/**
 * `converge rollback`: pins the cluster to revision `to` (see `rollbackTarget`), pauses its
 * automated sync on it, and syncs it now.
 * @returns the operation (undefined: the cluster already matched `to`).
 * @throws UsageError as `syncNow`.
 */
export async function rollbackCluster(services: Services, cluster: string, to: string, progress: (line: string) => void, caller = localCaller()): Promise<OperationRecord | undefined> {
  await services.clusters.update(cluster, (spec) => ({
    ...spec,
    source: { ...spec.source, ref: to },
    rollback: { to, previousRef: spec.rollback ? spec.rollback.previousRef : spec.source.ref, at: new Date().toISOString(), caller },
  }));
  return syncNow(services, cluster, progress, {}, caller);
}

/**
 * `converge sync --resume`: after a rollback, the cluster follows its branch (or its earlier
 * pin) again. Only the registration changes; the caller syncs.
 * @returns the updated registration.
 * @throws UsageError when the cluster is not rolled back.
 */
export async function resumeCluster(services: Services, cluster: string): Promise<ClusterRecord> {
  return services.clusters.update(cluster, (spec) => {
    if (!spec.rollback) throw new UsageError(`${cluster} is not rolled back: nothing to resume`);
    const { rollback, ...rest } = spec;
    return { ...rest, source: { ...spec.source, ref: rollback.previousRef } };
  });
}

/** What the sync commands print with and run against; `fail` makes the CLI exit 1 (a sync that did not succeed). */
export interface CommandIO {
  svc: () => Services;
  out: (line: string) => void;
  err: (line: string) => void;
  fail: () => void;
}

/** Adds `converge sync`, `converge sync history` and `converge rollback` to `program`. */
export function registerSyncCommands(program: Command, io: CommandIO): void {
  const syncOps = program
    .command("sync")
    .description("sync a cluster to Git now (converge sync --cluster X), or read its sync history (converge sync history)")
    .enablePositionalOptions()
    .option("--cluster <name>", "the cluster to sync")
    .option("--resume", "after converge rollback: follow the branch (or the earlier pin) again, and sync")
    .option("--revision <sha>", "sync this commit instead of the branch head")
    .option("--prune", "prune objects gone from Git in this sync, whatever the cluster's policy")
    .option("--force", "with --prune: prune even when the revision renders nothing or more than half the tracked objects would go")
    .option("--resource <Kind/namespace/name...>", "sync only these resources (Kind/name for cluster-scoped ones); hooks are skipped")
    .option("--dry-run", "print what the sync would apply, prune and run, in order; change nothing")
    .action(async (o: { cluster?: string; resume?: boolean; revision?: string; prune?: boolean; force?: boolean; resource?: string[]; dryRun?: boolean }) => {
      if (!o.cluster) throw new UsageError("converge sync needs --cluster <name> (or a subcommand: history)");
      if (o.revision && !/^[0-9a-f]{40}$/.test(o.revision)) throw new UsageError("--revision takes a 40-character commit SHA");
      if (o.force && !o.prune) throw new UsageError("--force goes with --prune (it lets a prune past the guard)");
      const manual = {
        ...(o.revision ? { revision: o.revision } : {}),
        ...(o.prune ? { prune: true } : {}),
        ...(o.force ? { force: true } : {}),
        ...(o.resource?.length ? { resources: o.resource } : {}),
      };
      if (o.dryRun) return void io.out((await syncDryRun(io.svc(), o.cluster, manual)).join("\n"));
      if (o.resume) {
        const rec = await resumeCluster(io.svc(), o.cluster);
        io.err(`${rec.name} follows ${rec.spec.source.ref ?? `branch ${rec.spec.source.branch}`} again`);
      }
      const op = await syncNow(io.svc(), o.cluster, (line) => io.err(line), manual);
      if (!op) return void io.out(`${o.cluster} is in sync with Git: nothing to sync`);
      io.out(`${op.phase}: ${op.id} ${op.revision.slice(0, 12)} ${resultCounts(op)}${op.message ? ` — ${op.message}` : ""}`);
      if (op.phase !== "Succeeded") io.fail();
    });
  syncOps
    .command("history")
    .description("sync operations of a cluster, newest first, failures included")
    .requiredOption("--cluster <name>", "cluster name")
    .option("--since <duration>", "how far back, e.g. 30m, 24h, 7d (default: all)")
    .option("--limit <n>", "at most this many operations, 1 to 1000", "50")
    .addOption(new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { cluster: string; since?: string; limit: string; output: string }) => {
      const since = o.since === undefined ? undefined : new Date(Date.now() - durationFlag("--since", o.since) * 1000).toISOString();
      const limit = limitFlag(o.limit);
      if (!(await io.svc().clusters.get(o.cluster))) io.err(`note: cluster "${o.cluster}" is not registered (showing any history it left)`);
      const page = o.output === "json" ? await io.svc().operations.history(o.cluster, { since, limit }) : await io.svc().operations.summaries(o.cluster, { since, limit });
      if (page.cursor) io.err(`note: the newest ${limit} shown; more with a larger --limit`);
      if (o.output === "json") return void io.out(JSON.stringify(page.operations, null, 2));
      const seconds = (from: string, to?: string) => Math.max(0, Math.round(((to ? Date.parse(to) : Date.now()) - Date.parse(from)) / 1000));
      io.out(
        table(
          ["ID", "TRIGGER", "REVISION", "PHASE", "STARTED", "DURATION", "RESULTS", "MESSAGE"],
          page.operations.map((op) => [
            op.id,
            describeTrigger(op.trigger) + (op.dryRun ? " (dry run)" : ""),
            op.revision.slice(0, 12),
            op.phase,
            time(op.startedAt),
            op.finishedAt ? formatDuration(seconds(op.startedAt, op.finishedAt)) : `running ${formatDuration(seconds(op.startedAt))}`,
            resultCounts(op),
            op.message?.replace(/\s+/g, " ").slice(0, 100),
          ]),
        ),
      );
    });

  program
    .command("rollback")
    .description("converge a cluster to an earlier revision that synced, and pause its automated sync until converge sync --resume")
    .requiredOption("--cluster <name>", "the cluster")
    .option("--to <operation id | revision>", "the operation or revision to return to (default: the revision synced before the current one)")
    .action(async (o: { cluster: string; to?: string }) => {
      const to = await rollbackTarget(io.svc(), o.cluster, o.to);
      const op = await rollbackCluster(io.svc(), o.cluster, to, (line) => io.err(line));
      if (!op) return void io.out(`${o.cluster} already matches ${to.slice(0, 12)}; automated sync is paused on it (converge sync --cluster ${o.cluster} --resume follows Git again)`);
      io.out(`${op.phase}: rolled back ${o.cluster} to ${to.slice(0, 12)} (${op.id})${op.message ? ` — ${op.message}` : ""}`);
      io.out(`automated sync of ${o.cluster} is paused on that revision; converge sync --cluster ${o.cluster} --resume follows Git again`);
      if (op.phase !== "Succeeded") io.fail();
    });
}
