/**
 * `converge diff`: the drift of one cluster right now, or of two sets of files offline, with
 * the same engine as the reconcile and nothing written anywhere.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { renderDirectory, type SourceFile } from "../render/directory.js";
import { diffAll, isNamespacedKind } from "../diff/index.js";
import { resourceHealth } from "../health/index.js";
import { resourceKey, type KubeObject, type ResourceDrift } from "../model.js";
import { renderRevision, type ReconcileDeps } from "./reconcile.js";
import { inspect, placeInNamespaces, schemasOf, scopesOf, type InspectStats } from "./inspect.js";
import { schemasFor, type Schemas } from "../schema/index.js";
import { splitHooks, TRACKING_ANNOTATION } from "../sync/annotations.js";
import { ClusterNotFoundError } from "../store/clusters.js";

/** What a diff found: per-resource drift and both sides, by resource key. */
export interface DiffResult {
  revision?: string;
  drift: ResourceDrift[];
  desired: Map<string, KubeObject>;
  live: Map<string, KubeObject>;
  stats?: InspectStats;
  kubeRequests?: number;
  /** The list semantics the comparison used (for the unified diffs). */
  schemas: Schemas;
  /** The hooks of the revision, placed in their namespaces (a cluster diff only). */
  hooks?: KubeObject[];
}

/**
 * The drift of cluster `name` at the head of its branch (or `revision`), computed live.
 * @throws ClusterNotFoundError; RenderError / SourceError for a bad desired state; cluster API errors.
 */
export async function diffCluster(deps: Pick<ReconcileDeps, "clusters" | "git" | "connect" | "gitAuth">, name: string, revision?: string): Promise<DiffResult> {
  const rec = await deps.clusters.get(name);
  if (!rec) throw new ClusterNotFoundError(name);
  const { source } = rec.spec;
  const auth = await deps.gitAuth?.(source);
  const rev = revision ?? (source.ref ? await deps.git.resolveRef(source.repoUrl, source.ref, auth) : await deps.git.resolveBranch(source.repoUrl, source.branch, auth));
  await deps.git.fetch(source.repoUrl, rev, source.branch, auth);
  const rendered = await renderRevision(deps, rec.spec, rev);
  const api = await deps.connect(rec.spec.access);
  try {
    const objects = await placeInNamespaces(
      api,
      rendered.objects.map((d) => d.object),
      rec.spec.namespace,
    );
    const schemas = await schemasOf(api, objects);
    const { drift, live, stats } = await inspect(api, objects, scopesOf(objects), { owner: rec.name, ignore: rec.spec.ignoreDifferences, schemas });
    const liveByKey = new Map(live.map((o) => [resourceKey(o), o]));
    for (const d of drift) if (d.state !== "Extra") d.health = resourceHealth(d.kind, d.apiVersion, liveByKey.get(d.key));
    const hooks = await placeInNamespaces(
      api,
      rendered.hooks.map((d) => d.object),
      rec.spec.namespace,
    );
    return { revision: rev, drift, desired: new Map(objects.map((o) => [resourceKey(o), o])), live: liveByKey, stats, kubeRequests: api.client.requests, schemas, hooks };
  } finally {
    api.client.close();
  }
}

/** Every file under a local folder (or the one file), paths relative to it: a source read from disk. */
export function readTree(path: string): SourceFile[] {
  if (statSync(path).isFile()) return [{ path: path.split("/").pop()!, content: readFileSync(path, "utf8") }];
  const walk = (dir: string): SourceFile[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : [{ path: relative(path, p), content: readFileSync(p, "utf8") }];
    });
  return walk(path);
}

/**
 * Offline diff of manifests on disk: `desiredPath` and `livePath` are files or folders of YAML/JSON
 * (a `kubectl get -o yaml` List works as live). Namespaced objects without a namespace get `namespace`.
 * Live objects carrying a tracking annotation and absent from desired are Extra; hooks in the
 * desired files are left out. Lists follow the built-in schema of the shipped Kubernetes
 * version, custom resources the CRDs found in either side (else their lists are atomic).
 * @throws RenderError for unparsable files; Error when a path does not exist.
 */
export function diffFiles(desiredPath: string, livePath: string, namespace = "default"): DiffResult {
  // offline there is no discovery: the diff package's table of cluster-scoped kinds decides
  const place = (o: KubeObject): KubeObject => (!isNamespacedKind(o.apiVersion, o.kind) || o.metadata.namespace ? o : { ...o, metadata: { ...o.metadata, namespace } });
  const desired = splitHooks(renderDirectory(readTree(desiredPath), { path: "" }).objects).resources.map((d) => place(d.object));
  const live = renderDirectory(readTree(livePath), { path: "" }).objects.map((d) => place(d.object));
  const schemas = schemasFor([], [...desired, ...live]);
  const drift = diffAll(desired, live, { isOwned: (o) => !!o.metadata.annotations?.[TRACKING_ANNOTATION], schemas });
  const liveByKey = new Map(live.map((o) => [resourceKey(o), o]));
  // files without status (not read from a cluster) say nothing about health
  for (const d of drift) if (d.state !== "Extra" && liveByKey.get(d.key)?.status) d.health = resourceHealth(d.kind, d.apiVersion, liveByKey.get(d.key));
  return { drift, desired: new Map(desired.map((o) => [resourceKey(o), o])), live: liveByKey, schemas };
}
