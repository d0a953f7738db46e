/**
 * One reconcile of one cluster: resolve the revision, get the desired state (from the
 * content-addressed snapshot, or by rendering it once), read the live state with one LIST
 * per kind and namespace, compare, optionally apply, record drift changes and the status.
 *
 * Writes per reconcile: the status item always (one small UpdateItem); the desired snapshot
 * only when this revision was never rendered; drift events and the observed state only when
 * some resource's drift state changed. So an unchanged reconcile costs one write.
 *
 * Failure policy (design brief, "Bad input gets a clear error and loses nothing"):
 * - the desired state cannot be computed (bad YAML, missing path, oversized file): status
 *   `Error` with file and line, last good snapshot kept, no throw (a retry cannot fix it);
 * - the cluster API cannot be reached: status `Unknown` with the cause, no throw (the next
 *   tick retries);
 * - Git or DynamoDB failures throw, so SQS redelivers the task (its events are keyed
 *   deterministically, so a redelivery cannot double them).
 */
import { RenderError } from "../render/directory.js";
import { renderSource, detectTypeFromNames, type SourceType } from "../render/source.js";
import { redactSecret } from "../diff/index.js";
import { inspect, placeInNamespaces, schemasOf, scopesOf, } from "./inspect.js";
import { splitHooks } from "../sync/annotations.js";
import { syncStage } from "./sync-stage.js";
import type { OperationStore, OperationTrigger } from "../store/operations.js";
import { resourceKey, type DesiredObject, type ResourceDrift, type SourceLocation } from "../model.js";
import { SourceError, type GitAuth, type GitSource } from "../git/source.js";
import { ClusterUnreachableError, KubeApiError } from "../kube/client.js";
import type { ResourceApi } from "../kube/resources.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import { observedDigest, snapshotKey, type DesiredSnapshot, type ObservedState, type SnapshotStore } from "../store/snapshots.js";
import type { DriftEvent, EventStore } from "../store/events.js";
import type { ClusterStatus, ResourceCounts } from "../cluster/status.js";
import type { ClusterAccess } from "../cluster/spec.js";
import type { ReconcileTask } from "../queue/tasks.js";
import { publishReconcileMetrics } from "../metrics/emf.js";
import { HEALTH_ORDER, resourceHealth, worstHealth, type HealthStatus } from "../health/index.js";

/** Minimal structured logger: a message and one object of fields (Powertools Logger satisfies it). */
export interface Log {
  info(msg: string, extra: Record<string, unknown>): void;
  warn(msg: string, extra: Record<string, unknown>): void;
  error(msg: string, extra: Record<string, unknown>): void;
}

/** What a reconcile needs; every I/O dependency is injected so tests run it against the real components. */
export interface ReconcileDeps {
  clusters: ClusterStore;
  snapshots: SnapshotStore;
  events: EventStore;
  /** Sync operations (policy `apply`). */
  operations: OperationStore;
  git: GitSource;
  /** Opens the cluster's API: a fresh client per reconcile, closed by `reconcileCluster` when done. */
  connect(access: ClusterAccess): Promise<ResourceApi>;
  /** Credentials of a source, if its repository is private (default: from `source.credentials`). */
  gitAuth?(source: ClusterRecord["spec"]["source"]): Promise<GitAuth | undefined>;
  log?: Log;
  /** Publishes the reconcile's metrics (default: EMF on stdout). */
  metrics?: typeof publishReconcileMetrics;
  now?: () => number;
}

/** The result of one reconcile. */
export interface ReconcileOutcome {
  cluster: string;
  status: ClusterStatus;
  /** Per-resource drift (Synced included); empty on Error / Unknown. */
  drift: ResourceDrift[];
  /** Drift events written by this reconcile. */
  events: DriftEvent[];
  /** Objects server-side applied (sync policy `apply`). */
  applied: number;
  /** API requests sent to the cluster. */
  kubeRequests: number;
  /** This reconcile rendered the desired state (false: it came from the stored snapshot). */
  rendered?: boolean;
  /** This reconcile wrote the desired snapshot. */
  snapshotWritten?: boolean;
}

const nullLog: Log = { info() {}, warn() {}, error() {} };

function countsOf(drift: ResourceDrift[], resources: number): ResourceCounts {
  const c: ResourceCounts = { resources, synced: 0, modified: 0, missing: 0, extra: 0 };
  for (const d of drift) c[d.state === "Synced" ? "synced" : d.state === "Modified" ? "modified" : d.state === "Missing" ? "missing" : "extra"]++;
  return c;
}

/**
 * Reconciles the cluster named in `task`.
 * @param detectedAt ISO time stamped on drift events; pass something stable across
 *   redeliveries of the same message (the handler uses SQS's ApproximateFirstReceiveTimestamp).
 * @returns the outcome, or undefined when the cluster is no longer registered.
 * @throws on Git, DynamoDB or unexpected failures (the task should be retried).
 */
export async function reconcileCluster(deps: ReconcileDeps, task: ReconcileTask, detectedAt?: string): Promise<ReconcileOutcome | undefined> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? nullLog;
  const started = now();
  const rec = await deps.clusters.get(task.cluster);
  if (!rec) {
    log.warn("cluster no longer registered; task dropped", { cluster: task.cluster });
    return undefined;
  }
  const { spec } = rec;
  const finish = async (status: ClusterStatus, rest: Omit<ReconcileOutcome, "cluster" | "status">, resumeAt?: number): Promise<ReconcileOutcome> => {
    status.durationMs = now() - started;
    status.lastReconcileAt = new Date(now()).toISOString();
    await deps.clusters.setStatus(rec.name, status, Math.min(resumeAt ?? Number.POSITIVE_INFINITY, now() + spec.intervalSeconds * 1000));
    const drifted = status.sync === "Synced" || status.sync === "OutOfSync" ? status.counts.modified + status.counts.missing + status.counts.extra : undefined;
    (deps.metrics ?? publishReconcileMetrics)({
      cluster: rec.name,
      drifted,
      missing: drifted === undefined ? undefined : status.counts.missing,
      outOfSync: drifted === undefined ? undefined : status.sync === "OutOfSync",
      error: status.sync === "Error" || status.sync === "Unknown",
      durationMs: status.durationMs,
      staleIntervals: status.lastSuccessAt ? Math.max(0, Math.round(((now() - Date.parse(status.lastSuccessAt)) / 1000 / spec.intervalSeconds) * 100) / 100) : undefined,
      secondsSinceSuccess: status.lastSuccessAt ? Math.max(0, Math.round((now() - Date.parse(status.lastSuccessAt)) / 1000)) : undefined,
      ...(drifted !== undefined && status.health ? { health: HEALTH_ORDER.indexOf(status.health), degraded: status.healthCounts?.Degraded ?? 0 } : {}),
    });
    log.info("reconciled", { cluster: rec.name, sync: status.sync, revision: status.revision, counts: status.counts, durationMs: status.durationMs, events: rest.events.length });
    return { cluster: rec.name, status, ...rest };
  };
  const failed = (sync: "Error" | "Unknown", message: string, revision: string | undefined, errorSource?: SourceLocation, kubeRequests = 0) =>
    finish({ ...rec.status, sync, message, errorSource, revision: revision ?? rec.status.revision }, { drift: [], events: [], applied: 0, kubeRequests });

  let auth: GitAuth | undefined;
  try {
    auth = await deps.gitAuth?.(spec.source);
  } catch (err) {
    return failed("Error", `Git credentials: ${(err as Error).message}`, undefined);
  }

  // 1. the revision: the pushed commit, or the branch head for a tick
  let revision: string;
  try {
    // a pinned ref (tag or commit) wins over the pushed branch head
    revision = spec.source.ref ? await deps.git.resolveRef(spec.source.repoUrl, spec.source.ref, auth) : await branchRevision(deps, spec, task, auth, log);
  } catch (err) {
    if (err instanceof SourceError) return failed("Error", err.message, undefined);
    throw err;
  }

  // 2. the desired state: rendered once per (repo, revision, path, options). A stored
  //    snapshot has Secret values redacted, so applying a new revision renders from Git.
  //    The source type decides what the render depends on: only Helm reads the namespace.
  let type: SourceType;
  try {
    await deps.git.fetch(spec.source.repoUrl, revision, spec.source.branch, auth);
    type = detectTypeFromNames(await deps.git.listNames(spec.source.repoUrl, revision, spec.source.path), spec.source.type);
  } catch (err) {
    if (err instanceof SourceError) return failed("Error", err.message, revision, err.file !== undefined ? { file: err.file, line: 0 } : undefined);
    throw err;
  }
  const options = {
    type,
    recursive: spec.source.recursive,
    include: spec.source.include ?? null,
    exclude: spec.source.exclude ?? null,
    helm: type === "helm" ? { ...spec.source.helm, namespace: spec.namespace } : null,
  };
  const key = snapshotKey({ repoUrl: spec.source.repoUrl, revision, path: spec.source.path, options });
  // a cluster that may sync renders from Git: stored snapshots hold Secret digests, not values
  const mustApply = spec.syncPolicy === "apply" && (rec.status.appliedRevision !== revision || spec.selfHeal || rec.status.operation !== undefined);
  let desired: DesiredObject[];
  let hooks: DesiredObject[] = [];
  let rendered = false;
  let snapshotWritten = false;
  let stored = mustApply ? undefined : await deps.snapshots.getDesired(key);
  let claimed = false;
  // many clusters tracking one revision: the first to claim renders, the others wait for it
  if (!stored && !mustApply) {
    claimed = await deps.snapshots.claimRender(key);
    if (!claimed) {
      const waited = await deps.snapshots.waitForDesired(key);
      if (waited && "message" in waited) return failed("Error", waited.message, revision, waited.file ? { file: waited.file, line: waited.line ?? 0 } : undefined);
      stored = waited;
    }
  }
  if (stored) {
    // snapshots written before hooks were split off may still hold them
    desired = splitHooks(stored.objects).resources;
  } else {
    try {
      const result = await renderRevision(deps, spec, revision, type);
      rendered = true;
      const readWarnings = result.readWarnings;
      desired = result.objects;
      hooks = result.hooks;
      const snapshot: DesiredSnapshot = {
        key,
        repoUrl: spec.source.repoUrl,
        revision,
        path: spec.source.path,
        objects: desired.map((d) => ({ object: redactSecret(d.object), source: d.source })),
        hooks: result.hooks.map((d) => ({ object: redactSecret(d.object), source: d.source })),
        warnings: [...readWarnings, ...result.warnings],
        renderedAt: new Date(now()).toISOString(),
      };
      for (const w of snapshot.warnings) log.warn("render warning", { cluster: rec.name, warning: w });
      snapshotWritten = await deps.snapshots.putDesired(snapshot);
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError) {
        const where = err instanceof RenderError ? { file: err.file, line: err.line } : err.file ? { file: err.file, line: 0 } : undefined;
        if (claimed) await deps.snapshots.failRender(key, { message: err.message, ...where });
        return failed("Error", err.message, revision, where);
      }
      throw err;
    }
  }

  // 3. the live state, compared with the desired state
  let api: ResourceApi;
  try {
    api = await deps.connect(spec.access);
  } catch (err) {
    return failed("Unknown", `cannot open the cluster API: ${(err as Error).message}`, revision);
  }
  try {
    let objects = await placeInNamespaces(
      api,
      desired.map((d) => d.object),
      spec.namespace,
    );
    // desired objects read back from a snapshot carry Secret digests, which compare as such
    const previous = rec.status.snapshotKey && rec.status.snapshotKey !== key ? await deps.snapshots.getDesired(rec.status.snapshotKey) : undefined;
    const scopes = scopesOf([
      ...objects,
      ...(previous
        ? await placeInNamespaces(
            api,
            previous.objects.map((d) => d.object),
            spec.namespace,
          )
        : []),
    ]);
    const compare = { owner: rec.name, ignore: rec.spec.ignoreDifferences, schemas: await schemasOf(api, objects, deps.snapshots) };
    let { drift, live } = await inspect(api, objects, scopes, compare);

    // 4. sync (policy `apply`): a new revision, self-heal, prune; an operation may span reconciles
    const synced = await syncStage({ operations: deps.operations, clusters: deps.clusters, log, now }, api, {
      rec,
      revision,
      resources: objects,
      hooks: await placeInNamespaces(
        api,
        hooks.map((d) => d.object),
        spec.namespace,
      ),
      drift,
      live,
      trigger: triggerOf(task, spec, revision),
      ...(task.sync ? { manual: task.sync } : {}),
    });
    if (synced.synced) {
      // a CRD applied just now serves its kinds: place and type its custom resources again
      objects = await placeInNamespaces(
        api,
        desired.map((d) => d.object),
        spec.namespace,
      );
      compare.schemas = await schemasOf(api, objects, deps.snapshots);
      const rescoped = [...new Map([...scopes, ...scopesOf(objects)].map((sc) => [`${sc.apiVersion}|${sc.kind}|${sc.namespace ?? ""}`, sc])).values()];
      ({ drift, live } = await inspect(api, objects, rescoped, compare));
    }

    // 5. record: events and observed state only when some resource's drift changed
    const observed: ObservedState = { revision, resources: {} };
    for (const d of drift) if (d.state !== "Synced") observed.resources[d.key] = { state: d.state, paths: d.changes.map((c) => c.path) };
    const digest = observedDigest(observed);
    let events: DriftEvent[] = [];
    if (digest !== rec.status.observedDigest) {
      const before = (await deps.snapshots.getObserved(rec.name))?.resources ?? {};
      events = driftEvents(rec, before, observed, drift, detectedAt ?? new Date(started).toISOString());
      await deps.events.put(events);
      await deps.snapshots.putObserved(rec.name, observed);
    }
    // 6. health of every desired resource (live object, or Missing)
    const liveByKey = new Map(live.map((o) => [resourceKey(o), o]));
    const healthCounts: Partial<Record<HealthStatus, number>> = {};
    for (const d of drift) {
      if (d.state === "Extra") continue;
      const h = resourceHealth(d.kind, d.apiVersion, liveByKey.get(d.key));
      if (!h) continue;
      d.health = h;
      healthCounts[h.status] = (healthCounts[h.status] ?? 0) + 1;
    }
    const counts = countsOf(drift, objects.length);
    const inSync = counts.modified + counts.missing + counts.extra === 0;
    const { appliedRevision, failedRevision, selfHeal, operation, retry } = rec.status;
    const status = withoutUndefined<ClusterStatus>({
      sync: inSync ? "Synced" : "OutOfSync",
      revision,
      counts,
      health: worstHealth(Object.keys(healthCounts) as HealthStatus[]),
      healthCounts,
      snapshotKey: key,
      appliedRevision,
      failedRevision,
      selfHeal,
      operation,
      retry,
      ...synced.status,
      message: synced.message,
      observedDigest: digest,
      lastSuccessAt: new Date(now()).toISOString(),
    });
    return await finish(status, { drift, events, applied: synced.applied, kubeRequests: api.client.requests, rendered, snapshotWritten }, synced.resumeAt);
  } catch (err) {
    if (err instanceof ClusterUnreachableError) return failed("Unknown", err.message, revision, undefined, api.client.requests);
    if (err instanceof KubeApiError && (err.code === 401 || err.code === 403)) return failed("Unknown", `cluster API denied access: ${err.message}`, revision, undefined, api.client.requests);
    if (err instanceof KubeApiError && err.code === 422) return failed("Error", `apply rejected: ${err.message}`, revision, undefined, api.client.requests);
    throw err;
  } finally {
    api.client.close();
  }
}

/**
 * Reads and renders the cluster's source at `revision` (fetched already): the source path for
 * a directory or Helm chart, the whole repository for Kustomize (bases may be `../`).
 * `detected` is the source type when the caller already knows it (else read from the tree).
 * @returns `objects`: the resources (compared and synced); `hooks`: the hooks and `Skip`
 *   objects (see shared/sync/annotations.ts); warnings of the render and of the read.
 * @throws RenderError, SourceError.
 */
export async function renderRevision(deps: Pick<ReconcileDeps, "git">, spec: ClusterRecord["spec"], revision: string, detected?: SourceType) {
  const { source } = spec;
  const type = detected ?? detectTypeFromNames(await deps.git.listNames(source.repoUrl, revision, source.path), source.type);
  const all = type === "kustomize" ? await deps.git.readFiles(source.repoUrl, revision, "", { strictUnder: source.path }) : await deps.git.readFiles(source.repoUrl, revision, source.path);
  const rendered = await renderSource(
    all.files,
    { path: source.path, type, recursive: source.recursive, include: source.include, exclude: source.exclude, helm: source.helm },
    { namespace: spec.namespace },
  );
  const { resources, hooks } = splitHooks(rendered.objects);
  return { ...rendered, objects: resources, hooks, readWarnings: all.warnings };
}

/** The events between two observed states: one per resource whose state or changed paths differ. */
function driftEvents(rec: ClusterRecord, before: ObservedState["resources"], after: ObservedState, drift: ResourceDrift[], at: string): DriftEvent[] {
  const byKey = new Map(drift.map((d) => [d.key, d]));
  const keys = new Set([...Object.keys(before), ...Object.keys(after.resources)]);
  const events: DriftEvent[] = [];
  for (const key of [...keys].sort()) {
    const b = before[key];
    const a = after.resources[key];
    if (b && a && b.state === a.state && b.paths.join("\n") === a.paths.join("\n")) continue;
    const d = byKey.get(key);
    const [group = "", kind = "", namespace = "", name = ""] = key.split("/");
    events.push({
      cluster: rec.name,
      at,
      resource: key,
      apiVersion: d?.apiVersion ?? group,
      kind: d?.kind ?? kind,
      namespace: (d?.namespace ?? namespace) || undefined,
      name: d?.name ?? name,
      from: b?.state ?? "Synced",
      to: a?.state ?? "Synced",
      paths: a?.paths ?? [],
      ...(a?.state === "Modified" && d ? { changes: d.changes.slice(0, 50) } : {}),
      revision: after.revision,
    });
  }
  return events;
}

/** A copy of `o` without the keys whose value is undefined (DynamoDB's document client refuses them). */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The revision to reconcile on the tracked branch. A cluster that syncs takes the pushed
 * commit only while it is still the branch head, else the head: a push task that arrives late
 * (redelivered, or overtaken by a newer push) is superseded, so an older revision is never
 * synced over a newer one. A detect-only cluster records the pushed commit as it is (no extra
 * lookup, so a fleet reconciling one push stays cheap).
 */
async function branchRevision(deps: ReconcileDeps, spec: ClusterRecord["spec"], task: ReconcileTask, auth: GitAuth | undefined, log: Log): Promise<string> {
  if (task.revision && (task.reason === "manual" || spec.syncPolicy !== "apply")) return task.revision; // converge sync --revision: an explicit choice
  const head = await deps.git.resolveBranch(spec.source.repoUrl, spec.source.branch, auth);
  if (task.revision && task.revision !== head) log.info("push superseded by a newer branch head", { pushed: task.revision, head });
  return head;
}

/** What started a sync this reconcile may run, from the task (and a rollback in progress). */
function triggerOf(task: ReconcileTask, spec: ClusterRecord["spec"], revision: string): OperationTrigger {
  if (task.reason === "push") return { type: "push", ...(task.deliveryId ? { deliveryId: task.deliveryId } : {}) };
  if (task.reason !== "manual") return { type: "tick" };
  const caller = task.caller ?? "unknown";
  return spec.rollback?.to === revision ? { type: "rollback", caller, to: revision } : { type: "manual", caller };
}
