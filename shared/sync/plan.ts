/**
 * The pure planning core of the sync engine: which objects a sync applies, runs as hooks or
 * prunes, and in which order — no I/O. It follows gitops-engine (`pkg/sync/sync_context.go`
 * `getSyncTasks`, `runTasks`; `pkg/sync/sync_tasks.go` `Less`, `adjustDeps`;
 * `pkg/sync/sync_phase.go`; `hook/delete_policy.go`) at @5baed56, and the Argo CD docs
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/, …/resource_hooks/,
 * …/sync-options/). Where it differs, the docstring of the function says so.
 *
 * A plan is a list of steps, one per (phase, wave), in run order: PreSync → Sync → PostSync,
 * waves ascending. The engine runs one step at a time and waits for it to be healthy before the
 * next (gitops-engine's step function). Inside a step: the prune groups, then the apply groups,
 * each group after the previous one, the tasks of a group in parallel.
 */
import { resourceKey, type KubeObject } from "../model.js";
import { hookDeletePolicies, objectRole, pruneDisabled, pruneLastRequested, type HookDeletePolicy, type HookPhase } from "./annotations.js";
import { kindRank } from "./kinds.js";
import { describeObject, lenientSyncWave, syncWave, SyncWaveError } from "./waves.js";

/** The phases a sync runs (PreDelete and PostDelete hooks belong to deleting the app, not to a sync). */
export type SyncPhase = "PreSync" | "Sync" | "PostSync" | "SyncFail";

/** gitops-engine's `syncPhaseOrder`. */
const PHASE_ORDER: Readonly<Record<SyncPhase, number>> = { PreSync: -1, Sync: 0, PostSync: 1, SyncFail: 2 };

interface TaskBase {
  /** `resourceKey` of `object`. */
  key: string;
  phase: SyncPhase;
  /** The wave the task runs in: its own, or the one `adjustDeps`, the prune reversal or PruneLast gave it. */
  wave: number;
  /** The wave its annotations give (see ./waves.ts). */
  declaredWave: number;
}

/**
 * Apply a desired resource, in the Sync phase unless `adjustDeps` moved it (a Namespace or CRD
 * takes the phase and wave of the first task needing it); `movedAheadOf` is that task's key.
 */
export interface ApplyTask extends TaskBase {
  type: "apply";
  object: KubeObject;
  movedAheadOf?: string;
}

/**
 * Create a hook in `phase`. `object` is the hook with its final name (a `generateName` hook
 * is named, see `hookName`); `generatedName` says so. `deletePolicies` never empty.
 */
export interface HookTask extends TaskBase {
  type: "hook";
  object: KubeObject;
  deletePolicies: HookDeletePolicy[];
  generatedName: boolean;
  movedAheadOf?: string;
}

/** Delete a live object that is gone from Git (Sync phase). `object` is the live object. */
export interface PruneTask extends TaskBase {
  type: "prune";
  object: KubeObject;
  /** True when the PruneLast option (operation or `PruneLast=true` on the object) placed it. */
  pruneLast: boolean;
}

/**
 * A prune candidate the sync leaves alone, reported as Argo CD's PruneSkipped: `Prune=false`
 * on the object, or `prune not enabled` when the operation does not prune (gitops-engine
 * `pruneObject`, messages "ignored (no prune)" / "ignored (requires pruning)"). Never deleted.
 */
export interface PruneSkippedTask extends TaskBase {
  type: "pruneSkipped";
  object: KubeObject;
  reason: "Prune=false" | "prune not enabled";
  pruneLast: boolean;
}

/** One task of a plan. */
export type SyncTask = ApplyTask | HookTask | PruneTask | PruneSkippedTask;

/** Tasks of one kind that may run in parallel: `prune` holds prune and pruneSkipped tasks, `apply` holds apply and hook tasks. */
export interface TaskGroup {
  action: "prune" | "apply";
  kind: string;
  tasks: SyncTask[];
}

/**
 * One (phase, wave). `groups` run in order: prune groups first (reverse kind order: custom
 * resources first, CRDs and Namespaces last), then apply groups (kind order, each a run of
 * consecutive tasks of one kind, as gitops-engine's `runTasks` groups them).
 */
export interface SyncStep {
  phase: SyncPhase;
  wave: number;
  groups: TaskGroup[];
}

/** Options of one sync operation. */
export interface SyncPlanOptions {
  /** Delete prune candidates; false turns every prune into a `pruneSkipped` task ("prune not enabled"). */
  prune: boolean;
  /** Prune after every apply of the Sync phase: in wave (last Sync wave, at least 0) + 1. Also per object with `PruneLast=true`. */
  pruneLast?: boolean;
  /** ApplyOutOfSyncOnly: keys (`resourceKey`) of the resources that differ or are missing; other apply tasks are dropped (hooks and prunes stay). */
  applyOutOfSyncOnly?: ReadonlySet<string>;
  /** Selective sync: only these keys (resources and prune candidates); hooks are skipped, as Argo CD does for a partial sync. */
  resources?: ReadonlySet<string>;
  /** Skip every hook (Argo CD's `apply` sync strategy, used by rollback). */
  skipHooks?: boolean;
  /** Carried into the plan, for the engine's records; not part of any name. */
  operationId?: string;
  /** The revision synced (a commit SHA); its first 7 characters name `generateName` hooks. */
  revision?: string;
  /** When the operation started; its Unix seconds name `generateName` hooks (required when there is one). */
  startedAt?: Date;
}

/**
 * What to plan from. Every object must already be placed in its namespace (namespaced objects
 * with `metadata.namespace`, cluster-scoped without; see shared/reconcile/inspect.ts
 * `placeInNamespaces`).
 * - `resources`: the desired resources (`splitHooks(...).resources`);
 * - `hooks`: the hooks and `Skip` objects (`splitHooks(...).hooks`); an unnamed hook has `metadata.generateName`;
 * - `pruneCandidates`: live objects tracked for this cluster that the revision no longer has
 *   (live hooks among them are ignored: hooks are never pruned).
 */
export interface SyncPlanInput {
  resources: readonly KubeObject[];
  hooks?: readonly KubeObject[];
  pruneCandidates?: readonly KubeObject[];
  options: SyncPlanOptions;
}

/**
 * The plan: `steps` in run order (PreSync, Sync, PostSync), `syncFail` the SyncFail hook steps
 * (run only when the operation fails), `warnings` (human sentences: a live object's invalid wave,
 * a prune that takes other objects with it).
 */
export interface SyncPlan {
  operationId?: string;
  steps: SyncStep[];
  syncFail: SyncStep[];
  warnings: string[];
  /** ApplyOutOfSyncOnly: the apply tasks left out of `steps` (their resource is in sync), in their phase and wave. */
  inSync?: ApplyTask[];
}

/** The input breaks the planner's contract (a resource listed as a hook or the reverse, a key twice, an unnamed hook without `startedAt`). */
export class SyncPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyncPlanError";
  }
}

type CreateTask = ApplyTask | HookTask;
type PruneLike = PruneTask | PruneSkippedTask;

const SYNC_PHASES: readonly HookPhase[] = ["PreSync", "Sync", "PostSync", "SyncFail"];

function groupOf(o: Pick<KubeObject, "apiVersion">): string {
  const slash = o.apiVersion.indexOf("/");
  return slash < 0 ? "" : o.apiVersion.slice(0, slash);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tie-breaks after the name (gitops-engine's sort leaves them undefined): kind, namespace, group. */
function tieBreak(a: KubeObject, b: KubeObject): number {
  return cmp(a.kind, b.kind) || cmp(a.metadata.namespace ?? "", b.metadata.namespace ?? "") || cmp(groupOf(a), groupOf(b));
}

/** gitops-engine's `syncTasks.Less`: phase, wave, kind order, name (then `tieBreak`). */
function compareCreate(a: CreateTask, b: CreateTask): number {
  return (
    PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] ||
    a.wave - b.wave ||
    kindRank(a.object.kind) - kindRank(b.object.kind) ||
    cmp(a.object.metadata.name, b.object.metadata.name) ||
    tieBreak(a.object, b.object)
  );
}

/** Prune order inside a step: reverse kind order (unknown kinds first, Namespace last), then name. */
function comparePrune(a: PruneLike, b: PruneLike): number {
  return kindRank(b.object.kind) - kindRank(a.object.kind) || cmp(a.object.metadata.name, b.object.metadata.name) || tieBreak(a.object, b.object);
}

/**
 * The name of a hook created in `phase`: its `metadata.name`, or, when it has none,
 * `generateName + lowercase(<rev>-<phase>-<startedAt Unix seconds>)` with `<rev>` the first 7
 * characters of the revision when it has 8 or more, else the whole revision (gitops-engine
 * `getSyncTasks`). E.g. `upgrade-sql-schema` + `a1b2c3d-presync-1700000000`.
 * @throws SyncPlanError when a name is needed and `startedAt` is missing or invalid.
 */
export function hookName(o: KubeObject, phase: SyncPhase, options: Pick<SyncPlanOptions, "revision" | "startedAt">): string {
  if (o.metadata.name) return o.metadata.name;
  const started = options.startedAt?.getTime();
  if (started === undefined || Number.isNaN(started)) throw new SyncPlanError(`${describeObject(o)}: a hook without a name needs the operation's startedAt`);
  const revision = options.revision ?? "";
  const short = revision.length >= 8 ? revision.slice(0, 7) : revision;
  const generateName = typeof o.metadata.generateName === "string" ? o.metadata.generateName : "";
  return generateName + `${short}-${phase}-${Math.floor(started / 1000)}`.toLowerCase();
}

function applyTasks(resources: readonly KubeObject[], selected: (key: string) => boolean): ApplyTask[] {
  const tasks: ApplyTask[] = [];
  for (const object of resources) {
    if (objectRole(object).role !== "resource") throw new SyncPlanError(`${describeObject(object)} is a hook (or Skip), not a resource: pass it in hooks`);
    const key = resourceKey(object);
    if (!selected(key)) continue;
    const wave = syncWave(object);
    tasks.push({ type: "apply", key, phase: "Sync", wave, declaredWave: wave, object });
  }
  return tasks;
}

/** One task per sync phase of each hook (gitops-engine `syncPhases`): Skip objects and PreDelete/PostDelete-only hooks give none. */
function hookTasks(hooks: readonly KubeObject[], options: SyncPlanOptions): HookTask[] {
  const tasks: HookTask[] = [];
  for (const hook of hooks) {
    const role = objectRole(hook);
    if (role.role === "resource") throw new SyncPlanError(`${describeObject(hook)} has no hook annotation: pass it in resources`);
    if (role.role !== "hook") continue;
    const wave = syncWave(hook);
    const deletePolicies = hookDeletePolicies(hook);
    for (const phase of SYNC_PHASES.filter((p) => role.phases.includes(p)) as SyncPhase[]) {
      const name = hookName(hook, phase, options);
      const object = name === hook.metadata.name ? hook : { ...hook, metadata: { ...hook.metadata, name } };
      tasks.push({ type: "hook", key: resourceKey(object), phase, wave, declaredWave: wave, object, deletePolicies, generatedName: object !== hook });
    }
  }
  return tasks;
}

/** Prune and pruneSkipped tasks at their declared wave; a live object's invalid wave is read as gitops-engine reads it, with a warning. */
function pruneTasks(live: readonly KubeObject[], options: SyncPlanOptions, selected: (key: string) => boolean, warnings: string[]): PruneLike[] {
  const tasks: PruneLike[] = [];
  for (const object of live) {
    if (objectRole(object).role !== "resource") continue;
    const key = resourceKey(object);
    if (!selected(key)) continue;
    let wave: number;
    try {
      wave = syncWave(object);
    } catch (err) {
      if (!(err instanceof SyncWaveError)) throw err;
      wave = lenientSyncWave(object);
      warnings.push(`${err.message} (live object, read as wave ${wave})`);
    }
    const base = { key, phase: "Sync" as const, wave, declaredWave: wave, object, pruneLast: false };
    if (!options.prune) tasks.push({ ...base, type: "pruneSkipped", reason: "prune not enabled" });
    else if (pruneDisabled(object)) tasks.push({ ...base, type: "pruneSkipped", reason: "Prune=false" });
    else tasks.push({ ...base, type: "prune" });
  }
  return tasks;
}

/**
 * Prune waves reversed by symmetric swap over the distinct prune waves (so [-1, 0, 3] becomes
 * 3 ↔ -1, 0 stays), then PruneLast tasks put in (last Sync wave, at least 0) + 1, counting the
 * swapped prune waves — gitops-engine `getSyncTasks` exactly.
 */
function placePrunes(prunes: PruneLike[], creates: readonly CreateTask[], pruneLastAll: boolean): void {
  const waves = [...new Set(prunes.map((t) => t.wave))].sort((a, b) => a - b);
  const swapped = new Map(waves.map((w, i) => [w, waves[waves.length - 1 - i]!]));
  for (const t of prunes) t.wave = swapped.get(t.wave)!;
  const syncWaves = [...creates.filter((t) => t.phase === "Sync"), ...prunes].map((t) => t.wave);
  const lastWave = Math.max(0, ...syncWaves) + 1;
  for (const t of prunes) {
    if (pruneLastAll || pruneLastRequested(t.object)) {
      t.wave = lastWave;
      t.pruneLast = true;
    }
  }
}

/** The key a Namespace or CRD provides to others (`ns:<name>`, `crd:<group>/<kind>`), if it is one. */
function providedKey(o: KubeObject): string | undefined {
  if (o.kind === "Namespace" && groupOf(o) === "") return `ns:${o.metadata.name}`;
  if (o.kind !== "CustomResourceDefinition" || groupOf(o) !== "apiextensions.k8s.io") return undefined;
  const spec = o.spec as { group?: unknown; names?: { kind?: unknown } } | undefined;
  return typeof spec?.group === "string" && typeof spec.names?.kind === "string" ? `crd:${spec.group}/${spec.names.kind}` : undefined;
}

/** The Namespace and CRD keys `o` needs (its namespace, its group/kind). */
function neededKeys(o: KubeObject): string[] {
  const ns = o.metadata.namespace ? [`ns:${o.metadata.namespace}`] : [];
  return [...ns, `crd:${groupOf(o)}/${o.kind}`];
}

/**
 * gitops-engine's `adjustDeps` on tasks sorted by `compareCreate`: each dependency (a
 * Namespace, then in a second pass a CRD) that comes after a task needing it is moved just
 * before the first such task and takes its phase and wave, even across waves and phases.
 */
function adjustDeps(tasks: CreateTask[], prefix: "ns:" | "crd:"): void {
  const first = new Map<string, number>();
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    const provided = providedKey(t.object);
    if (provided?.startsWith(prefix)) {
      const index = first.get(provided);
      if (index === undefined) continue;
      const dependant = tasks[index]!;
      Object.assign(t, { phase: dependant.phase, wave: dependant.wave, movedAheadOf: dependant.key });
      tasks.splice(i, 1);
      tasks.splice(index, 0, t);
      for (const [k, f] of first) if (f >= index) first.set(k, f + 1);
    } else {
      const needed = neededKeys(t.object).find((k) => k.startsWith(prefix));
      if (needed !== undefined && !first.has(needed)) first.set(needed, i);
    }
  }
}

/** Sorted, then Namespaces and CRDs moved ahead (gitops-engine `syncTasks.Sort`). */
function sortCreates(tasks: CreateTask[]): CreateTask[] {
  const sorted = [...tasks].sort(compareCreate);
  adjustDeps(sorted, "ns:");
  adjustDeps(sorted, "crd:");
  return sorted;
}

/**
 * Not in gitops-engine (which prunes a wave in parallel and leaves a Namespace or CRD in its
 * own swapped wave): the prune of a Namespace or CRD waits for the waves of the prunes of
 * what it contains, so it comes last and its contents are deleted one by one first.
 */
function delayProvidersPrunes(prunes: PruneLike[]): void {
  const lastUse = new Map<string, number>();
  for (const t of prunes) for (const k of neededKeys(t.object)) lastUse.set(k, Math.max(lastUse.get(k) ?? -Infinity, t.wave));
  for (const t of prunes) {
    const provided = providedKey(t.object);
    const last = provided === undefined ? undefined : lastUse.get(provided);
    if (last !== undefined && last > t.wave) t.wave = last;
  }
}

/** Objects a prune of a Namespace or CRD deletes with it although the plan keeps them: desired objects, hooks, Prune=false objects. */
function cascadeWarnings(prunes: readonly PruneLike[], kept: readonly KubeObject[]): string[] {
  const warnings: string[] = [];
  for (const t of prunes) {
    const provided = t.type === "prune" ? providedKey(t.object) : undefined;
    if (provided === undefined) continue;
    const victims = kept.filter((o) => neededKeys(o).includes(provided));
    if (victims.length === 0) continue;
    const names = victims.slice(0, 5).map(describeObject).join(", ");
    const more = victims.length > 5 ? ` and ${victims.length - 5} more` : "";
    warnings.push(`pruning ${describeObject(t.object)} also deletes objects the sync keeps: ${names}${more}`);
  }
  return warnings;
}

/** Steps from tasks already in their phase and wave: apply groups as runs of one kind in `creates` order, prune groups by reverse kind order. */
function buildSteps(creates: readonly CreateTask[], prunes: readonly PruneLike[]): SyncStep[] {
  const steps = new Map<string, SyncStep & { pruned: PruneLike[] }>();
  const stepOf = (phase: SyncPhase, wave: number) => {
    const id = `${phase}/${wave}`;
    const step = steps.get(id) ?? { phase, wave, groups: [], pruned: [] };
    steps.set(id, step);
    return step;
  };
  for (const t of prunes) stepOf(t.phase, t.wave).pruned.push(t);
  for (const step of steps.values()) {
    for (const t of step.pruned.sort(comparePrune)) {
      const last = step.groups.at(-1);
      if (last?.kind === t.object.kind) last.tasks.push(t);
      else step.groups.push({ action: "prune", kind: t.object.kind, tasks: [t] });
    }
  }
  for (const t of creates) {
    const groups = stepOf(t.phase, t.wave).groups;
    const last = groups.at(-1);
    if (last?.action === "apply" && last.kind === t.object.kind) last.tasks.push(t);
    else groups.push({ action: "apply", kind: t.object.kind, tasks: [t] });
  }
  return [...steps.values()].map(({ phase, wave, groups }) => ({ phase, wave, groups })).sort((a, b) => PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || a.wave - b.wave);
}

function checkUniqueKeys(resources: readonly ApplyTask[], prunes: readonly PruneLike[]): void {
  const seen = new Set<string>();
  for (const t of [...resources, ...prunes]) {
    if (seen.has(t.key)) throw new SyncPlanError(`${t.key} is listed twice (as a resource or a prune candidate)`);
    seen.add(t.key);
  }
}

/**
 * Plans a sync operation (gitops-engine `getSyncTasks` + `syncTasks.Sort` + the grouping of
 * `runTasks`; see the module doc and the types above for the shape).
 *
 * Order: phases PreSync → Sync → PostSync; waves ascending; in a wave, kind order (./kinds.ts)
 * then name; then `adjustDeps`: a Namespace moves just ahead of the first task in it and a CRD
 * ahead of the first custom resource of its `spec.group`/`spec.names.kind`, taking that task's
 * phase and wave. Prunes run in the Sync phase, their waves reversed by symmetric swap, and
 * with PruneLast in (last Sync wave, at least 0) + 1; SyncFail hooks are planned apart.
 * Filters: `resources` (selective sync) keeps only those keys and skips all hooks, as does
 * `skipHooks`; `applyOutOfSyncOnly` drops apply tasks of in-sync keys after sorting (into `inSync`).
 *
 * Differs from gitops-engine: (1) prunes of one wave are split into kind groups run in reverse
 * kind order (custom resources first, CRDs and Namespaces last; Flux's `DeleteAll` order),
 * where gitops-engine deletes them all at once; (2) the prune of a Namespace or CRD moves to
 * the last wave of the prunes of its contents (`delayProvidersPrunes`); (3) SyncFail hooks are
 * sorted among themselves, so `adjustDeps` never pulls a SyncFail hook into an earlier phase;
 * (4) objects are not given the app namespace here (the caller places them), so a
 * cluster-scoped object never depends on a Namespace; (5) ties after the name are broken by
 * kind, namespace, group; (6) an invalid wave annotation on a desired object or hook is an
 * error; (7) hooks get no `argocd.argoproj.io/hook-finalizer` (the engine's business).
 * @throws SyncWaveError on a desired object or hook whose wave annotation is not an integer.
 * @throws SyncPlanError on a broken input contract (see `SyncPlanError`).
 */
export function planSync(input: SyncPlanInput): SyncPlan {
  const { options } = input;
  const selected = (key: string) => !options.resources || options.resources.has(key);
  const warnings: string[] = [];
  const applies = applyTasks(input.resources, selected);
  const skipHooks = options.skipHooks === true || options.resources !== undefined;
  const hooks = skipHooks ? [] : hookTasks(input.hooks ?? [], options);
  const prunes = pruneTasks(input.pruneCandidates ?? [], options, selected, warnings);
  checkUniqueKeys(applies, prunes);

  const creates: CreateTask[] = [...applies, ...hooks.filter((h) => h.phase !== "SyncFail")];
  placePrunes(prunes, creates, options.pruneLast === true);
  delayProvidersPrunes(prunes);
  const outOfSync = options.applyOutOfSyncOnly;
  const all = sortCreates(creates);
  const sorted = all.filter((t) => t.type !== "apply" || !outOfSync || outOfSync.has(t.key));
  const syncFail = sortCreates(hooks.filter((h) => h.phase === "SyncFail"));

  const kept = [...applies, ...hooks, ...prunes.filter((t) => t.type === "pruneSkipped")].map((t) => t.object);
  warnings.push(...cascadeWarnings(prunes, kept));
  const inSync = outOfSync ? { inSync: all.filter((t): t is ApplyTask => t.type === "apply" && !outOfSync.has(t.key)) } : {};
  return { operationId: options.operationId, steps: buildSteps(sorted, prunes), syncFail: buildSteps(syncFail, []), warnings, ...inSync };
}

/** Every task of `steps` in run order (a step's groups in order, a group's tasks in order). */
export function planTasks(steps: readonly SyncStep[]): SyncTask[] {
  return steps.flatMap((s) => s.groups.flatMap((g) => g.tasks));
}

/** How many objects the plan deletes (prune tasks, not pruneSkipped): the `pruneCount` of `pruneGuard`. */
export function plannedDeletions(plan: Pick<SyncPlan, "steps">): number {
  return planTasks(plan.steps).filter((t) => t.type === "prune").length;
}

/**
 * Refuses a prune that looks like a broken render rather than an intended removal. Counts are
 * of objects: `desiredCount` resources the revision renders, `trackedCount` live objects tracked
 * for this cluster (prune candidates included), `pruneCount` objects the sync would delete
 * (`plannedDeletions`). Returns the reason for refusing, or undefined to go ahead:
 * - the revision renders nothing but something would be pruned;
 * - more than `maxShare` (default 0.5, a fraction in [0, 1]) of the tracked objects would be pruned.
 * `force` (a user's explicit choice) always goes ahead.
 *
 * Stricter than Argo CD's `allowEmpty` guard (argo-cd `appcontroller.go` `autoSync`: "auto-sync
 * will wipe out all resources"), which refuses only an automated sync that would prune every
 * resource and never a manual one; Flux has no guard at all.
 * @throws RangeError when a count is not a non-negative integer, `pruneCount > trackedCount`,
 *   or `maxShare` is outside [0, 1].
 */
export function pruneGuard(desiredCount: number, trackedCount: number, pruneCount: number, opts: { force?: boolean; maxShare?: number } = {}): string | undefined {
  const maxShare = opts.maxShare ?? 0.5;
  for (const [name, n] of Object.entries({ desiredCount, trackedCount, pruneCount })) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
  if (pruneCount > trackedCount) throw new RangeError(`pruneCount (${pruneCount}) exceeds trackedCount (${trackedCount})`);
  if (!(maxShare >= 0 && maxShare <= 1)) throw new RangeError(`maxShare must be within [0, 1], got ${maxShare}`);
  if (opts.force || pruneCount === 0) return undefined;
  if (desiredCount === 0) return `the revision renders no object but ${pruneCount} would be pruned (force to allow)`;
  if (pruneCount > maxShare * trackedCount) {
    return `${pruneCount} of ${trackedCount} tracked objects would be pruned, more than ${Math.round(maxShare * 100)}% (force to allow)`;
  }
  return undefined;
}
