/**
 * One reconcile of one cluster: resolve the revision, get the desired state (from the
 * content-addressed snapshot, or by rendering it once), read the live state with one LIST
 * per kind and namespace, compare, optionally apply, record drift changes and the status.
 *
 * Writes per reconcile: the status item always (one small UpdateItem); the desired snapshot
 * only when this revision was never rendered; the cluster's render inputs (what a push must
 * touch to concern it) only when they changed; drift events and the observed state only when
 * some resource's drift state changed. So an unchanged reconcile costs one write.
 *
 * Failure policy (design brief, "Bad input gets a clear error and loses nothing"):
 * - the desired state cannot be computed (bad YAML, missing path, oversized file): status
 *   `Error` with file and line, last good snapshot kept, no throw (a retry cannot fix it);
 * - the cluster API cannot be reached, refuses the credentials or answers 5xx: status
 *   `Unknown` with the cause, no throw (the next tick retries);
 * - Git or DynamoDB failures throw, so SQS redelivers the task (its events are keyed
 *   deterministically, so a redelivery cannot double them).
 */
import { RenderError } from "../render/directory.js";
import { renderSource, detectTypeFromNames, type SourceType } from "../render/source.js";
import { readPlan } from "../render/budget.js";
import { redactSecret } from "../diff/index.js";
import { inspect, placeInNamespaces, schemasOf, scopesOf, type Scope } from "./inspect.js";
import { splitHooks } from "../sync/annotations.js";
import { syncStage, type SyncOutcome } from "./sync-stage.js";
import type { OperationRecord, OperationTrigger } from "../store/operations.js";
import { announceReconcile, type AnnounceDeps } from "../events/announce.js";
import { resourceKey, type DesiredObject, type KubeObject, type ResourceDrift, type SourceLocation } from "../model.js";
import { SourceError, type GitAuth } from "../git/source.js";
import { ClusterUnreachableError, KubeApiError } from "../kube/client.js";
import type { ResourceApi } from "../kube/resources.js";
import type { ClusterRecord } from "../store/clusters.js";
import { observedDigest, sameJson, snapshotKey, type DesiredSnapshot, type ObservedState } from "../store/snapshots.js";
import type { DriftEvent } from "../store/events.js";
import type { ClusterPort, EventPort, GitPort, OperationPort, SnapshotPort } from "./ports.js";
import type { ClusterStatus, ResourceCounts } from "../cluster/status.js";
import type { ClusterAccess } from "../cluster/spec.js";
import type { ReconcileTask } from "../queue/tasks.js";
import type { ResumeQueue } from "../queue/resume.js";
import { publishReconcileMetrics } from "../metrics/emf.js";
import { reconcileSignals, trackSince } from "../metrics/signals.js";
import { HEALTH_ORDER, resourceHealth, worstHealth, type HealthStatus } from "../health/index.js";

/** Minimal structured logger: a message and one object of fields (Powertools Logger satisfies it). */
export interface Log {
  info(msg: string, extra: Record<string, unknown>): void;
  warn(msg: string, extra: Record<string, unknown>): void;
  error(msg: string, extra: Record<string, unknown>): void;
}

/** What a reconcile needs (small interfaces, see ./ports.ts); every I/O dependency is injected so tests run it against the real components. */
export interface ReconcileDeps {
  clusters: ClusterPort;
  snapshots: SnapshotPort;
  events: EventPort;
  /** Sync operations (policy `apply`). */
  operations: OperationPort;
  git: GitPort;
  /** Opens the cluster's API: a fresh client per reconcile, closed by `reconcileCluster` when done. */
  connect(access: ClusterAccess): Promise<ResourceApi>;
  /** How long a sync step waits inline for health, a hook or a deletion before the operation comes back later (ms, default 10,000). */
  syncWaitMs?: number;
  /** Brings the cluster back at a time (a waiting operation, a backoff); default: only the tick does, at the cluster's `nextDueAt`. */
  resume?: Pick<ResumeQueue, "schedule">;
  /** Credentials of a source, if its repository is private (default: from `source.credentials`). */
  gitAuth?(source: ClusterRecord["spec"]["source"]): Promise<GitAuth | undefined>;
  log?: Log;
  /** Publishes the reconcile's metrics (default: EMF on stdout). */
  metrics?: typeof publishReconcileMetrics;
  /** Publishes the events of each transition and writes commit statuses once the status is written (shared/events/announce.ts); default: none. */
  announce?: AnnounceDeps;
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
  /** Epoch ms the cluster is due back before its interval (a waiting operation, a backoff). */
  resumeAt?: number;
}

const nullLog: Log = { info() {}, warn() {}, error() {} };

function countsOf(drift: ResourceDrift[], resources: number): ResourceCounts {
  const c: ResourceCounts = { resources, synced: 0, modified: 0, missing: 0, extra: 0 };
  for (const d of drift) c[d.state === "Synced" ? "synced" : d.state === "Modified" ? "modified" : d.state === "Missing" ? "missing" : "extra"]++;
  return c;
}

/**
 * Reconciles the cluster named in `task`.
 * @param detectedAt ISO time stamped on drift events and sync status changes; pass something stable across
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
  const ctx: Ctx = { deps, log, now, started, rec, operations: [], detectedAt: detectedAt ?? new Date(started).toISOString() };
  let revision: string | undefined;
  let api: ResourceApi | undefined;
  try {
    const auth = await gitCredentials(ctx);
    const resolved = await resolveRevision(ctx, task, auth); // 1. the revision
    revision = resolved.revision;
    const desired = await loadDesired(ctx, revision, auth, task.reason === "manual"); // 2. the desired state
    api = await openCluster(ctx);
    const compared = await compareLive(ctx, api, desired); // 3. the live state, compared
    // 4. sync (policy `apply`): a new revision, self-heal, prune; an operation may span reconciles
    const onOperation = (op: OperationRecord) => void ctx.operations.push(op);
    const synced = await syncStage({ operations: deps.operations, clusters: deps.clusters, log, now, waitMs: deps.syncWaitMs, onOperation }, api, {
      rec,
      revision,
      resources: compared.objects,
      hooks: await placeInNamespaces(
        api,
        desired.hooks.map((d) => d.object),
        rec.spec.namespace,
      ),
      drift: compared.drift,
      live: compared.live,
      trigger: triggerOf(task, rec.spec, revision),
      ...(resolved.behind ? { behind: resolved.behind } : {}),
      ...(task.sync ? { manual: task.sync } : {}),
    });
    const after = synced.synced ? await compareLive(ctx, api, desired, compared.scopes) : compared;
    const recorded = await recordDrift(ctx, revision, after.drift, ctx.detectedAt, after.live); // 5. record
    const status = statusOf(ctx, revision, desired.key, after, recorded.digest, synced); // 6. status and health
    return await finish(
      ctx,
      status,
      { drift: after.drift, events: recorded.events, applied: synced.applied, kubeRequests: api.client.requests, rendered: desired.rendered, snapshotWritten: desired.snapshotWritten },
      synced.resumeAt,
    );
  } catch (err) {
    const failure = stageFailure(err);
    if (!failure) throw err;
    return finish(
      ctx,
      { ...rec.status, sync: failure.sync, message: failure.message, errorSource: failure.where, revision: revision ?? rec.status.revision },
      { drift: [], events: [], applied: 0, kubeRequests: api?.client.requests ?? 0 },
    );
  } finally {
    api?.client.close();
  }
}

/** What every stage of one reconcile shares. */
interface Ctx {
  deps: ReconcileDeps;
  log: Log;
  now: () => number;
  /** Epoch ms the reconcile started. */
  started: number;
  rec: ClusterRecord;
  /** Operation records the sync stage started or finished (announced by `finish`). */
  operations: OperationRecord[];
  /** ISO time the changes this reconcile records are stamped with (and keyed by): the same on a redelivery of its message. */
  detectedAt: string;
}

/** A stage could not go on: the cluster's status becomes `sync` with `message` (and where, for a bad source). */
class StageFailure extends Error {
  constructor(
    readonly sync: "Error" | "Unknown",
    message: string,
    readonly where?: SourceLocation,
  ) {
    super(message);
  }
}

/**
 * The status a failure leaves (see the module doc's failure policy), or undefined for a
 * failure that should make the task be retried (Git, DynamoDB, unexpected).
 */
function stageFailure(err: unknown): StageFailure | undefined {
  if (err instanceof StageFailure) return err;
  if (err instanceof RenderError) return new StageFailure("Error", err.message, { file: err.file, line: err.line });
  if (err instanceof SourceError) return new StageFailure("Error", err.message, err.file !== undefined ? { file: err.file, line: 0 } : undefined);
  if (err instanceof ClusterUnreachableError) return new StageFailure("Unknown", err.message);
  if (err instanceof KubeApiError && (err.code === 401 || err.code === 403)) return new StageFailure("Unknown", `cluster API denied access: ${err.message}`);
  // an API server answering 5xx is unavailable like an unreachable one: Unknown, retried by the next tick, not a redelivery loop into the DLQ
  if (err instanceof KubeApiError && err.code >= 500) return new StageFailure("Unknown", `cluster API unavailable: ${err.message}`);
  if (err instanceof KubeApiError && err.code === 422) return new StageFailure("Error", `apply rejected: ${err.message}`);
  return undefined;
}

/** Writes the status (and when the cluster is due again), announces its transitions once written, publishes the metrics, logs the outcome. */
async function finish(ctx: Ctx, status: ClusterStatus, rest: Omit<ReconcileOutcome, "cluster" | "status">, resumeAt?: number): Promise<ReconcileOutcome> {
  const { deps, now, rec } = ctx;
  status.durationMs = now() - ctx.started;
  status.lastReconcileAt = new Date(now()).toISOString();
  trackSince(rec.status, status, status.lastReconcileAt); // since when OutOfSync / failing: what the alarms read (shared/metrics/signals.ts)
  // a change of the cluster's sync status (and its first reconcile) is kept: the status bands and the fleet chart of `converge ui`;
  // keyed by the message's detection time, so a redelivery after a lost status write overwrites it instead of adding a second
  if (rec.status.sync !== status.sync || !rec.status.lastReconcileAt)
    await deps.events.putSyncChanges([{ cluster: rec.name, at: ctx.detectedAt, from: rec.status.sync, to: status.sync, revision: status.revision, message: status.message }]);
  const interval = now() + rec.spec.intervalSeconds * 1000;
  const back = resumeAt !== undefined && resumeAt < interval ? resumeAt : undefined;
  const written = await deps.clusters.setStatus(rec.name, status, back ?? interval);
  // after the write: a redelivered task reads this status back and finds no transition to announce
  if (written && deps.announce) await announceReconcile({ log: ctx.log, ...deps.announce }, { rec, after: status, operations: ctx.operations, drift: rest.drift });
  if (back !== undefined) await scheduleResume(ctx, back);
  const drifted = status.sync === "Synced" || status.sync === "OutOfSync" ? status.counts.modified + status.counts.missing + status.counts.extra : undefined;
  // 0 when this reconcile succeeded (computed drift), not the time the status write took
  const sinceSuccess = drifted !== undefined ? 0 : status.lastSuccessAt ? Math.max(0, (now() - Date.parse(status.lastSuccessAt)) / 1000) : undefined;
  (deps.metrics ?? publishReconcileMetrics)({
    cluster: rec.name,
    drifted,
    missing: drifted === undefined ? undefined : status.counts.missing,
    outOfSync: drifted === undefined ? undefined : status.sync === "OutOfSync",
    error: status.sync === "Error" || status.sync === "Unknown",
    durationMs: status.durationMs,
    staleIntervals: sinceSuccess === undefined ? undefined : Math.round((sinceSuccess / rec.spec.intervalSeconds) * 100) / 100,
    secondsSinceSuccess: sinceSuccess === undefined ? undefined : Math.round(sinceSuccess),
    ...(drifted !== undefined && status.health ? { health: HEALTH_ORDER.indexOf(status.health), degraded: status.healthCounts?.Degraded ?? 0 } : {}),
  });
  // the one line per reconcile the alarms' Contributor Insights rules read (cluster, sync, divergedMinutes / failingMinutes)
  ctx.log.info("reconciled", {
    cluster: rec.name,
    sync: status.sync,
    revision: status.revision,
    counts: status.counts,
    durationMs: status.durationMs,
    events: rest.events.length,
    ...reconcileSignals(status, now()),
  });
  return { cluster: rec.name, status, ...rest, ...(back !== undefined ? { resumeAt: back } : {}) };
}

/** Asks the resume queue to bring the cluster back at `atMs`; a failure is logged, not thrown (the tick brings it back at `nextDueAt`). */
async function scheduleResume(ctx: Ctx, atMs: number): Promise<void> {
  try {
    await ctx.deps.resume?.schedule(ctx.rec.name, atMs, ctx.now());
  } catch (err) {
    ctx.log.warn("resume not scheduled; the tick brings the cluster back", { cluster: ctx.rec.name, error: (err as Error).message });
  }
}

/** The source's Git credentials (undefined for a public repository). */
async function gitCredentials(ctx: Ctx): Promise<GitAuth | undefined> {
  try {
    return await ctx.deps.gitAuth?.(ctx.rec.spec.source);
  } catch (err) {
    throw new StageFailure("Error", `Git credentials: ${(err as Error).message}`);
  }
}

/** The commit to reconcile, and the synced revision it is older than, if it is (see `branchRevision`). */
interface Resolved {
  revision: string;
  behind?: string;
}

/** Stage 1: the commit to reconcile: a pinned ref (tag or commit) wins over the branch. */
async function resolveRevision(ctx: Ctx, task: ReconcileTask, auth: GitAuth | undefined): Promise<Resolved> {
  const { deps, rec } = ctx;
  const { source } = rec.spec;
  return source.ref ? { revision: await deps.git.resolveRef(source.repoUrl, source.ref, auth) } : branchRevision(deps, rec, task, auth, ctx.log);
}

/** The desired state of a revision: its resources and hooks, the snapshot key, and whether this reconcile rendered and stored it. */
interface Desired {
  key: string;
  resources: DesiredObject[];
  hooks: DesiredObject[];
  rendered: boolean;
  snapshotWritten: boolean;
  /** The paths the render read (shared/render/inputs.ts); undefined for a snapshot stored before they were recorded. */
  inputs?: string[];
}

/**
 * Stage 2: the desired state, rendered once per (repo, revision, path, options): the first
 * cluster to claim it renders and stores it, the others wait for it. A cluster that may sync
 * renders from Git itself (stored snapshots hold Secret digests, not values), and so does a
 * manual sync. The source type decides what the render depends on: only Helm reads the namespace.
 */
async function loadDesired(ctx: Ctx, revision: string, auth: GitAuth | undefined, manual: boolean): Promise<Desired> {
  let desired: Desired;
  try {
    desired = await desiredOf(ctx, revision, auth, manual);
  } catch (err) {
    if (stageFailure(err)) await recordInputs(ctx, undefined);
    throw err;
  }
  await recordInputs(ctx, desired.inputs);
  return desired;
}

/**
 * Writes the cluster's inputs (what a push must touch to concern it) when they differ from
 * the stored ones, so an unchanged reconcile writes nothing here. `undefined` (the desired
 * state could not be loaded, or came from a snapshot without inputs) removes them: every
 * push concerns the cluster until a render succeeds again.
 */
async function recordInputs(ctx: Ctx, inputs: string[] | undefined): Promise<void> {
  if (sameJson(ctx.rec.inputs, inputs)) return;
  await ctx.deps.clusters.setInputs(ctx.rec.name, inputs);
}

/** `loadDesired` without the inputs' bookkeeping. */
async function desiredOf(ctx: Ctx, revision: string, auth: GitAuth | undefined, manual: boolean): Promise<Desired> {
  const { deps, rec } = ctx;
  const { spec } = rec;
  await deps.git.fetch(spec.source.repoUrl, revision, spec.source.branch, auth);
  const type = detectTypeFromNames(await deps.git.listNames(spec.source.repoUrl, revision, spec.source.path), spec.source.type);
  const options = {
    type,
    recursive: spec.source.recursive,
    include: spec.source.include ?? null,
    exclude: spec.source.exclude ?? null,
    helm: type === "helm" ? { ...spec.source.helm, namespace: spec.namespace } : null,
  };
  const key = snapshotKey({ repoUrl: spec.source.repoUrl, revision, path: spec.source.path, options });
  const mustRender = spec.syncPolicy === "apply" && (manual || rec.status.appliedRevision !== revision || spec.selfHeal || rec.status.operation !== undefined);
  let stored = mustRender ? undefined : await deps.snapshots.getDesired(key);
  const claimed = !stored && !mustRender && (await deps.snapshots.claimRender(key));
  if (!stored && !mustRender && !claimed) {
    const waited = await deps.snapshots.waitForDesired(key);
    if (waited && "message" in waited) throw new StageFailure("Error", waited.message, waited.file ? { file: waited.file, line: waited.line ?? 0 } : undefined);
    stored = waited;
  }
  // snapshots written before hooks were split off may still hold them
  if (stored) return { key, resources: splitHooks(stored.objects).resources, hooks: stored.hooks ?? [], rendered: false, snapshotWritten: false, inputs: stored.inputs };
  try {
    return await renderAndStore(ctx, revision, type, key);
  } catch (err) {
    const failure = stageFailure(err);
    if (claimed && failure) await deps.snapshots.failRender(key, { message: failure.message, ...failure.where });
    throw err;
  }
}

/** Renders the revision and stores its snapshot (Secret values redacted). */
async function renderAndStore(ctx: Ctx, revision: string, type: SourceType, key: string): Promise<Desired> {
  const { deps, rec } = ctx;
  const result = await renderRevision(deps, rec.spec, revision, type);
  const redacted = (list: DesiredObject[]) => list.map((d) => ({ object: redactSecret(d.object), source: d.source }));
  const snapshot: DesiredSnapshot = {
    key,
    repoUrl: rec.spec.source.repoUrl,
    revision,
    path: rec.spec.source.path,
    objects: redacted(result.objects),
    hooks: redacted(result.hooks),
    warnings: [...result.readWarnings, ...result.warnings],
    renderedAt: new Date(ctx.now()).toISOString(),
    inputs: result.inputs,
  };
  for (const w of snapshot.warnings) ctx.log.warn("render warning", { cluster: rec.name, warning: w });
  const snapshotWritten = await deps.snapshots.putDesired(snapshot);
  return { key, resources: result.objects, hooks: result.hooks, rendered: true, snapshotWritten, inputs: result.inputs };
}

/** Opens the cluster's API. */
async function openCluster(ctx: Ctx): Promise<ResourceApi> {
  try {
    return await ctx.deps.connect(ctx.rec.spec.access);
  } catch (err) {
    throw new StageFailure("Unknown", `cannot open the cluster API: ${(err as Error).message}`);
  }
}

/** The comparison of a desired state with the live one. */
interface Compared {
  objects: KubeObject[];
  drift: ResourceDrift[];
  live: KubeObject[];
  scopes: Scope[];
}

/**
 * Stage 3: the desired resources placed in their namespaces, listed live (their kinds and
 * namespaces, plus those of the previous snapshot and of the Extra resources last seen, so
 * objects gone from Git show as Extra until pruned, plus `scopes` of an earlier comparison),
 * and compared with the cluster's schema.
 */
async function compareLive(ctx: Ctx, api: ResourceApi, desired: Desired, scopes: Scope[] = []): Promise<Compared> {
  const { deps, rec } = ctx;
  const place = (list: DesiredObject[]) =>
    placeInNamespaces(
      api,
      list.map((d) => d.object),
      rec.spec.namespace,
    );
  const objects = await place(desired.resources);
  // desired objects read back from a snapshot carry Secret digests, which compare as such
  const previous = rec.status.snapshotKey && rec.status.snapshotKey !== desired.key ? await deps.snapshots.getDesired(rec.status.snapshotKey) : undefined;
  const all = [...scopes, ...(rec.status.extraScopes ?? []), ...scopesOf([...objects, ...(previous ? await place(previous.objects) : [])])];
  const unique = [...new Map(all.map((sc) => [`${sc.apiVersion}|${sc.kind}|${sc.namespace ?? ""}`, sc])).values()];
  const schemas = await schemasOf(api, objects, deps.snapshots);
  const { drift, live } = await inspect(api, objects, unique, { owner: rec.name, ignore: rec.spec.ignoreDifferences, schemas });
  return { objects, drift, live, scopes: unique };
}

/**
 * Stage 5: drift events and the observed state (drift with the changed values, and every
 * desired resource's health: the cluster page's resource table), written only when some
 * resource's drift, changed values or health changed.
 */
async function recordDrift(ctx: Ctx, revision: string, drift: ResourceDrift[], at: string, live: KubeObject[] = []): Promise<{ events: DriftEvent[]; digest: string }> {
  const { deps, rec } = ctx;
  const observed: ObservedState = { revision, resources: {}, inventory: {} };
  const liveByKey = new Map(live.map((o) => [resourceKey(o), o]));
  for (const d of drift) {
    if (d.state !== "Synced") observed.resources[d.key] = { state: d.state, paths: d.changes.map((c) => c.path), ...(d.changes.length ? { changes: d.changes.slice(0, 50) } : {}) };
    if (d.state === "Extra") continue;
    const h = resourceHealth(d.kind, d.apiVersion, liveByKey.get(d.key));
    observed.inventory![d.key] = h ? { status: h.status, ...(h.message ? { message: h.message } : {}) } : null;
  }
  const digest = observedDigest(observed);
  if (digest === rec.status.observedDigest) return { events: [], digest };
  const before = (await deps.snapshots.getObserved(rec.name))?.resources ?? {};
  const events = driftEvents(rec, before, observed, drift, at);
  await deps.events.put(events);
  await deps.snapshots.putObserved(rec.name, observed);
  return { events, digest };
}

/** Stage 6: the cluster's status: sync status, counts, health of every desired resource (live, or Missing), and the sync stage's fields. */
function statusOf(ctx: Ctx, revision: string, key: string, compared: Compared, digest: string, synced: SyncOutcome): ClusterStatus {
  const liveByKey = new Map(compared.live.map((o) => [resourceKey(o), o]));
  const healthCounts: Partial<Record<HealthStatus, number>> = {};
  for (const d of compared.drift) {
    if (d.state === "Extra") continue;
    const h = resourceHealth(d.kind, d.apiVersion, liveByKey.get(d.key));
    if (!h) continue;
    d.health = h;
    healthCounts[h.status] = (healthCounts[h.status] ?? 0) + 1;
  }
  const counts = countsOf(compared.drift, compared.objects.length);
  const { appliedRevision, failedRevision, selfHeal, operation, retry } = ctx.rec.status;
  return withoutUndefined<ClusterStatus>({
    sync: counts.modified + counts.missing + counts.extra === 0 ? "Synced" : "OutOfSync",
    revision,
    counts,
    health: worstHealth(Object.keys(healthCounts) as HealthStatus[]),
    healthCounts,
    snapshotKey: key,
    extraScopes: compared.drift.some((d) => d.state === "Extra") ? extraScopesOf(compared.drift) : undefined,
    appliedRevision,
    failedRevision,
    selfHeal,
    operation,
    retry,
    ...synced.status,
    message: synced.message,
    observedDigest: digest,
    lastSuccessAt: new Date(ctx.now()).toISOString(),
  });
}

/**
 * Reads and renders the cluster's source at `revision` (fetched already): of the files under the
 * source path for a directory or Helm chart, under the whole repository for Kustomize (bases may
 * be `../`), those the source reads, within the read budget (shared/render/budget.ts).
 * `detected` is the source type when the caller already knows it (else read from the tree).
 * @returns `objects`: the resources (compared and synced); `hooks`: the hooks and `Skip`
 *   objects (see shared/sync/annotations.ts); warnings of the render and of the read.
 * @throws RenderError, SourceError.
 */
export async function renderRevision(deps: { git: Pick<ReconcileDeps["git"], "listNames" | "readFiles"> }, spec: ClusterRecord["spec"], revision: string, detected?: SourceType) {
  const { source } = spec;
  const type = detected ?? detectTypeFromNames(await deps.git.listNames(source.repoUrl, revision, source.path), source.type);
  const sourceSpec = { path: source.path, type, recursive: source.recursive, include: source.include, exclude: source.exclude, helm: source.helm };
  const all = await deps.git.readFiles(source.repoUrl, revision, type === "kustomize" ? "" : source.path, { strictUnder: source.path, plan: readPlan(sourceSpec) });
  const rendered = await renderSource(all.files, sourceSpec, { namespace: spec.namespace });
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
    // the same state at the same paths with the same values (values are compared once recorded) is no event
    if (b && a && b.state === a.state && b.paths.join("\n") === a.paths.join("\n") && (!b.changes || sameJson(b.changes, a.changes))) continue;
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
 * The revision to reconcile on the tracked branch: the pushed commit, else the branch head. A
 * cluster that syncs never goes back on its own: a pushed commit that is an ancestor of the one
 * it last synced from the branch (a push task redelivered late, or overtaken by a newer push) is
 * replaced by the head, and when the head is older too (the branch was rewound) the result says
 * so (`behind`) and the sync stage does not apply it automatically. Ancestry comes from Git
 * (`GitSource.isAncestor`), never from timestamps. A detect-only cluster records the pushed
 * commit as it is (no extra lookup, so a fleet reconciling one push stays cheap).
 */
async function branchRevision(deps: ReconcileDeps, rec: ClusterRecord, task: ReconcileTask, auth: GitAuth | undefined, log: Log): Promise<Resolved> {
  const { spec } = rec;
  if (task.revision && (task.reason === "manual" || spec.syncPolicy !== "apply")) return { revision: task.revision }; // converge sync --revision: an explicit choice
  const head = () => deps.git.resolveBranch(spec.source.repoUrl, spec.source.branch, auth);
  const candidate = task.revision ?? (await head());
  if (!(await olderThanSynced(deps, rec, candidate, auth, log))) return { revision: candidate };
  const synced = rec.status.appliedRevision!;
  if (task.revision) {
    const now = await head();
    log.info("push older than the synced revision; the branch head is reconciled instead", { pushed: task.revision, synced, head: now });
    if (!(await olderThanSynced(deps, rec, now, auth, log))) return { revision: now };
    return { revision: now, behind: synced };
  }
  return { revision: candidate, behind: synced };
}

/**
 * Whether `revision` is a strict ancestor of the revision the cluster last synced (false when
 * it never synced, or the two are unrelated: another branch, rewritten history). The common
 * case, a newer commit, is answered first and cheaply (its parents name the synced commit).
 */
async function olderThanSynced(deps: ReconcileDeps, rec: ClusterRecord, revision: string, auth: GitAuth | undefined, log: Log): Promise<boolean> {
  const synced = rec.status.appliedRevision;
  if (!synced || synced === revision) return false;
  const { repoUrl, branch } = rec.spec.source;
  try {
    if (await deps.git.isAncestor(repoUrl, synced, revision, branch, auth)) return false;
    return await deps.git.isAncestor(repoUrl, revision, synced, branch, auth);
  } catch (err) {
    if (!(err instanceof SourceError)) throw err;
    log.warn("the synced revision is no longer in the repository; ancestry not checked", { synced, revision, error: err.message });
    return false;
  }
}

/** What started a sync this reconcile may run, from the task (and a rollback in progress). */
function triggerOf(task: ReconcileTask, spec: ClusterRecord["spec"], revision: string): OperationTrigger {
  if (task.reason === "push") return { type: "push", ...(task.deliveryId ? { deliveryId: task.deliveryId } : {}) };
  if (task.reason !== "manual") return { type: "tick" };
  const caller = task.caller ?? "unknown";
  return spec.rollback?.to === revision ? { type: "rollback", caller, to: revision } : { type: "manual", caller };
}

/** The distinct (apiVersion, kind, namespace) of the Extra resources of a comparison. */
function extraScopesOf(drift: ResourceDrift[]): Scope[] {
  const extra = drift.filter((d) => d.state === "Extra");
  return [...new Map(extra.map((d) => [`${d.apiVersion}|${d.kind}|${d.namespace ?? ""}`, { apiVersion: d.apiVersion, kind: d.kind, ...(d.namespace ? { namespace: d.namespace } : {}) }])).values()];
}
