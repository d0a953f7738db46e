/**
 * What a reconcile announces once its status is written (`finish` in
 * shared/reconcile/reconcile.ts): the events of its transitions (./transitions.ts),
 * `Revision Converged` when it completed its branch's fleet, and commit statuses on the Git
 * host when its state at a revision changed. Nothing here throws: each failure is logged and
 * the reconcile goes on.
 *
 * Delivery: at most once. Events are computed from the status the reconcile read and the one
 * it wrote, and published after that write succeeded. A redelivered task reads the status its
 * first delivery wrote, sees no transition and publishes nothing; a process that stops between
 * the status write and the publish loses those events (the status is right, the event is not
 * sent again). Publishing before the write would turn that into duplicates instead; the
 * events' consumers (chat, paging) are better served by a rare miss than by repeats, and a
 * consumer that needs more reads the status (`converge status`). Two reconciles of one
 * cluster racing (a `converge sync` beside the queue's) may both publish a transition: it has
 * the same `eventId` both times. `Revision Converged` is once per revision and branch through a
 * conditional write (./converged.ts) made before it is published.
 */
import type { ClusterStatus } from "../cluster/status.js";
import { repoKey } from "../git/url.js";
import type { Log } from "../reconcile/reconcile.js";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { ConvergedMarkers } from "./converged.js";
import { clusterCommitStatus, rollupCommitStatus, type CommitStatus, type CommitStatusPort } from "../githost/commit-status.js";
import { hostApi } from "../githost/host.js";
import { DETAIL_TYPES, eventIdOf, LIST_MAX, shortSha, type ConvergeEvent, type EventPublisher } from "./schema.js";
import { clusterTransitions, type TransitionInput } from "./transitions.js";

/** What announcing needs: the publisher, and optionally the fleet, the markers and the commit status hook. */
export interface AnnounceDeps {
  publisher: EventPublisher;
  /** The clusters tracking a branch, with statuses read after this reconcile's write (`ClusterStore.trackingStatuses`). */
  fleet?: Pick<ClusterStore, "trackingStatuses">;
  /** Once-per-revision markers of `Revision Converged` (without them, it is not published). */
  markers?: Pick<ConvergedMarkers, "claim">;
  /** Writes commit statuses (shared/githost): the cluster's own and the rollup of its branch's clusters, at each change of its state at a revision; default: none. */
  statuses?: CommitStatusPort;
  /** Minutes OutOfSync before `Cluster Diverged` (default 15, the diverged alarm's default). */
  divergedMinutes?: number;
  /** Address of the web view, to link cluster pages. */
  uiUrl?: string;
  log?: Log;
}

/** One reconcile as `finish` hands it over: the record it read, the status it wrote, what it synced and saw. */
export interface Reconciled extends Pick<TransitionInput, "after" | "operations" | "drift"> {
  rec: Pick<ClusterRecord, "name" | "spec" | "status">;
}

/** The clusters tracking a branch with their statuses; `pinned`: one following a tag or commit (`--ref`), not the branch. */
type Fleet = { cluster: string; status: ClusterStatus; pinned: boolean }[];

const nullLog: Log = { info() {}, warn() {}, error() {} };

/**
 * The settings of announcing from the environment: `CONVERGE_DIVERGED_MINUTES` (the diverged
 * alarm's threshold, which the CDK app sets on the reconcile function too; default 15) and
 * `CONVERGE_UI_URL` (the web view's address; default none).
 */
export function announceSettings(env: NodeJS.ProcessEnv = process.env): Pick<AnnounceDeps, "divergedMinutes" | "uiUrl"> {
  const minutes = Number(env.CONVERGE_DIVERGED_MINUTES);
  return { divergedMinutes: Number.isFinite(minutes) && minutes > 0 ? minutes : 15, ...(env.CONVERGE_UI_URL ? { uiUrl: env.CONVERGE_UI_URL } : {}) };
}

/**
 * Publishes the events of one reconcile whose status was written, then writes its commit
 * statuses (see the module doc). Call it after the status write succeeded.
 * @returns the events published (or attempted).
 */
export async function announceReconcile(deps: AnnounceDeps, r: Reconciled): Promise<ConvergeEvent[]> {
  const log = deps.log ?? nullLog;
  const { source } = r.rec.spec;
  const before = r.rec.status;
  const events = clusterTransitions({
    cluster: { name: r.rec.name, repository: source.repoUrl, branch: source.branch },
    before,
    after: r.after,
    operations: r.operations,
    drift: r.drift,
    divergedMinutes: deps.divergedMinutes ?? 15,
    uiUrl: deps.uiUrl,
  });
  const revision = r.after.revision;
  const moved = events.length > 0 || before.revision !== revision;
  // statuses only for a source whose Git host has a status API and that has credentials to write with
  const statuses = deps.statuses && source.credentials && hostApi(source) ? deps.statuses : undefined;
  const converging = revision !== undefined && !source.ref && isConverged(r.after, revision) && !(isConverged(before, revision) && before.revision === revision);
  const fleet = moved && revision && (statuses || (converging && deps.markers)) ? await fleetOf(deps, r, revision, Boolean(statuses), log) : undefined;
  if (converging && fleet && deps.markers) events.push(...(await convergedEvent(deps.markers, r, revision, fleet, log)));
  try {
    await deps.publisher.publish(events);
  } catch (err) {
    log.warn("events not published", { cluster: r.rec.name, error: (err as Error).message });
  }
  if (moved && revision && statuses) await writeCommitStatuses(deps, statuses, r, revision, fleet, log);
  return events;
}

/** Whether `s` is Synced and Healthy at `revision`. */
function isConverged(s: ClusterStatus, revision: string): boolean {
  return s.sync === "Synced" && s.health === "Healthy" && s.revision === revision;
}

/**
 * The clusters tracking the reconciled cluster's branch (its own status as just written), or
 * undefined when they cannot be read. Without a commit status hook only the convergence check
 * needs them, so reading stops at the first page showing a cluster that is not converged at
 * `revision` (see `ClusterStore.trackingStatuses`).
 */
async function fleetOf(deps: AnnounceDeps, r: Reconciled, revision: string, rollup: boolean, log: Log): Promise<Fleet | undefined> {
  if (!deps.fleet) return undefined;
  const { repoUrl, branch } = r.rec.spec.source;
  const behind = (c: ClusterRecord) => c.name !== r.rec.name && !c.spec.source.ref && !isConverged(c.status, revision);
  try {
    const all = await deps.fleet.trackingStatuses(repoUrl, branch, rollup ? undefined : behind);
    const others = all.filter((c) => c.name !== r.rec.name).map((c) => ({ cluster: c.name, status: c.status, pinned: Boolean(c.spec.source.ref) }));
    return [...others, { cluster: r.rec.name, status: r.after, pinned: false }].sort((a, b) => a.cluster.localeCompare(b.cluster));
  } catch (err) {
    log.warn("the branch's clusters could not be read; no convergence check, no rollup", { cluster: r.rec.name, error: (err as Error).message });
    return undefined;
  }
}

/**
 * `Revision Converged` when every cluster following the branch (pinned ones aside) is Synced and
 * Healthy at `revision` and this reconcile claimed the revision's marker first.
 */
async function convergedEvent(markers: Pick<ConvergedMarkers, "claim">, r: Reconciled, revision: string, fleet: Fleet, log: Log): Promise<ConvergeEvent[]> {
  const following = fleet.filter((c) => !c.pinned);
  if (!following.every((c) => isConverged(c.status, revision))) return [];
  const { repoUrl, branch } = r.rec.spec.source;
  const names = following.map((c) => c.cluster);
  try {
    if (!(await markers.claim(repoKey(repoUrl, branch), revision, names))) return [];
  } catch (err) {
    log.warn("the convergence marker could not be written; Revision Converged not published", { cluster: r.rec.name, revision, error: (err as Error).message });
    return [];
  }
  const detail = {
    eventId: eventIdOf(DETAIL_TYPES.revisionConverged, repoKey(repoUrl, branch), revision),
    repository: repoUrl,
    branch,
    revision,
    time: r.after.lastReconcileAt ?? new Date().toISOString(),
    summary: `${repoUrl} ${branch}: ${names.length} cluster(s) Synced and Healthy at ${shortSha(revision)}`,
    command: "converge status",
    clusters: names.slice(0, LIST_MAX),
    clusterCount: names.length,
  };
  return [{ detailType: DETAIL_TYPES.revisionConverged, detail }];
}

/** The rollup over the clusters following the branch (pinned ones aside). */
function rollupOf(fleet: Fleet, revision: string): CommitStatus {
  return rollupCommitStatus(
    fleet.filter((c) => !c.pinned).map(({ cluster, status }) => ({ cluster, status })),
    revision,
  );
}

/** Times the rollup is written at most per reconcile: once, and again for each re-read that finds it changed. */
const ROLLUP_WRITES = 3;

/**
 * The cluster's commit status at `revision` and the rollup of the clusters following the
 * branch (when they were read); failures logged. Reconciles of the branch's clusters run
 * concurrently and the host keeps the last status written per context, so a rollup computed
 * before another cluster's status write may reach the host after that cluster's newer rollup.
 * After each rollup write the fleet is read again, and the rollup written again when it
 * changed: the last rollup written is then one computed after every status write before it.
 */
async function writeCommitStatuses(deps: AnnounceDeps, port: CommitStatusPort, r: Reconciled, revision: string, fleet: Fleet | undefined, log: Log): Promise<void> {
  const write = async (what: string, status: CommitStatus | undefined) => {
    if (!status) return;
    try {
      await port.write(r.rec.spec.source, revision, status);
    } catch (err) {
      log.warn("commit status not written", { cluster: r.rec.name, revision, what, error: (err as Error).message });
    }
  };
  await write("cluster", clusterCommitStatus(r.rec.name, r.after, revision));
  let rollup = fleet && rollupOf(fleet, revision);
  for (let writes = 1; rollup; writes++) {
    await write("rollup", rollup);
    if (writes === ROLLUP_WRITES) break;
    const again = await fleetOf(deps, r, revision, true, log);
    const next = again && rollupOf(again, revision);
    rollup = next && (next.state !== rollup.state || next.description !== rollup.description) ? next : undefined;
  }
}
