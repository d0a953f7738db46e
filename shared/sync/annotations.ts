/**
 * What the annotations Argo CD users put on their objects mean for Converge, read the way Argo
 * CD reads them (gitops-engine `pkg/sync/hook`, `pkg/sync/hook/helm`, `pkg/sync/ignore`;
 * https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/,
 * https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks,
 * https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/,
 * https://argo-cd.readthedocs.io/en/stable/user-guide/compare-options/).
 */
import type { KubeObject } from "../model.js";

/** Argo CD's hook annotation: a comma-separated list of phases, or `Skip`. */
export const ARGO_HOOK = "argocd.argoproj.io/hook";
/** Helm's hook annotation: a comma-separated list of Helm hook types. */
export const HELM_HOOK = "helm.sh/hook";
/** Argo CD's sync options annotation (`Prune=false,ServerSideApply=true`). */
export const SYNC_OPTIONS = "argocd.argoproj.io/sync-options";
/** Argo CD's compare options annotation (`IgnoreExtraneous`). */
export const COMPARE_OPTIONS = "argocd.argoproj.io/compare-options";

/** Annotation Converge sets on what it applies: `<cluster>:<resource key>`; marks the objects a cluster's source owns (Extra, prune candidates). */
export const TRACKING_ANNOTATION = "converge.dev/tracking-id";

/** A sync phase a hook runs in. */
export type HookPhase = "PreSync" | "Sync" | "PostSync" | "SyncFail" | "PreDelete" | "PostDelete";

const ARGO_PHASES: ReadonlySet<string> = new Set(["PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete"]);

/** Helm hook types Argo CD maps to a phase; any other type (`test`, `*-rollback`) drops the object. */
const HELM_PHASES: Readonly<Record<string, HookPhase>> = {
  "pre-install": "PreSync",
  "pre-upgrade": "PreSync",
  "post-install": "PostSync",
  "post-upgrade": "PostSync",
  "pre-delete": "PreDelete",
  "post-delete": "PostDelete",
};

/**
 * The role of an object of the desired state:
 * - `resource`: desired state, compared and synced (also a Helm `crd-install` hook);
 * - `hook`: run in `phases` by a sync, never compared (not Missing, not Extra);
 * - `skip`: `argocd.argoproj.io/hook: Skip`, never applied nor compared;
 * - `dropped`: a Helm hook of a type Argo CD does not run (`test`, `test-success`,
 *   `pre-rollback`, `post-rollback`...): not part of the desired state at all.
 */
export type ObjectRole = { role: "resource" } | { role: "hook"; phases: HookPhase[] } | { role: "skip" } | { role: "dropped" };

function list(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The role of `o` from its hook annotations. An Argo CD hook annotation wins over Helm's (an
 * object with both is read as Argo CD's alone), as in gitops-engine's `hook.Types`.
 */
export function objectRole(o: Pick<KubeObject, "metadata">): ObjectRole {
  const annotations = o.metadata.annotations ?? {};
  if (ARGO_HOOK in annotations) {
    const values = list(annotations[ARGO_HOOK]);
    if (values.includes("Skip")) return { role: "skip" };
    const phases = values.filter((v) => ARGO_PHASES.has(v)) as HookPhase[];
    return phases.length ? { role: "hook", phases } : { role: "dropped" };
  }
  if (!(HELM_HOOK in annotations)) return { role: "resource" };
  const types = list(annotations[HELM_HOOK]);
  if (types.length === 1 && types[0] === "crd-install") return { role: "resource" };
  const phases = [...new Set(types.flatMap((t) => (HELM_PHASES[t] ? [HELM_PHASES[t]] : [])))];
  return phases.length ? { role: "hook", phases } : { role: "dropped" };
}

/** True when `o` carries any hook annotation but is not an ordinary resource (a live hook is never Extra). */
export function isHookObject(o: Pick<KubeObject, "metadata">): boolean {
  return objectRole(o).role !== "resource";
}

/** The options of a comma-separated annotation as a map: `Prune=false,Replace=true` → {Prune: "false", Replace: "true"}; a bare word maps to "true". */
export function annotationOptions(o: Pick<KubeObject, "metadata">, annotation: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list(o.metadata.annotations?.[annotation])) {
    const eq = item.indexOf("=");
    if (eq < 0) out[item] = "true";
    else out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** `argocd.argoproj.io/compare-options: IgnoreExtraneous`: an extraneous live object does not make the cluster OutOfSync. */
export function ignoresExtraneous(o: Pick<KubeObject, "metadata">): boolean {
  return annotationOptions(o, COMPARE_OPTIONS).IgnoreExtraneous === "true";
}

/** `argocd.argoproj.io/sync-options: Prune=false`: a sync never deletes the object (it stays Extra, reported PruneSkipped). */
export function pruneDisabled(o: Pick<KubeObject, "metadata">): boolean {
  return annotationOptions(o, SYNC_OPTIONS).Prune === "false";
}

/**
 * A rendered desired state split by role: `resources` (compared and synced), `hooks` (hooks
 * and `Skip` objects, kept for the sync engine, never compared); `dropped` objects (Helm test
 * and rollback hooks) are in neither. Order within each list is kept.
 */
export function splitHooks<T extends { object: Pick<KubeObject, "metadata"> }>(objects: readonly T[]): { resources: T[]; hooks: T[] } {
  const resources: T[] = [];
  const hooks: T[] = [];
  for (const o of objects) {
    const r = objectRole(o.object).role;
    if (r === "resource") resources.push(o);
    else if (r !== "dropped") hooks.push(o);
  }
  return { resources, hooks };
}

/** Argo CD's hook delete policy annotation: a comma-separated list of `HookDeletePolicy`. */
export const ARGO_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy";
/** Helm's hook delete policy annotation: `before-hook-creation`, `hook-succeeded`, `hook-failed`. */
export const HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy";

/**
 * When a hook object is deleted (gitops-engine `common.HookDeletePolicy`):
 * - `BeforeHookCreation`: the previous copy is deleted just before the hook is created again;
 * - `HookSucceeded` / `HookFailed`: deleted when the operation ends, if the hook succeeded / failed.
 */
export type HookDeletePolicy = "BeforeHookCreation" | "HookSucceeded" | "HookFailed";

const ARGO_DELETE_POLICIES: ReadonlySet<string> = new Set(["BeforeHookCreation", "HookSucceeded", "HookFailed"]);
const HELM_DELETE_POLICIES: Readonly<Record<string, HookDeletePolicy>> = {
  "before-hook-creation": "BeforeHookCreation",
  "hook-succeeded": "HookSucceeded",
  "hook-failed": "HookFailed",
};

/**
 * The delete policies of a hook, distinct, in the order written: the Argo CD annotation's
 * values, then the Helm annotation's mapped ones (`hook-succeeded` → HookSucceeded,
 * `hook-failed` → HookFailed, `before-hook-creation` → BeforeHookCreation); unknown values are
 * ignored; none at all → `["BeforeHookCreation"]`. Both annotations count, unlike the hook
 * annotation itself (gitops-engine `hook.DeletePolicies`, `hook/helm/delete_policy.go`).
 * Meaningless for an object that is not a hook (the caller checks).
 */
export function hookDeletePolicies(o: Pick<KubeObject, "metadata">): HookDeletePolicy[] {
  const annotations = o.metadata.annotations ?? {};
  const argo = list(annotations[ARGO_HOOK_DELETE_POLICY]).filter((p) => ARGO_DELETE_POLICIES.has(p)) as HookDeletePolicy[];
  const helm = list(annotations[HELM_HOOK_DELETE_POLICY]).flatMap((p) => (HELM_DELETE_POLICIES[p] ? [HELM_DELETE_POLICIES[p]] : []));
  const all = [...new Set([...argo, ...helm])];
  return all.length ? all : ["BeforeHookCreation"];
}

/** `argocd.argoproj.io/sync-options: PruneLast=true` on a live object: its prune waits until after the last wave of the Sync phase (gitops-engine `SyncOptionPruneLast`). */
export function pruneLastRequested(o: Pick<KubeObject, "metadata">): boolean {
  return annotationOptions(o, SYNC_OPTIONS).PruneLast === "true";
}
