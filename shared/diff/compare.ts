/**
 * Comparison of a desired object (from Git) with its live counterpart.
 *
 * The desired object is a partial specification, as server-side apply treats it: every field
 * set in Git must hold live; fields only live are defaults or other managers' and are not
 * drift. Lists are matched by their merge keys, as strategic merge patch does
 * (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch):
 * items by `name` (containers, env, volumes, named ports), ports by `containerPort` +
 * `protocol` (default TCP), otherwise by position. Resource quantities compare by value.
 */
import { resourceKey, type FieldChange, type KubeObject, type ResourceDrift } from "../model.js";
import { normalizeLive } from "./normalize.js";
import { quantitiesEqual } from "./quantity.js";
import { redactSecret } from "./secret.js";

type Json = unknown;

function isMap(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isEmpty(v: Json): boolean {
  return v === undefined || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0);
}

/** `a.b`, `a["x.y/z"]`: keys with characters other than letters, digits, `_` and `-` are quoted. */
function child(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

/** Parent keys under which scalar values are resource quantities. */
const QUANTITY_PARENTS = new Set(["limits", "requests", "hard", "used", "capacity", "allocatable"]);
const QUANTITY_KEYS = new Set(["storage"]);

function quantityContext(path: string): boolean {
  const parts = path.split(/[.[]/);
  const last = parts[parts.length - 1] ?? "";
  const parent = parts[parts.length - 2] ?? "";
  return QUANTITY_PARENTS.has(parent) || QUANTITY_KEYS.has(last);
}

/** The merge key of a list (items by `name`, ports by `containerPort`+`protocol`, service ports by `port`+`protocol`), or undefined: match by position. */
export function listKey(items: Json[]): ((item: Json) => string) | undefined {
  if (items.length === 0) return undefined;
  if (items.every((i) => isMap(i) && typeof i.name === "string")) return (i) => `name=${(i as Record<string, Json>).name as string}`;
  if (items.every((i) => isMap(i) && i.containerPort !== undefined)) return (i) => `containerPort=${String((i as Record<string, Json>).containerPort)},protocol=${String((i as Record<string, Json>).protocol ?? "TCP")}`;
  if (items.every((i) => isMap(i) && i.port !== undefined && i.name === undefined)) return (i) => `port=${String((i as Record<string, Json>).port)},protocol=${String((i as Record<string, Json>).protocol ?? "TCP")}`;
  return undefined;
}

function compareValue(desired: Json, live: Json, path: string, out: FieldChange[]): void {
  if (desired === null) {
    if (live !== undefined && live !== null) out.push({ path, desired: null, live });
    return;
  }
  if (isMap(desired)) {
    if (!isMap(live)) {
      if (!(isEmpty(desired) && (live === undefined || live === null))) out.push({ path, desired, live });
      return;
    }
    for (const k of Object.keys(desired).sort()) compareValue(desired[k], live[k], child(path, k), out);
    return;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) {
      if (!(desired.length === 0 && (live === undefined || live === null))) out.push({ path, desired, live });
      return;
    }
    const key = listKey(desired);
    if (key && (live.length === 0 || listKey(live))) {
      const liveByKey = new Map(live.map((i) => [key(i), i]));
      for (const d of desired) {
        const k = key(d);
        const l = liveByKey.get(k);
        const itemPath = `${path}[${k}]`;
        if (l === undefined) out.push({ path: itemPath, desired: d });
        else compareValue(d, l, itemPath, out);
      }
      return;
    }
    if (desired.length !== live.length) {
      out.push({ path, desired, live });
      return;
    }
    desired.forEach((d, i) => compareValue(d, live[i], `${path}[${i}]`, out));
    return;
  }
  if (desired === live) return;
  if (live !== undefined && quantityContext(path) && quantitiesEqual(desired, live)) return;
  out.push({ path, desired, ...(live === undefined ? {} : { live }) });
}

function driftOf(o: KubeObject, state: ResourceDrift["state"], changes: FieldChange[] = []): ResourceDrift {
  return { key: resourceKey(o), apiVersion: o.apiVersion, kind: o.kind, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), name: o.metadata.name, state, changes };
}

/**
 * Drift of one resource: `Missing` when there is no live object, `Modified` with the changed
 * fields (sorted by path; Secret values as digests), else `Synced`.
 * `apiVersion` and `kind` are identity, not compared (one object is served under several versions).
 */
export function diffObject(desired: KubeObject, live: KubeObject | undefined): ResourceDrift {
  if (!live) return driftOf(desired, "Missing");
  let d = redactSecret(desired);
  const l = redactSecret(normalizeLive(live));
  // an aggregated ClusterRole's rules are written by the aggregation controller, not by Git
  // (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles)
  if (d.kind === "ClusterRole" && d.aggregationRule) {
    const { rules: _rules, ...rest } = d;
    d = rest as KubeObject;
  }
  const changes: FieldChange[] = [];
  const { apiVersion: _a, kind: _k, ...fields } = d;
  for (const k of Object.keys(fields).sort()) compareValue(fields[k], (l as Record<string, Json>)[k], k, changes);
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return driftOf(desired, changes.length ? "Modified" : "Synced", changes);
}

/**
 * Drift of every desired object against the live objects, plus `Extra` for live objects
 * owned by this source (`isOwned`) that Git no longer has. Sorted by resource key.
 */
export function diffAll(desired: KubeObject[], live: KubeObject[], opts: { isOwned: (live: KubeObject) => boolean }): ResourceDrift[] {
  const liveByKey = new Map(live.map((o) => [resourceKey(o), o]));
  const desiredKeys = new Set<string>();
  const out: ResourceDrift[] = [];
  for (const d of desired) {
    const key = resourceKey(d);
    desiredKeys.add(key);
    out.push(diffObject(d, liveByKey.get(key)));
  }
  for (const [key, l] of liveByKey) if (!desiredKeys.has(key) && opts.isOwned(l)) out.push(driftOf(l, "Extra"));
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
