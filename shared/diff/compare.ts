/**
 * Comparison of desired objects (from Git) with live objects (from the cluster).
 *
 * First version of the rule — the desired object is a *partial* specification, as
 * server-side apply treats an applied configuration: every field set in Git must hold live;
 * fields only live are API-server defaults or other managers' and are not drift (three-way
 * detection from managedFields is `managed.ts`). In detail:
 * - maps recurse; an empty map or list in Git against an absent live field is not drift;
 *   `null` in Git means the field must be absent live;
 * - lists are matched by their merge keys (`listKey`), as strategic merge patch and
 *   server-side apply do
 *   (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch):
 *   by `name` when every item of both lists is a map with a `name` (containers, env, volumes,
 *   named ports); else by `containerPort` + `protocol` (default `TCP`, the API server's
 *   default); else, for unnamed Service ports, by `port` + `protocol`; else by position, and
 *   the lengths must match. Live items matching no desired item are not drift;
 * - scalars are equal when strictly equal (a number never equals a numeric string), except
 *   resource quantities, compared by value (`0.5` = `500m`, `1Gi` = `1073741824`, see
 *   `quantity.ts`) where the API server canonicalizes them: under a `resources` map,
 *   `hard`/`used` of a ResourceQuota, a `capacity` or `overhead` map, the `max`/`min`/
 *   `default`/`defaultRequest`/`maxLimitRequestRatio` maps of a LimitRange, and any
 *   `storage` or `sizeLimit` field;
 * - `apiVersion` and `kind` are identity, not compared (one object is served under several
 *   versions); `status` and server-populated metadata are ignored on both sides, as Argo CD
 *   ignores the status field (a status written in Git is never applied); the `rules` of an
 *   aggregated ClusterRole are written by the aggregation controller
 *   (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles);
 * - Secrets are compared on their redacted form (`redactSecret`): desired `stringData` against
 *   base64-decoded live `data`, and every value in a change is `sha256:<hex>`.
 *
 * Paths: `spec.template.spec.containers[name=guestbook-ui].image`, `spec.ports[0].port`,
 * `spec.template.spec.containers[name=web].ports[containerPort=80,protocol=TCP]`; a key that
 * is not a plain identifier (dots, slashes…) is quoted: `metadata.labels["app.kubernetes.io/name"]`.
 */
import { resourceKey, type FieldChange, type KubeObject, type ResourceDrift } from "../model.js";
import { normalizeLive } from "./normalize.js";
import { quantitiesEqual } from "./quantity.js";
import { redactSecret } from "./secret.js";

/** One step of a path: a map key, a list index, or a list item matched by merge key (`{ match: "name=web" }`). */
export type Segment = string | number | { match: string };

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLAIN_VALUE = /^[^\s[\]",=]+$/;

/** `path` with map key `key` appended: `a.b`, or `a["x.y/z"]` for keys that are not plain. */
export function appendKey(path: string, key: string): string {
  return PLAIN_KEY.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

/** Renders path segments: `a.b`, `a["x.y/z"]`, `a[0]`, `a[name=web]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string") out = appendKey(out, s);
    else out += `[${s.match}]`;
  }
  return out;
}

function matchValue(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return PLAIN_VALUE.test(s) ? s : JSON.stringify(s);
}

/** Maps whose scalar values are quantities, for every kind / for one kind. */
const QUANTITY_MAPS = new Set(["resources", "capacity", "overhead"]);
const QUANTITY_MAPS_OF: Record<string, Set<string>> = {
  ResourceQuota: new Set(["hard", "used"]),
  LimitRange: new Set(["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"]),
};
/** Fields that are quantities wherever they are. */
const QUANTITY_KEYS = new Set(["storage", "sizeLimit"]);

/**
 * True when the scalar at `segments` of an object of `kind` is a resource quantity: its own
 * key is `storage`/`sizeLimit`, or it sits (through map keys only, no list between) under one
 * of the quantity maps listed in the module doc.
 */
export function isQuantityField(kind: string, segments: readonly Segment[]): boolean {
  const last = segments[segments.length - 1];
  if (typeof last !== "string") return false;
  if (QUANTITY_KEYS.has(last)) return true;
  const ofKind = QUANTITY_MAPS_OF[kind];
  for (let i = segments.length - 2; i >= 0; i--) {
    const s = segments[i];
    if (typeof s !== "string") return false;
    if (QUANTITY_MAPS.has(s) || ofKind?.has(s)) return true;
  }
  return false;
}

/**
 * The merge key of a list, as a function from an item to its path segment text
 * (`name=web`, `containerPort=80,protocol=TCP`, `port=80,protocol=TCP`), or undefined when
 * items are matched by position: `name` when every item is a map with a `name`; else
 * `containerPort` + `protocol` (default `TCP`) when every item has a `containerPort`; else
 * `port` + `protocol` when every item has a `port` and none a `name` (Service ports, whose
 * server-side apply keys are port and protocol). An empty list has no key. To match two lists,
 * call it on both concatenated (the rule requires every item of both).
 */
export function listKey(items: readonly unknown[]): ((item: unknown) => string) | undefined {
  if (items.length === 0) return undefined;
  const field = (i: unknown, f: string) => (i as Record<string, unknown>)[f];
  if (items.every((i) => isMap(i) && i.name !== undefined && i.name !== null)) {
    return (i) => `name=${matchValue(field(i, "name"))}`;
  }
  if (items.every((i) => isMap(i) && i.containerPort !== undefined && i.containerPort !== null)) {
    return (i) => `containerPort=${matchValue(field(i, "containerPort"))},protocol=${matchValue(field(i, "protocol") ?? "TCP")}`;
  }
  if (items.every((i) => isMap(i) && i.port !== undefined && i.port !== null && i.name === undefined)) {
    return (i) => `port=${matchValue(field(i, "port"))},protocol=${matchValue(field(i, "protocol") ?? "TCP")}`;
  }
  return undefined;
}

class Comparison {
  readonly changes: FieldChange[] = [];
  constructor(private readonly kind: string) {}

  private change(segments: Segment[], desired: unknown, live: unknown): void {
    this.changes.push({ path: formatPath(segments), desired, ...(live === undefined ? {} : { live }) });
  }

  compare(desired: unknown, live: unknown, segments: Segment[]): void {
    if (desired === undefined) return;
    if (desired === null) {
      if (live !== undefined && live !== null) this.change(segments, null, live);
      return;
    }
    if (isMap(desired)) {
      if (isMap(live)) {
        for (const k of Object.keys(desired)) this.compare(desired[k], live[k], [...segments, k]);
      } else if (live === undefined || live === null) {
        // absent live: report each desired leaf, so a path does not depend on what else is live
        for (const k of Object.keys(desired)) this.compare(desired[k], undefined, [...segments, k]);
      } else {
        this.change(segments, desired, live);
      }
      return;
    }
    if (Array.isArray(desired)) {
      if (!Array.isArray(live)) {
        if (!(desired.length === 0 && (live === undefined || live === null))) this.change(segments, desired, live);
        return;
      }
      const key = desired.length > 0 ? listKey([...desired, ...live]) : undefined;
      if (key) {
        const byKey = new Map<string, unknown>();
        for (const l of live) if (!byKey.has(key(l))) byKey.set(key(l), l);
        for (const d of desired) {
          const k = key(d);
          const l = byKey.get(k);
          const at: Segment[] = [...segments, { match: k }];
          if (l === undefined) this.change(at, d, undefined);
          else this.compare(d, l, at);
        }
        return;
      }
      if (desired.length !== live.length) {
        this.change(segments, desired, live);
        return;
      }
      desired.forEach((d, i) => this.compare(d, live[i], [...segments, i]));
      return;
    }
    if (desired === live) return;
    if (live !== undefined && live !== null && isQuantityField(this.kind, segments) && quantitiesEqual(desired, live)) return;
    this.change(segments, desired, live);
  }
}

function byString<T>(f: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = f(a);
    const y = f(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

function driftOf(o: KubeObject, state: ResourceDrift["state"], changes: FieldChange[] = []): ResourceDrift {
  return {
    key: resourceKey(o),
    apiVersion: o.apiVersion,
    kind: o.kind,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata.name,
    state,
    changes,
  };
}

/**
 * The changed fields of `desired` against `live` under the rule of the module doc, sorted by
 * path; an empty list means in sync. Both objects are normalized here (server-populated
 * fields and `status` dropped, Secrets redacted), so raw API responses can be passed.
 */
export function compareObjects(desired: KubeObject, live: KubeObject): FieldChange[] {
  let d = redactSecret(normalizeLive(desired));
  if (d.kind === "ClusterRole" && d.aggregationRule) {
    const { rules: _rules, ...rest } = d;
    d = rest as KubeObject;
  }
  const l = redactSecret(normalizeLive(live)) as Record<string, unknown>;
  const comparison = new Comparison(desired.kind);
  for (const k of Object.keys(d)) {
    if (k === "apiVersion" || k === "kind") continue;
    comparison.compare(d[k], l[k], [k]);
  }
  return comparison.changes.sort(byString((c) => c.path));
}

/**
 * Drift of one resource: `Missing` when there is no live object, `Modified` with the changed
 * fields (sorted by path; Secret values as `sha256:<hex>` digests), else `Synced`.
 * The identity fields of the result (key, apiVersion, kind, namespace, name) come from
 * `desired`. Never throws.
 */
export function diffObject(desired: KubeObject, live: KubeObject | undefined): ResourceDrift {
  if (!live) return driftOf(desired, "Missing");
  const changes = compareObjects(desired, live);
  return driftOf(desired, changes.length > 0 ? "Modified" : "Synced", changes);
}

/**
 * Drift of every desired object against the live objects, matched by `resourceKey`
 * (group, kind, namespace, name — so run `normalizeDesired` first to fill namespaces):
 * `Synced`, `Modified` or `Missing` per desired object, plus `Extra` for each live object that
 * no desired object matches and that `opts.isOwned` claims (Argo CD's prune candidates: live
 * resources tracked by the application but gone from Git). Results are sorted by key.
 * Never throws unless `isOwned` does.
 */
export function diffAll(desired: KubeObject[], live: KubeObject[], opts: { isOwned: (live: KubeObject) => boolean }): ResourceDrift[] {
  const liveByKey = new Map<string, KubeObject>();
  for (const o of live) liveByKey.set(resourceKey(o), o);
  const desiredKeys = new Set<string>();
  const out: ResourceDrift[] = [];
  for (const d of desired) {
    const key = resourceKey(d);
    desiredKeys.add(key);
    out.push(diffObject(d, liveByKey.get(key)));
  }
  for (const [key, l] of liveByKey) if (!desiredKeys.has(key) && opts.isOwned(l)) out.push(driftOf(l, "Extra"));
  return out.sort(byString((r) => r.key));
}
