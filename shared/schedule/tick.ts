/**
 * The periodic tick: enqueue a reconcile for every cluster whose interval elapsed, catching
 * what pushes do not (manual edits in the cluster, missed webhooks). Due clusters come from
 * the `byDue` index (one Query per shard, never a Scan).
 */
import type { ClusterStore } from "../store/clusters.js";
import type { ReconcileTask, TaskQueue } from "../queue/tasks.js";
import { publishStaleness } from "../metrics/emf.js";

/** What a tick did: clusters found due and tasks accepted by SQS. */
export interface TickResult {
  due: number;
  enqueued: number;
  clusters: string[];
}

/**
 * Enqueues every due cluster (revision left to the reconcile: the branch head), then moves
 * each one's `nextDueAt` one interval ahead with a conditional write, so overlapping ticks
 * do not both reschedule; their messages share a deduplication id per cluster and minute.
 * `all` treats every cluster as due (the CLI's `converge tick --all`; a Scan, for operators).
 */
export async function tick(deps: { clusters: ClusterStore; queue: TaskQueue; publishStaleness?: typeof publishStaleness }, now = Date.now(), opts: { all?: boolean } = {}): Promise<TickResult> {
  const due = opts.all ? await deps.clusters.listAll() : await deps.clusters.due(now);
  const enqueuedAt = new Date(now).toISOString();
  const tasks: ReconcileTask[] = due.map((c) => ({ cluster: c.name, reason: "tick", enqueuedAt }));
  const enqueued = await deps.queue.send(tasks);
  await Promise.all(due.map((c) => deps.clusters.reschedule(c.name, c.nextDueAt, now + c.spec.intervalSeconds * 1000)));
  // a due cluster whose reconciles stopped succeeding keeps reporting how stale it is
  for (const c of due) {
    const since = Date.parse(c.status.lastSuccessAt ?? c.createdAt);
    (deps.publishStaleness ?? publishStaleness)(c.name, (now - since) / 1000 / c.spec.intervalSeconds, (now - since) / 1000);
  }
  return { due: due.length, enqueued, clusters: due.map((c) => c.name).sort() };
}
