/**
 * The periodic tick: enqueue a reconcile for every cluster whose interval elapsed, catching
 * what pushes do not (manual edits in the cluster, missed webhooks). Due clusters come from
 * the `byCadence` and `byDueAt` indexes (a few Queries, never a Scan; shared/store/clusters.ts).
 */
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { ReconcileTask, TaskQueue } from "../queue/tasks.js";
import { publishStaleness, publishTickSignals } from "../metrics/emf.js";

/** What a tick did: clusters found due and tasks accepted by SQS. */
export interface TickResult {
  due: number;
  enqueued: number;
  clusters: string[];
}

/**
 * Enqueues every due cluster (revision left to the reconcile: the branch head). The window
 * (last tick, `now`] is claimed first with one conditional write (`ClusterStore.claimDue`), so
 * overlapping ticks never enqueue the same clusters, and a cluster whose reconcile lags is
 * enqueued again only when its cadence comes round, not every minute; nothing is written per
 * cluster except for one-off due times (a new or changed registration, an early return),
 * cleared once their tasks are sent. If sending fails the window is given back and the error
 * thrown (the scheduler retries). Each shard's tasks go out (parallel batches of 10) as soon
 * as its Queries answer; then the due clusters' records are read (BatchGetItem) for the
 * signals below, while the one-off due times are cleared.
 * `all` treats every cluster as due (the CLI's `converge tick --all`; a Scan, for operators).
 *
 * Cost at `n` due clusters: reads of `#schedule`, the index Queries (keys, about 100 bytes a
 * cluster) and `n` eventually consistent item reads; `n / 10` SQS requests; one write.
 */
export async function tick(deps: { clusters: ClusterStore; queue: TaskQueue; publishStaleness?: typeof publishStaleness }, now = Date.now(), opts: { all?: boolean } = {}): Promise<TickResult> {
  const enqueuedAt = new Date(now).toISOString();
  const names: string[] = [];
  let enqueued = 0;
  // each shard's clusters are sent as soon as its Queries answer; the enqueue comes first, the
  // records the signals below read come after it
  const enqueue = async (found: string[]) => {
    names.push(...found);
    const tasks: ReconcileTask[] = found.map((cluster) => ({ cluster, reason: "tick", enqueuedAt }));
    const n = await deps.queue.send(tasks);
    enqueued += n;
  };
  let due: ClusterRecord[];
  if (opts.all) {
    due = await deps.clusters.listAll();
    await enqueue(due.map((c) => c.name));
  } else {
    const claim = await deps.clusters.claimDue(now, (found) => enqueue(found.map((d) => d.name)));
    [due] = await Promise.all([deps.clusters.getMany(names, now), claim && deps.clusters.settleClaim(claim)]);
  }
  // from the due clusters already read (no extra read, no write): fleet counts (EMF, no Cluster
  // dimension) and one `stale` log line per overdue cluster for the stale alarm's Contributor
  // Insights rule, so a cluster whose reconciles stopped keeps being reported; per-cluster
  // staleness metrics only with CONVERGE_PER_CLUSTER_METRICS (shared/metrics/emf.ts)
  publishTickSignals(due, now, { perCluster: deps.publishStaleness ?? publishStaleness });
  return { due: due.length, enqueued, clusters: due.map((c) => c.name).sort() };
}
