/**
 * The alarm signals: the fields the reconcile's one JSON log line per reconcile (message
 * `reconciled`) and the tick's one line per overdue cluster (message `stale`) carry, which the
 * CloudWatch Contributor Insights rules of `infra/constructs/alarms.ts` key on (`$.cluster`) and
 * filter on. One definition here, read by the reconcile, the tick, the rules, the notification
 * (`shared/notify/message.ts`) and the tests, so none can drift from the others.
 *
 * "Diverged for N minutes" must mean OutOfSync the whole time, not once: the status keeps
 * `outOfSyncSince` (the first reconcile that found the cluster OutOfSync since it was last seen
 * Synced) and every OutOfSync line carries `divergedMinutes` = whole minutes since then, so one
 * line matching `divergedMinutes > N - 1` proves N minutes of divergence. Likewise
 * `failingSince` / `failingMinutes` for consecutive Error / Unknown reconciles, and
 * `staleIntervals` = whole intervals since the last successful reconcile, computed by the tick
 * for each due cluster (it sees every cluster once per interval, also one whose reconciles
 * stopped).
 *
 * Rule filters take `GreaterThan` / `LessThan` / `EqualTo` with one number and `In` with up to 10
 * strings (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html),
 * so the durations are whole numbers and "at least N" is written `GreaterThan: N - 1`.
 */
import type { SyncStatus } from "../model.js";
import type { ClusterStatus } from "../cluster/status.js";

/** Field names of the signal lines (JSON property paths `$.<name>` in the rules). */
export const SIGNAL = {
  /** The contributor key: the cluster's name. */
  cluster: "cluster",
  /** `Synced` / `OutOfSync` / `Error` / `Unknown` (the reconcile's line). */
  sync: "sync",
  /** Whole minutes since `outOfSyncSince` (OutOfSync lines only). */
  divergedMinutes: "divergedMinutes",
  /** Whole minutes since `failingSince` (Error / Unknown lines only). */
  failingMinutes: "failingMinutes",
  /** Whole intervals since the last successful reconcile (the tick's `stale` lines). */
  staleIntervals: "staleIntervals",
} as const;

/** Log message of the reconcile's line (Powertools Logger `message`). */
export const RECONCILED_MESSAGE = "reconciled";
/** Log message of the tick's line for an overdue cluster. */
export const STALE_MESSAGE = "stale";
/** Log message of the images function's line for an update that would change something but was not written (a metric filter counts them). */
export const IMAGE_NOT_WRITTEN_MESSAGE = "image update not written";

/** Sync states that count as a failed reconcile. */
export const FAILED_STATES: readonly SyncStatus[] = ["Error", "Unknown"];

/** When a cluster's alarms fire. */
export interface AlarmThresholds {
  /** Minutes OutOfSync without interruption (default 15). */
  divergedMinutes: number;
  /** Minutes of consecutive failed reconciles (default 15: three 5-minute periods). */
  failingMinutes: number;
  /** Reconcile intervals without a successful reconcile (default 3). */
  staleIntervals: number;
}

/** The defaults of `ConvergeProps` / `AlarmsProps`. */
export const DEFAULT_THRESHOLDS: AlarmThresholds = { divergedMinutes: 15, failingMinutes: 15, staleIntervals: 3 };

/**
 * The tick logs a `stale` line for a due cluster from this many whole intervals without success
 * (one missed reconcile is not worth a line; a due cluster that just succeeded is at 1). The
 * stale rule's threshold must be at least this.
 */
export const STALE_LINE_FROM = 2;

/** True when a reconcile in state `sync` failed (Error or Unknown). */
export function isFailed(sync: SyncStatus): boolean {
  return FAILED_STATES.includes(sync);
}

/** Whole minutes from the ISO time `since` to `now` (epoch ms), never negative. */
export function minutesSince(since: string, now: number): number {
  return Math.max(0, Math.floor((now - Date.parse(since)) / 60_000));
}

/**
 * Carries `outOfSyncSince` and `failingSince` from the previous status `prev` into `next`, the
 * status this reconcile writes (at ISO time `at`): set at the first OutOfSync (failed) reconcile,
 * kept while it lasts, cleared when it ends. Drift is not known on Error / Unknown, so those keep
 * `outOfSyncSince` (the cluster was not seen Synced); only a Synced reconcile clears it.
 * @returns `next`, changed in place.
 */
export function trackSince(prev: Pick<ClusterStatus, "outOfSyncSince" | "failingSince">, next: ClusterStatus, at: string): ClusterStatus {
  const outOfSyncSince = next.sync === "OutOfSync" ? (prev.outOfSyncSince ?? at) : next.sync === "Synced" ? undefined : prev.outOfSyncSince;
  const failingSince = isFailed(next.sync) ? (prev.failingSince ?? at) : undefined;
  if (outOfSyncSince) next.outOfSyncSince = outOfSyncSince;
  else delete next.outOfSyncSince;
  if (failingSince) next.failingSince = failingSince;
  else delete next.failingSince;
  return next;
}

/** The alarm fields of the reconcile's line for `status` (after `trackSince`), at `now` (epoch ms). */
export function reconcileSignals(status: Pick<ClusterStatus, "sync" | "outOfSyncSince" | "failingSince">, now: number): { divergedMinutes?: number; failingMinutes?: number } {
  if (status.sync === "OutOfSync" && status.outOfSyncSince) return { [SIGNAL.divergedMinutes]: minutesSince(status.outOfSyncSince, now) };
  if (isFailed(status.sync) && status.failingSince) return { [SIGNAL.failingMinutes]: minutesSince(status.failingSince, now) };
  return {};
}

/** What the tick knows of a due cluster. */
export interface DueCluster {
  name: string;
  createdAt: string;
  spec: { intervalSeconds: number };
  status: Pick<ClusterStatus, "sync" | "lastSuccessAt" | "durationMs">;
}

/**
 * How overdue `c` is at `now` (epoch ms): intervals (fractional) and seconds since its last
 * successful reconcile, or since its registration when it never had one.
 */
export function staleness(c: DueCluster, now: number): { intervals: number; seconds: number } {
  const seconds = Math.max(0, (now - Date.parse(c.status.lastSuccessAt ?? c.createdAt)) / 1000);
  return { intervals: seconds / c.spec.intervalSeconds, seconds };
}
