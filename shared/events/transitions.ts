/**
 * The events of one reconcile, computed from what it saw: the cluster's status before and
 * after it, and the operation records it started or finished. Pure: no I/O, no clock (times
 * come from the statuses and records), so a quiet reconcile (nothing changed) yields none, and
 * the same inputs always yield the same events with the same `eventId`s.
 *
 * Rules:
 * - `Cluster Sync Status Changed`: `after.sync` differs from `before.sync` (a new cluster's
 *   status starts `Unknown`, so its first reconcile usually emits one);
 * - `Cluster Health Changed`: `after.health` is set and differs from `before.health`;
 * - `Sync Operation Started` for a record in phase Running, `Succeeded` / `Failed` for a
 *   finished one (Failed covers the phases Failed and Error);
 * - `Cluster Diverged`: the cluster is OutOfSync and this is the first reconcile computing drift
 *   since `outOfSyncSince` that finds it OutOfSync for `divergedMinutes` or more. The previous
 *   drift-computing reconcile is `before.lastSuccessAt` (an Error / Unknown reconcile keeps
 *   it), so a crossing during an outage is announced by the next OutOfSync reconcile, and only
 *   a Synced reconcile (which clears `outOfSyncSince`, shared/metrics/signals.ts) allows
 *   another. The threshold compares like the diverged alarm: whole minutes, at least N.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ResourceDrift } from "../model.js";
import { minutesSince } from "../metrics/signals.js";
import { describeTrigger, type OperationRecord, type ResourceResult } from "../store/operations.js";
import { clip, clusterPageUrl, DETAIL_TYPES, eventIdOf, LIST_MAX, shortSha, type ClusterDetailBase, type ConvergeEvent, type DetailType, type FailedResult, type OperationDetail } from "./schema.js";

/** The cluster an event is about: its name and what it tracks. */
export interface ClusterRef {
  name: string;
  repository: string;
  branch: string;
}

/** What one reconcile saw. */
export interface TransitionInput {
  cluster: ClusterRef;
  /** The status the reconcile read. */
  before: ClusterStatus;
  /** The status it wrote (with `lastReconcileAt` and `outOfSyncSince` set, as `finish` writes it). */
  after: ClusterStatus;
  /** Operation records it started (phase Running) or finished, in that order. */
  operations: OperationRecord[];
  /** Its per-resource drift, with health (the Degraded ones are listed). */
  drift: ResourceDrift[];
  /** Minutes OutOfSync before `Cluster Diverged` (the diverged alarm's threshold). */
  divergedMinutes: number;
  /** Address of the web view, to link the cluster's page. */
  uiUrl?: string;
}

/** The events of one reconcile (see the module doc); none when nothing changed. */
export function clusterTransitions(input: TransitionInput): ConvergeEvent[] {
  const { before, after } = input;
  const time = after.lastReconcileAt ?? new Date(0).toISOString();
  const base = (type: DetailType, summary: string, command: string, ...id: (string | undefined)[]): ClusterDetailBase => ({
    eventId: eventIdOf(type, input.cluster.name, ...id),
    cluster: input.cluster.name,
    repository: input.cluster.repository,
    branch: input.cluster.branch,
    ...(after.revision ? { revision: after.revision } : {}),
    time,
    summary: `${input.cluster.name}: ${summary}`,
    command,
    ...(input.uiUrl ? { url: clusterPageUrl(input.uiUrl, input.cluster.name) } : {}),
  });
  const get = `converge cluster get ${input.cluster.name}`;
  const at = ` at ${shortSha(after.revision)}`;
  const events: ConvergeEvent[] = [];
  if (before.sync !== after.sync) {
    const why = after.message ? ` — ${clip(after.message, 200)}` : "";
    const detail = {
      ...base(DETAIL_TYPES.syncStatusChanged, `${before.sync} → ${after.sync}${at}${why}`, get, before.lastReconcileAt, before.sync, after.sync),
      from: before.sync,
      to: after.sync,
      counts: after.counts,
    };
    events.push({ detailType: DETAIL_TYPES.syncStatusChanged, detail: { ...detail, ...(after.message ? { message: clip(after.message) } : {}) } });
  }
  if (after.health && after.health !== before.health) {
    const degraded = input.drift.filter((d) => d.health?.status === "Degraded").map((d) => ({ key: d.key, ...(d.health?.message ? { message: clip(d.health.message, 300) } : {}) }));
    events.push({
      detailType: DETAIL_TYPES.healthChanged,
      detail: {
        ...base(
          DETAIL_TYPES.healthChanged,
          `health ${before.health ?? "none"} → ${after.health}${at}${
            degraded.length
              ? `, Degraded: ${degraded
                  .slice(0, 3)
                  .map((d) => d.key)
                  .join(", ")}${degraded.length > 3 ? ` and ${degraded.length - 3} more` : ""}`
              : ""
          }`,
          get,
          before.lastReconcileAt,
          before.health,
          after.health,
        ),
        ...(before.health ? { from: before.health } : {}),
        to: after.health,
        degraded: degraded.slice(0, LIST_MAX),
        degradedTotal: degraded.length,
      },
    });
  }
  for (const op of input.operations) {
    const said = `sync ${op.phase === "Running" ? "started" : op.phase} (${describeTrigger(op.trigger)}) at ${shortSha(op.revision)}${op.message && op.phase !== "Running" ? ` — ${clip(op.message, 200)}` : ""}`;
    events.push(operationEvent(op, base(operationType(op), said, `converge sync history --cluster ${input.cluster.name}`, op.id, op.phase)));
  }
  const diverged = divergedMinutes(before, after, input.divergedMinutes);
  if (diverged !== undefined) {
    events.push({
      detailType: DETAIL_TYPES.diverged,
      detail: {
        ...base(DETAIL_TYPES.diverged, `OutOfSync for ${diverged} minutes (since ${after.outOfSyncSince})${at}`, `converge diff --cluster ${input.cluster.name}`, after.outOfSyncSince),
        outOfSyncSince: after.outOfSyncSince!,
        minutes: diverged,
        thresholdMinutes: input.divergedMinutes,
        counts: after.counts,
      },
    });
  }
  return events;
}

/**
 * Whole minutes OutOfSync when this reconcile is the one that first finds the cluster diverged
 * for `threshold` minutes (see the module doc), else undefined.
 */
export function divergedMinutes(before: ClusterStatus, after: ClusterStatus, threshold: number): number | undefined {
  if (after.sync !== "OutOfSync" || !after.outOfSyncSince || !after.lastReconcileAt) return undefined;
  const now = Date.parse(after.lastReconcileAt);
  const minutes = minutesSince(after.outOfSyncSince, now);
  if (minutes < threshold) return undefined;
  const previous = before.outOfSyncSince === after.outOfSyncSince ? before.lastSuccessAt : undefined;
  if (previous && minutesSince(after.outOfSyncSince, Date.parse(previous)) >= threshold) return undefined; // announced by that reconcile
  return minutes;
}

/** The detail type of an operation record's event. */
function operationType(op: OperationRecord): DetailType {
  return op.phase === "Running" ? DETAIL_TYPES.operationStarted : op.phase === "Succeeded" ? DETAIL_TYPES.operationSucceeded : DETAIL_TYPES.operationFailed;
}

/** The event of an operation record: Started, Succeeded or Failed, with its results summarized. */
function operationEvent(op: OperationRecord, base: ClusterDetailBase): ConvergeEvent {
  const failed = op.resources.filter((r) => !["Synced", "Pruned", "Succeeded", "Running"].includes(r.status)).map(failedResult);
  const detail: OperationDetail = {
    ...base,
    revision: op.revision,
    time: op.phase === "Running" ? op.startedAt : (op.finishedAt ?? base.time),
    operationId: op.id,
    trigger: op.trigger,
    triggerText: describeTrigger(op.trigger),
    phase: op.phase,
    ...(op.message ? { message: clip(op.message) } : {}),
    startedAt: op.startedAt,
    ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
    results: { total: op.resources.length, counts: op.counts, failed: failed.slice(0, LIST_MAX) },
  };
  const type = operationType(op) as typeof DETAIL_TYPES.operationStarted;
  return { detailType: type, detail };
}

/** A result that did not succeed; a Secret's message is left out (an API server message may quote the object). */
function failedResult(r: ResourceResult): FailedResult {
  return { key: r.key, status: r.status, ...(r.message && r.kind !== "Secret" ? { message: clip(r.message, 300) } : {}) };
}
