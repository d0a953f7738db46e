/**
 * Comparing one cluster's live state with a desired state: namespace placement, one LIST per
 * kind and namespace, the LIST comparison, then confirmation of the suspects with a
 * server-side apply dry-run (one request per suspected resource only), and three-way
 * detection of fields this source applied before and Git dropped.
 *
 * API requests: discovery (one per apiVersion) + LISTs (kinds x namespaces) + dry-runs
 * (suspected resources) — unlike `kubectl diff`, which sends a dry-run for every object.
 */
import { diffAll, diffObject } from "../diff/index.js";
import { normalizeLive } from "../diff/normalize.js";
import { projectObject } from "../diff/project.js";
import { removedOwnedFields } from "../diff/managed.js";
import { applyIgnoreRules, type IgnoreRule } from "../diff/ignore.js";
import { resourceKey, type KubeObject, type ResourceDrift } from "../model.js";
import { KubeApiError } from "../kube/client.js";
import { clusterSchemas, type SchemaCache } from "../kube/openapi.js";
import { schemasFor, type Schemas } from "../schema/index.js";
import { FIELD_MANAGER, UnknownKindError, type ResourceApi } from "../kube/resources.js";

import { TRACKING_ANNOTATION } from "../sync/annotations.js";

/** Gives namespaced objects without a namespace `namespace`, strips it from cluster-scoped ones; unserved kinds are left as they are. */
export async function placeInNamespaces(api: ResourceApi, objects: KubeObject[], namespace: string): Promise<KubeObject[]> {
  return Promise.all(
    objects.map(async (o) => {
      const namespaced = await api.isNamespaced(o.apiVersion, o.kind);
      if (namespaced === true && !o.metadata.namespace) return { ...o, metadata: { ...o.metadata, namespace } };
      if (namespaced === false && o.metadata.namespace !== undefined) {
        const { namespace: _ns, ...meta } = o.metadata;
        return { ...o, metadata: meta as KubeObject["metadata"] };
      }
      return o;
    }),
  );
}

/** A (kind, namespace) to LIST. */
export interface Scope {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

/** The distinct (apiVersion, kind, namespace) of `objects`. */
export function scopesOf(objects: KubeObject[]): Scope[] {
  const seen = new Map<string, Scope>();
  for (const o of objects) seen.set(`${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ""}`, { apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace });
  return [...seen.values()];
}

/** One LIST per scope; kinds the server does not serve yield nothing (their objects show as Missing). */
export async function readLive(api: ResourceApi, scopes: Scope[]): Promise<KubeObject[]> {
  const lists = await Promise.all(
    scopes.map((s) =>
      api.list(s.apiVersion, s.kind, s.namespace).catch((err: unknown) => {
        if (err instanceof UnknownKindError) return [];
        throw err;
      }),
    ),
  );
  return lists.flat();
}

/** Counters of one inspection, for logs, tests and the benchmark. */
export interface InspectStats {
  lists: number;
  suspects: number;
  confirmed: number;
  dryRuns: number;
}

/**
 * Drift of `desired` (already placed in namespaces) against the cluster, listing `scopes`.
 * @param opts.owner cluster name whose tracking annotation marks Extra objects.
 * @param opts.confirm dry-run the LIST suspects (default true).
 * @param opts.ignore the cluster's ignore rules (see shared/diff/ignore.ts), applied last.
 * @param opts.schemas list semantics of the kinds in play (see `schemasOf`).
 * @throws ClusterUnreachableError / KubeApiError from the LISTs.
 */
export async function inspect(
  api: ResourceApi,
  desired: KubeObject[],
  scopes: Scope[],
  opts: { owner: string; confirm?: boolean; ignore?: IgnoreRule[]; schemas: Schemas },
): Promise<{ drift: ResourceDrift[]; live: KubeObject[]; stats: InspectStats }> {
  const live = await readLive(api, scopes);
  const isOwned = (o: KubeObject) => (o.metadata.annotations?.[TRACKING_ANNOTATION] ?? "").startsWith(`${opts.owner}:`);
  const { schemas } = opts;
  const ignore = opts.ignore ?? [];
  const drift = diffAll(desired, live, { isOwned, schemas });
  const byKey = new Map(live.map((o) => [resourceKey(o), o]));
  const desiredByKey = new Map(desired.map((o) => [resourceKey(o), o]));
  const stats: InspectStats = { lists: scopes.length, suspects: 0, confirmed: 0, dryRuns: 0 };
  const out = await Promise.all(
    drift.map(async (d) => {
      const want = desiredByKey.get(d.key);
      const have = byKey.get(d.key);
      if (!want || !have || d.state === "Missing" || d.state === "Extra") return d;
      let result = applyIgnoreRules(d, want, have, ignore, schemas);
      if (d.state === "Modified" && opts.confirm !== false && want.kind !== "Secret") {
        stats.suspects++;
        try {
          stats.dryRuns++;
          const dry = await api.apply(want, { dryRun: true, force: true, fieldManager: FIELD_MANAGER }).catch((err: unknown) => {
            // SSA refuses fields a CRD schema does not declare; a plain write prunes them
            if (err instanceof KubeApiError && /not declared in schema/.test(err.message)) {
              stats.dryRuns++;
              return api.mergePatchDryRun(want);
            }
            throw err;
          });
          // what applying Git would store, restricted to the fields Git sets, against live
          const canonical = { ...(projectObject(normalizeLive(dry), want, schemas) as KubeObject), apiVersion: want.apiVersion, kind: want.kind };
          result = applyIgnoreRules(diffObject(canonical, have, schemas), want, have, ignore, schemas);
        } catch (err) {
          if (!(err instanceof KubeApiError)) throw err; // a refused dry-run (RBAC, invalid) keeps the LIST verdict
        }
        if (result.state === "Modified") stats.confirmed++;
      }
      const removed = removedOwnedFields(want, have, FIELD_MANAGER, schemas);
      if (removed.length === 0) return result;
      const changes = [...result.changes, ...removed.filter((r) => !result.changes.some((c) => c.path === r.path))].sort((a, b) => (a.path < b.path ? -1 : 1));
      return applyIgnoreRules({ ...result, state: "Modified" as const, changes }, want, have, ignore, schemas);
    }),
  );
  return { drift: out, live, stats };
}

/**
 * The list semantics for comparing `objects` on the cluster behind `api`: the OpenAPI v3
 * documents of their group-versions (cached by content hash in memory and in `cache`), the
 * CRDs among `objects`, and the built-in schema for whatever the cluster does not publish.
 * @throws ClusterUnreachableError / KubeApiError (other than a server without OpenAPI v3).
 */
export async function schemasOf(api: ResourceApi, objects: KubeObject[], cache?: SchemaCache): Promise<Schemas> {
  const sets = await clusterSchemas(api.client, new Set(objects.map((o) => o.apiVersion)), cache);
  return schemasFor(sets ?? [], objects);
}
