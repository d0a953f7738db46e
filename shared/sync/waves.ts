/**
 * Sync waves: the integer that orders objects inside a sync phase, lowest first (gitops-engine
 * `pkg/sync/syncwaves/waves.go`, `hook/helm/weight.go`;
 * https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/).
 */
import type { KubeObject } from "../model.js";

/** Argo CD's wave annotation: an integer, default 0, negative allowed. */
export const SYNC_WAVE = "argocd.argoproj.io/sync-wave";
/** Helm's hook weight annotation, the wave when `SYNC_WAVE` is absent. */
export const HELM_HOOK_WEIGHT = "helm.sh/hook-weight";

/**
 * A wave annotation that is not an integer. `annotation` is the annotation read, `value` its
 * text, `object` the object as `<apiVersion> <kind> [<namespace>/]<name>`; the message names all three.
 */
export class SyncWaveError extends Error {
  constructor(
    readonly object: string,
    readonly annotation: string,
    readonly value: string,
  ) {
    super(`${object}: annotation ${annotation} must be an integer, got ${JSON.stringify(value)}`);
    this.name = "SyncWaveError";
  }
}

/** Go's `strconv.Atoi` syntax: an optional sign then decimal digits (leading zeros allowed). */
const INTEGER = /^[+-]?[0-9]+$/;

/** `<apiVersion> <kind> [<namespace>/]<name>` (or `generateName*` for an unnamed hook), for messages. */
export function describeObject(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  const generateName = typeof o.metadata.generateName === "string" ? `${o.metadata.generateName}*` : "";
  const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : "";
  return `${o.apiVersion} ${o.kind} ${ns}${o.metadata.name || generateName}`;
}

function parseWave(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">, annotation: string, text: string): number {
  const value = INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new SyncWaveError(describeObject(o), annotation, text);
  return value === 0 ? 0 : value; // no -0
}

/**
 * The sync wave of `o`: `argocd.argoproj.io/sync-wave` when present, else `helm.sh/hook-weight`
 * (read on any object, hook or not, as gitops-engine does), else 0. Negative waves run first.
 *
 * Differs from gitops-engine (`syncwaves.Wave`), which silently falls back to the Helm weight,
 * then to 0, on a value `strconv.Atoi` rejects: here such a value is an error, so a typo
 * (`"1.5"`, `" 2"`, `"first"`) does not reorder a sync behind the author's back.
 * @throws SyncWaveError when the annotation read is not an integer (Go `Atoi` syntax: optional
 *   sign, digits) or is beyond ±2^53−1. A valid `sync-wave` makes the Helm weight unread.
 */
export function syncWave(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): number {
  const annotations = o.metadata.annotations ?? {};
  const wave = annotations[SYNC_WAVE];
  if (wave !== undefined) return parseWave(o, SYNC_WAVE, wave);
  const weight = annotations[HELM_HOOK_WEIGHT];
  return weight !== undefined ? parseWave(o, HELM_HOOK_WEIGHT, weight) : 0;
}

/**
 * gitops-engine's own reading (`syncwaves.Wave`): a value that is not an integer is ignored
 * (the Helm weight, then 0, is used). For live objects, whose annotations Git no longer controls.
 */
export function lenientSyncWave(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): number {
  const annotations = o.metadata.annotations ?? {};
  for (const annotation of [SYNC_WAVE, HELM_HOOK_WEIGHT]) {
    const text = annotations[annotation];
    if (text !== undefined && INTEGER.test(text) && Number.isSafeInteger(Number(text))) return Number(text) || 0;
  }
  return 0;
}
