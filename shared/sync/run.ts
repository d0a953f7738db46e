/**
 * Running a sync plan (./plan.ts) against a cluster, one step (phase, wave) at a time, the way
 * gitops-engine's `Sync()` step function does: send the step's tasks (prunes, then applies and
 * hooks, group after group), then wait until they are healthy before the next step; a Degraded
 * resource or a failed hook fails the operation, and then the SyncFail hooks run.
 *
 * Nothing here waits on a cluster for long: `runSync` polls a step's health for at most
 * `pollMs`, and when the step is still Progressing it returns `Running` with a cursor. The
 * caller stores the cursor with the operation and calls again later (a later reconcile of the
 * cluster); the plan is made again from the same revision and start time, so it is the same.
 *
 * Health (shared/health, gitops-engine's checks): a resource without a check is ready once
 * sent; a hook Job or Pod is done when Healthy (Job complete, Pod succeeded) and failed when
 * Degraded. As in gitops-engine, the resources of the last step are not waited for.
 */
import { resourceKey, type KubeObject } from "../model.js";
import { KubeApiError } from "../kube/client.js";
import { FIELD_MANAGER, UnknownKindError, type ResourceApi } from "../kube/resources.js";
import { resourceHealth } from "../health/index.js";
import { annotationOptions, SYNC_OPTIONS, TRACKING_ANNOTATION } from "./annotations.js";
import type { SyncPhase, SyncPlan, SyncStep, SyncTask } from "./plan.js";
import type { ResourceResult } from "../store/operations.js";

/** Sync options of a cluster (Argo CD's names); an object's `argocd.argoproj.io/sync-options` win for that object. */
export interface SyncOptions {
  /** `Replace=true`: replace objects whole instead of server-side apply. */
  replace?: boolean;
  /** `Force=true`: delete and re-create an object whose update the server refuses (an immutable field). */
  force?: boolean;
  /** `CreateNamespace=true`: create the cluster's namespace when missing. */
  createNamespace?: boolean;
  /** `ApplyOutOfSyncOnly=true`: apply only the resources that differ or are missing. */
  applyOutOfSyncOnly?: boolean;
  /** Seconds a step may stay Progressing before the operation fails (default 300). */
  waveTimeoutSeconds?: number;
}

/** The result of one task, as recorded with the operation (Argo CD's result vocabulary). */
export type TaskResult = ResourceResult;

/** Where an operation is between invocations: the step (phase, wave) being run and whether its tasks were sent. */
export interface SyncCursor {
  phase: SyncPhase;
  wave: number;
  /** The step's tasks were sent at this time (ms); absent: not sent yet. */
  sentAt?: number;
}

/** What one call of `runSync` ended with. */
export interface SyncProgress {
  phase: "Running" | "Succeeded" | "Failed";
  message?: string;
  /** Set while Running: where to resume. */
  cursor?: SyncCursor;
  /** Results so far, one per task (a later result for a key replaces an earlier one). */
  results: TaskResult[];
}

/** What the runner needs. */
export interface SyncContext {
  api: ResourceApi;
  /** The cluster name: the tracking annotation's owner. */
  owner: string;
  /** Namespace of a namespaced object that has none (a custom resource whose CRD this sync creates). */
  namespace: string;
  options: SyncOptions;
  now: () => number;
  /** Longest time one call waits for a step's health (ms, default 10,000). */
  pollMs?: number;
}

const PHASE_RANK: Record<SyncPhase, number> = { PreSync: 0, Sync: 1, PostSync: 2, SyncFail: 3 };
const after = (s: { phase: SyncPhase; wave: number }, c: SyncCursor) => PHASE_RANK[s.phase] > PHASE_RANK[c.phase] || (s.phase === c.phase && s.wave >= c.wave);

function result(t: SyncTask, status: TaskResult["status"], message?: string): TaskResult {
  const o = t.object;
  const action = t.type === "hook" ? "hook" : t.type === "apply" ? "apply" : "prune";
  return {
    key: t.key,
    kind: o.kind,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
    action,
    phase: t.phase,
    wave: t.wave,
    status,
    ...(message ? { message } : {}),
  };
}

/** `o` with the tracking annotation of `owner`. */
export function tracked(o: KubeObject, owner: string): KubeObject {
  return { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [TRACKING_ANNOTATION]: `${owner}:${resourceKey(o)}` } } };
}

/** A server refusal that re-creating the object fixes: a changed immutable field. */
function isImmutable(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 422 && /immutable|may not change|Forbidden: updates to/i.test(err.message);
}

/**
 * Applies one object; a kind the server does not serve yet (its CRD was created a moment ago
 * in this step) is looked up again for up to `pollMs`, as kubectl re-reads discovery.
 */
async function applyObject(ctx: SyncContext, o: KubeObject): Promise<void> {
  for (const end = ctx.now() + (ctx.pollMs ?? 10_000); ; await sleep(500)) {
    try {
      return await applyOnce(ctx, o);
    } catch (err) {
      if (!(err instanceof UnknownKindError) || ctx.now() > end) throw err;
      ctx.api.forget(o.apiVersion);
    }
  }
}

/** Applies one object with the cluster's options and the object's own sync options. */
async function applyOnce(ctx: SyncContext, placed: KubeObject): Promise<void> {
  const namespaced = await ctx.api.isNamespaced(placed.apiVersion, placed.kind);
  const o = namespaced && !placed.metadata.namespace ? { ...placed, metadata: { ...placed.metadata, namespace: ctx.namespace } } : placed;
  const own = annotationOptions(o, SYNC_OPTIONS);
  const replace = own.Replace ? own.Replace === "true" : !!ctx.options.replace;
  const force = own.Force ? own.Force === "true" : !!ctx.options.force;
  const obj = tracked(o, ctx.owner);
  try {
    if (replace) await ctx.api.replace(obj);
    else await ctx.api.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  } catch (err) {
    if (!(force && isImmutable(err))) throw err;
    await ctx.api.delete(obj, "Foreground");
    await waitGone(ctx, obj);
    await ctx.api.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  }
}

/** Polls until `o` is gone (a foreground deletion finishes), at most `pollMs`. */
async function waitGone(ctx: SyncContext, o: KubeObject): Promise<boolean> {
  for (const end = ctx.now() + (ctx.pollMs ?? 10_000); ; await sleep(250)) {
    if (!(await ctx.api.get(o))) return true;
    if (ctx.now() > end) return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Sends one task; returns its result (never throws for a refusal of the object itself). */
async function send(ctx: SyncContext, t: SyncTask): Promise<TaskResult> {
  try {
    if (t.type === "pruneSkipped") return result(t, "PruneSkipped", t.reason);
    if (t.type === "prune") {
      await ctx.api.delete(t.object, "Foreground");
      return result(t, "Pruned");
    }
    if (t.type === "hook") {
      // BeforeHookCreation (and a hook of an earlier operation): the old copy goes first
      if (await ctx.api.get(t.object)) {
        await ctx.api.delete(t.object, "Background");
        if (!(await waitGone(ctx, t.object))) return result(t, "Failed", "the previous copy of the hook is still being deleted");
      }
      await applyObject(ctx, t.object);
      return result(t, "Running");
    }
    await applyObject(ctx, t.object);
    return result(t, "Synced");
  } catch (err) {
    if (refusedObject(err)) return result(t, t.type === "hook" ? "Failed" : "SyncFailed", message(err));
    throw err;
  }
}

/**
 * Whether an API error refuses this object (the step fails, as a failed `kubectl apply` fails an
 * Argo CD sync) rather than the cluster being unavailable (thrown: the operation stays Running and
 * resumes at the next reconcile). Refusals: 4xx other than 401/403 (credentials) and 429
 * (throttled, https://kubernetes.io/docs/reference/using-api/api-concepts/#http-status-codes),
 * and 500 InternalError (the server failed on this object, e.g. a typed patch it cannot convert;
 * retried by the retry policy). 502/503/504 and network failures are the cluster's.
 */
function refusedObject(err: unknown): boolean {
  if (err instanceof UnknownKindError) return true;
  if (!(err instanceof KubeApiError)) return false;
  return err.code === 500 || (err.code >= 400 && err.code < 500 && ![401, 403, 429].includes(err.code));
}

/** Sends a step: its groups one after another, the tasks of a group in parallel. */
async function sendStep(ctx: SyncContext, step: SyncStep): Promise<TaskResult[]> {
  const out: TaskResult[] = [];
  for (const g of step.groups) out.push(...(await Promise.all(g.tasks.map((t) => send(ctx, t)))));
  return out;
}

/** Health of a sent step: "ready", "waiting" (with why), or "failed" (with why). */
async function stepHealth(ctx: SyncContext, step: SyncStep, last: boolean): Promise<{ state: "ready" | "waiting" | "failed"; why?: string; hooks: TaskResult[] }> {
  const hooks: TaskResult[] = [];
  let waiting: string | undefined;
  for (const t of step.groups.flatMap((g) => g.tasks)) {
    if (t.type === "pruneSkipped" || (t.type === "apply" && last)) continue;
    const live = await ctx.api.get(t.object);
    if (t.type === "prune") {
      if (live) waiting ??= `${t.key} is being deleted`;
      continue;
    }
    const h = resourceHealth(t.object.kind, t.object.apiVersion, live);
    if (t.type === "hook") {
      if (h?.status === "Degraded" || h?.status === "Missing") return { state: "failed", why: `hook ${t.key} failed: ${h.message ?? h.status}`, hooks: [...hooks, result(t, "Failed", h.message)] };
      if (h && h.status !== "Healthy") waiting ??= `hook ${t.key}: ${h.message ?? h.status}`;
      else hooks.push(result(t, "Succeeded"));
      continue;
    }
    if (h?.status === "Degraded") return { state: "failed", why: `${t.key} is Degraded: ${h.message ?? ""}`.trim(), hooks };
    if (h && (h.status === "Progressing" || h.status === "Missing")) waiting ??= `${t.key}: ${h.message ?? h.status}`;
  }
  return { state: waiting ? "waiting" : "ready", why: waiting, hooks };
}

/**
 * The steps of `plan` left from `cursor`. With ApplyOutOfSyncOnly, the plan of a resumed
 * operation is made from the drift of now, where what this operation applied already is in sync
 * (`plan.inSync`): those tasks of the step being waited for go back into it, so their health is
 * still waited for before the next wave (gitops-engine filters only the tasks not run yet).
 */
function stepsFrom(plan: SyncPlan, cursor: SyncCursor | undefined, results: readonly TaskResult[]): SyncStep[] {
  if (!cursor) return plan.steps;
  const steps = plan.steps.filter((s) => after(s, cursor));
  const sent = new Set(results.filter((r) => r.action === "apply").map((r) => r.key));
  const back = cursor.sentAt === undefined ? [] : (plan.inSync ?? []).filter((t) => t.phase === cursor.phase && t.wave === cursor.wave && sent.has(t.key));
  if (back.length === 0) return steps;
  const groups = back.map((t) => ({ action: "apply" as const, kind: t.object.kind, tasks: [t] }));
  const [first, ...rest] = steps;
  if (first?.phase === cursor.phase && first.wave === cursor.wave) return [{ ...first, groups: [...first.groups, ...groups] }, ...rest];
  return [{ phase: cursor.phase, wave: cursor.wave, groups }, ...steps];
}

/** Replaces results by key (a hook's Succeeded replaces its Running). */
function merge(results: TaskResult[], more: TaskResult[]): TaskResult[] {
  const byKey = new Map(results.map((r) => [`${r.action}|${r.key}|${r.phase}`, r]));
  for (const r of more) byKey.set(`${r.action}|${r.key}|${r.phase}`, r);
  return [...byKey.values()];
}

/**
 * Runs `plan` from `cursor` (undefined: from the start) until the operation ends or a step
 * must wait. `results` are those recorded so far.
 * @returns Succeeded, Failed (a task refused, a hook failed, a resource Degraded, a step over
 *   its time limit; the SyncFail hooks were sent), or Running with the cursor to resume from.
 * @throws ClusterUnreachableError and KubeApiError 401/403/429/502–504 (the cluster, not the object: retried later; see `refusedObject`).
 */
export async function runSync(ctx: SyncContext, plan: SyncPlan, cursor: SyncCursor | undefined, results: TaskResult[] = []): Promise<SyncProgress> {
  const steps = stepsFrom(plan, cursor, results);
  let sentAt = cursor?.sentAt;
  for (const [i, step] of steps.entries()) {
    const here = { phase: step.phase, wave: step.wave };
    if (!(sentAt !== undefined && cursor && step.phase === cursor.phase && step.wave === cursor.wave)) {
      const sent = await sendStep(ctx, step);
      results = merge(results, sent);
      sentAt = ctx.now();
      const refused = sent.find((r) => r.status === "SyncFailed" || r.status === "Failed");
      if (refused) return fail(ctx, plan, results, `${refused.kind} ${refused.name}: ${refused.message ?? refused.status}`);
    }
    const last = i === steps.length - 1;
    for (const end = ctx.now() + (ctx.pollMs ?? 10_000); ; await sleep(500)) {
      const h = await stepHealth(ctx, step, last);
      results = merge(results, h.hooks);
      if (h.state === "failed") return fail(ctx, plan, results, h.why!);
      if (h.state === "ready") break;
      if (ctx.now() - sentAt! > (ctx.options.waveTimeoutSeconds ?? 300) * 1000)
        return fail(ctx, plan, results, `${step.phase} wave ${step.wave} not healthy after ${ctx.options.waveTimeoutSeconds ?? 300} s: ${h.why}`);
      if (ctx.now() >= end) return { phase: "Running", message: `waiting for ${step.phase} wave ${step.wave}: ${h.why}`, cursor: { ...here, sentAt }, results };
    }
    sentAt = undefined;
  }
  await deleteHooks(ctx, plan, "HookSucceeded");
  return { phase: "Succeeded", results };
}

/** Deletes the hooks of `plan` whose delete policy is `policy` (HookSucceeded / HookFailed), when the operation ends. */
async function deleteHooks(ctx: SyncContext, plan: SyncPlan, policy: "HookSucceeded" | "HookFailed"): Promise<void> {
  for (const t of [...plan.steps, ...plan.syncFail].flatMap((s) => s.groups.flatMap((g) => g.tasks))) {
    if (t.type === "hook" && t.deletePolicies.includes(policy)) await ctx.api.delete(t.object, "Background");
  }
}

/** The operation failed: the SyncFail hooks are sent (not waited for), the results recorded. */
async function fail(ctx: SyncContext, plan: SyncPlan, results: TaskResult[], why: string): Promise<SyncProgress> {
  for (const step of plan.syncFail) results = merge(results, await sendStep(ctx, step));
  await deleteHooks(ctx, plan, "HookFailed");
  return { phase: "Failed", message: why, results };
}
