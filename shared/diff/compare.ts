/**
 * Comparison of desired objects (from Git) with live objects (from the cluster).
 *
 * First version of the rule — the desired object is a *partial* specification, as
 * server-side apply treats an applied configuration: every field set in Git must hold live;
 * fields only live are API-server defaults or other managers' and are not drift (three-way
 * detection from managedFields is `managed.ts`). In detail:
 * - maps recurse; an empty map or list in Git against an absent live field is not drift;
 *   `null` in Git means the field must be absent live;
 * - lists follow the list semantics of the kind's schema (shared/schema: what the cluster
 *   publishes in OpenAPI v3, as server-side apply reads it): a `map` list matches items by
 *   their key fields (containers by `name`, volumeMounts by `mountPath`, container ports by
 *   `containerPort`+`protocol` with the schema's default `TCP`), and live items matching no
 *   desired item are not drift; a `set` must hold every desired member, in any order; an
 *   `atomic` list (also any list the schema does not type) must have the desired length, its
 *   items compared by position;
 * - a field Git sets to its type's zero value (`0`, `false`, `""`, `{}`, `[]`) that the server
 *   omits is not drift: Go's `omitempty` drops zero values when the server serializes the
 *   object, so the field reads back absent (https://pkg.go.dev/encoding/json#Marshal);
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
 * Paths: `spec.template.spec.containers[name=guestbook-ui].image`, `spec.rules[0].host`
 * (atomic: by position), `spec.template.spec.containers[name=web].ports[containerPort=80,protocol=TCP]`
 * (map list: key fields sorted by name, as server-side apply's FieldsV1 `k:{...}` keys),
 * `metadata.finalizers[value="a"]` (set member, JSON); a key that is not a plain identifier
 * (dots, slashes…) is quoted: `metadata.labels["app.kubernetes.io/name"]`.
 */
import { resourceKey, type FieldChange, type KubeObject, type ResourceDrift } from "../model.js";
import { builtinSchemas, listMatch, type FieldType, type ListMatch, type Schemas } from "../schema/index.js";
import { ignoresExtraneous, isHookObject, pruneDisabled } from "../sync/annotations.js";
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
 * The path text of a map-list item from its key fields: `name=web`,
 * `containerPort=80,protocol=TCP` (fields sorted by name; a value that is not plain is JSON-quoted).
 */
export function keySegment(fields: Iterable<[string, unknown]>): string {
  return [...fields]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v === undefined ? "" : matchValue(v)}`)
    .join(",");
}

/** The key text of an item of a `map` list (`match.keys`, the schema's default for an omitted key field). */
export function itemKey(item: unknown, match: Extract<ListMatch, { type: "map" }>): string {
  const o = isMap(item) ? item : {};
  return keySegment(match.keys.map((k) => [k, o[k] ?? match.defaults[k]]));
}

/** The path text of a member of a `set` list: `value=<json>`, as FieldsV1 writes `v:<json>`. */
export function memberSegment(v: unknown): string {
  return `value=${JSON.stringify(v)}`;
}

/** A zero value of its type: what Go's `omitempty` leaves out when the server serializes an object. */
export function isZeroValue(v: unknown): boolean {
  if (v === 0 || v === false || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  return isMap(v) && Object.keys(v).length === 0;
}

class Comparison {
  readonly changes: FieldChange[] = [];
  constructor(
    private readonly kind: string,
    private readonly schemas: Schemas,
  ) {}

  private change(segments: Segment[], desired: unknown, live: unknown): void {
    this.changes.push({ path: formatPath(segments), desired, ...(live === undefined ? {} : { live }) });
  }

  compare(desired: unknown, live: unknown, segments: Segment[], type: FieldType | undefined): void {
    if (desired === undefined) return;
    if (desired === null) {
      if (live !== undefined && live !== null) this.change(segments, null, live);
      return;
    }
    if (isMap(desired)) {
      this.compareMap(desired, live, segments, type);
      return;
    }
    if (Array.isArray(desired)) {
      this.compareList(desired, live, segments, type);
      return;
    }
    if (desired === live) return;
    if ((live === undefined || live === null) && isZeroValue(desired)) return;
    if (live !== undefined && live !== null && isQuantityField(this.kind, segments) && quantitiesEqual(desired, live)) return;
    this.change(segments, desired, live);
  }

  private compareMap(desired: Record<string, unknown>, live: unknown, segments: Segment[], type: FieldType | undefined): void {
    if (isMap(live) || live === undefined || live === null) {
      // absent live: each desired leaf is reported, so a path does not depend on what else is live
      const l = isMap(live) ? live : {};
      for (const k of Object.keys(desired)) this.compare(desired[k], l[k], [...segments, k], this.schemas.child(type, k));
    } else {
      this.change(segments, desired, live);
    }
  }

  private compareList(desired: unknown[], live: unknown, segments: Segment[], type: FieldType | undefined): void {
    if (!Array.isArray(live)) {
      if (!(desired.length === 0 && (live === undefined || live === null))) this.change(segments, desired, live);
      return;
    }
    const match = listMatch(type);
    const itemType = this.schemas.itemsOf(type);
    if (match.type === "map") {
      const byKey = new Map<string, unknown>();
      for (const l of live) if (!byKey.has(itemKey(l, match))) byKey.set(itemKey(l, match), l);
      for (const d of desired) {
        const k = itemKey(d, match);
        const at: Segment[] = [...segments, { match: k }];
        if (!byKey.has(k)) this.change(at, d, undefined);
        else this.compare(d, byKey.get(k), at, itemType);
      }
    } else if (match.type === "set") {
      const members = new Set(live.map((l) => JSON.stringify(l)));
      for (const d of desired) if (!members.has(JSON.stringify(d))) this.change([...segments, { match: memberSegment(d) }], d, undefined);
    } else if (desired.length !== live.length) {
      this.change(segments, desired, live);
    } else {
      for (const [i, d] of desired.entries()) this.compare(d, live[i], [...segments, i], itemType);
    }
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
 * `schemas` gives the list semantics (default: the built-in kinds; other kinds' lists atomic).
 */
export function compareObjects(desired: KubeObject, live: KubeObject, schemas: Schemas = builtinSchemas()): FieldChange[] {
  let d = redactSecret(normalizeLive(desired));
  if (d.kind === "ClusterRole" && d.aggregationRule) {
    const { rules: _rules, ...rest } = d;
    d = rest as KubeObject;
  }
  const l = redactSecret(normalizeLive(live)) as Record<string, unknown>;
  const comparison = new Comparison(desired.kind, schemas);
  const type = schemas.kindType(desired.apiVersion, desired.kind);
  for (const k of Object.keys(d)) {
    if (k === "apiVersion" || k === "kind") continue;
    comparison.compare(d[k], l[k], [k], schemas.child(type, k));
  }
  return comparison.changes.sort(byString((c) => c.path));
}

/**
 * Drift of one resource: `Missing` when there is no live object, `Modified` with the changed
 * fields (sorted by path; Secret values as `sha256:<hex>` digests), else `Synced`.
 * The identity fields of the result (key, apiVersion, kind, namespace, name) come from
 * `desired`. Never throws.
 */
export function diffObject(desired: KubeObject, live: KubeObject | undefined, schemas?: Schemas): ResourceDrift {
  if (!live) return driftOf(desired, "Missing");
  const changes = compareObjects(desired, live, schemas);
  return driftOf(desired, changes.length > 0 ? "Modified" : "Synced", changes);
}

/**
 * Drift of every desired object against the live objects, matched by `resourceKey`
 * (group, kind, namespace, name — so run `normalizeDesired` first to fill namespaces):
 * `Synced`, `Modified` or `Missing` per desired object, plus `Extra` for each live object that
 * no desired object matches and that `opts.isOwned` claims (Argo CD's prune candidates: live
 * resources tracked by the application but gone from Git), except, as in Argo CD, hooks
 * (never pruned) and objects annotated `argocd.argoproj.io/compare-options: IgnoreExtraneous`;
 * an Extra object annotated `argocd.argoproj.io/sync-options: Prune=false` is flagged
 * `pruneSkipped` (a sync keeps it; the cluster stays OutOfSync). `desired` holds resources
 * only: hooks are split off before (see shared/sync/annotations.ts). Results are sorted by key.
 * Never throws unless `isOwned` does.
 */
export function diffAll(desired: KubeObject[], live: KubeObject[], opts: { isOwned: (live: KubeObject) => boolean; schemas?: Schemas }): ResourceDrift[] {
  const liveByKey = new Map<string, KubeObject>();
  for (const o of live) liveByKey.set(resourceKey(o), o);
  const desiredKeys = new Set<string>();
  const out: ResourceDrift[] = [];
  for (const d of desired) {
    const key = resourceKey(d);
    desiredKeys.add(key);
    out.push(diffObject(d, liveByKey.get(key), opts.schemas));
  }
  for (const [key, l] of liveByKey) {
    if (desiredKeys.has(key) || !opts.isOwned(l) || isHookObject(l) || ignoresExtraneous(l)) continue;
    out.push(pruneDisabled(l) ? { ...driftOf(l, "Extra"), pruneSkipped: true } : driftOf(l, "Extra"));
  }
  return out.sort(byString((r) => r.key));
}
