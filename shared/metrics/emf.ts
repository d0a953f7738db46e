/**
 * CloudWatch metrics of Converge, written as Embedded Metric Format through Powertools Metrics
 * (EMF documents on stdout; CloudWatch Logs turns them into metrics without any PutMetricData
 * call). Namespace `Converge`, dimension `service` only: a small fixed set of fleet metrics
 * whose cost does not grow with the number of clusters.
 *
 * - each reconcile: `ReconcileDuration`, `ReconcileErrors` (1 when it ended in Error / Unknown);
 * - each tick, over the clusters it found due (no extra read): `ClustersDue`,
 *   `ClustersOutOfSync`, `ClustersError`, `ClustersUnknown`, `ClustersStale`, and the stalest
 *   due cluster's `IntervalsSinceSuccess` / `SecondsSinceLastSuccess` (its name as the
 *   document's `Cluster` property, not a dimension).
 *
 * Which clusters are diverged, failing or stale is not a metric: the reconcile's and the tick's
 * JSON log lines carry it (`shared/metrics/signals.ts`) and Contributor Insights rules count it
 * per cluster (`infra/constructs/alarms.ts`).
 *
 * Per-cluster metrics (dimension `Cluster`, $0.30 per metric and cluster a month) are opt-in:
 * `CONVERGE_PER_CLUSTER_METRICS=true` (the construct's `perClusterMetrics: true`) adds the
 * per-cluster documents Converge used to write: the reconcile's drift, health, errors, duration
 * and staleness, and the tick's staleness of each due cluster.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { type DueCluster, SIGNAL, STALE_LINE_FROM, STALE_MESSAGE, staleness } from "./signals.js";

/** CloudWatch namespace of every Converge metric. */
export const METRIC_NAMESPACE = "Converge";

/** Environment variable that turns the per-cluster metrics on (`true` or `1`). */
export const PER_CLUSTER_METRICS_ENV = "CONVERGE_PER_CLUSTER_METRICS";

/** Environment variable with the stale threshold in intervals (the tick's `ClustersStale`; default 3). */
export const STALE_INTERVALS_ENV = "CONVERGE_STALE_INTERVALS";

/** Metric names, shared with the alarms and the dashboard in infra/. */
export const METRIC = {
  drifted: "DriftedResources",
  missing: "MissingResources",
  outOfSync: "OutOfSync",
  errors: "ReconcileErrors",
  duration: "ReconcileDuration",
  health: "Health",
  degraded: "DegradedResources",
  staleIntervals: "IntervalsSinceSuccess",
  secondsSinceSuccess: "SecondsSinceLastSuccess",
  clustersDue: "ClustersDue",
  clustersOutOfSync: "ClustersOutOfSync",
  clustersError: "ClustersError",
  clustersUnknown: "ClustersUnknown",
  clustersStale: "ClustersStale",
} as const;

/** The metrics written by default, all with the one dimension `service`: the fixed custom-metric bill. */
export const FLEET_METRICS = [
  METRIC.duration,
  METRIC.errors,
  METRIC.clustersDue,
  METRIC.clustersOutOfSync,
  METRIC.clustersError,
  METRIC.clustersUnknown,
  METRIC.clustersStale,
  METRIC.staleIntervals,
  METRIC.secondsSinceSuccess,
] as const;

/** The metrics written per cluster (dimensions `Cluster`, `service`) when opted in. */
export const PER_CLUSTER_METRICS = [
  METRIC.drifted,
  METRIC.missing,
  METRIC.outOfSync,
  METRIC.errors,
  METRIC.duration,
  METRIC.health,
  METRIC.degraded,
  METRIC.staleIntervals,
  METRIC.secondsSinceSuccess,
] as const;

/** Whether per-cluster metrics are on (`CONVERGE_PER_CLUSTER_METRICS=true`); read at each call. */
export function perClusterMetrics(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(env[PER_CLUSTER_METRICS_ENV] ?? "");
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function fleetMetrics(): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE, serviceName: "converge" });
}

function clusterMetrics(cluster: string): Metrics {
  return new Metrics({ namespace: METRIC_NAMESPACE, serviceName: "converge", defaultDimensions: { Cluster: cluster } });
}

/**
 * Emits how many reconcile intervals have passed since `cluster`'s last successful reconcile
 * (dimension `Cluster`): the per-cluster staleness of the opt-in metrics, written by the tick
 * for each due cluster when `CONVERGE_PER_CLUSTER_METRICS` is on.
 */
export function publishStaleness(cluster: string, intervals: number, seconds?: number): void {
  const metrics = clusterMetrics(cluster);
  metrics.addMetric(METRIC.staleIntervals, MetricUnit.Count, Math.max(0, round2(intervals)));
  if (seconds !== undefined) metrics.addMetric(METRIC.secondsSinceSuccess, MetricUnit.Seconds, Math.max(0, Math.round(seconds)));
  metrics.publishStoredMetrics();
}

/** Structured logger of the tick's signal lines (Powertools Logger satisfies it). */
export interface SignalLog {
  info(msg: string, extra: Record<string, unknown>): void;
}

let tickLogger: Logger | undefined;

/** What `publishTickSignals` wrote. */
export interface TickSignals {
  due: number;
  outOfSync: number;
  error: number;
  unknown: number;
  /** Due clusters at or past the stale threshold. */
  stale: number;
  /** Clusters a `stale` line was logged for (at least `STALE_LINE_FROM` intervals). */
  staleLines: string[];
}

/**
 * What the tick reports about the clusters it found due, from the records it already read (no
 * extra DynamoDB request, no write): one fleet EMF document with the counts and the stalest
 * cluster, and one `stale` JSON log line (`cluster`, `staleIntervals`) per cluster at least
 * `STALE_LINE_FROM` whole intervals past its last successful reconcile, which the stale rule
 * counts. With `CONVERGE_PER_CLUSTER_METRICS` on, also each due cluster's per-cluster staleness.
 * @param staleAfter the stale threshold in intervals (default `CONVERGE_STALE_INTERVALS`, else 3).
 */
export function publishTickSignals(due: DueCluster[], now: number, opts: { perCluster?: typeof publishStaleness; log?: SignalLog; staleAfter?: number } = {}): TickSignals {
  const staleAfter = opts.staleAfter ?? (Number(process.env[STALE_INTERVALS_ENV]) || 3);
  if (!opts.log && !tickLogger) tickLogger = new Logger({ serviceName: "converge-tick" });
  const log = opts.log ?? tickLogger!;
  const out: TickSignals = { due: due.length, outOfSync: 0, error: 0, unknown: 0, stale: 0, staleLines: [] };
  let stalest: { name: string; intervals: number; seconds: number } | undefined;
  for (const c of due) {
    if (c.status.sync === "OutOfSync") out.outOfSync++;
    if (c.status.sync === "Error") out.error++;
    if (c.status.sync === "Unknown") out.unknown++;
    const s = staleness(c, now);
    const whole = Math.floor(s.intervals);
    if (whole >= staleAfter) out.stale++;
    if (whole >= STALE_LINE_FROM) {
      log.info(STALE_MESSAGE, { [SIGNAL.cluster]: c.name, [SIGNAL.staleIntervals]: whole, secondsSinceSuccess: Math.round(s.seconds), lastSuccessAt: c.status.lastSuccessAt ?? null });
      out.staleLines.push(c.name);
    }
    if (!stalest || s.intervals > stalest.intervals) stalest = { name: c.name, ...s };
    if (perClusterMetrics()) (opts.perCluster ?? publishStaleness)(c.name, s.intervals, s.seconds);
  }
  const metrics = fleetMetrics();
  metrics.addMetric(METRIC.clustersDue, MetricUnit.Count, out.due);
  metrics.addMetric(METRIC.clustersOutOfSync, MetricUnit.Count, out.outOfSync);
  metrics.addMetric(METRIC.clustersError, MetricUnit.Count, out.error);
  metrics.addMetric(METRIC.clustersUnknown, MetricUnit.Count, out.unknown);
  metrics.addMetric(METRIC.clustersStale, MetricUnit.Count, out.stale);
  if (stalest) {
    metrics.addMetric(METRIC.staleIntervals, MetricUnit.Count, round2(stalest.intervals));
    metrics.addMetric(METRIC.secondsSinceSuccess, MetricUnit.Seconds, Math.round(stalest.seconds));
    metrics.addMetadata("Cluster", stalest.name);
  }
  metrics.publishStoredMetrics();
  return out;
}

/** What one reconcile measured. */
export interface ReconcileMeasurement {
  cluster: string;
  /** Modified + Missing + Extra resources; undefined when drift is unknown (Error / Unknown). */
  drifted?: number;
  missing?: number;
  outOfSync?: boolean;
  /** Cluster health as its index in HEALTH_ORDER: 0 Healthy, 1 Suspended, 2 Progressing, 3 Missing, 4 Degraded, 5 Unknown. */
  health?: number;
  degraded?: number;
  /** 1 when the reconcile ended in Error or Unknown. */
  error: boolean;
  durationMs: number;
  /** Intervals since the last successful reconcile (0 when this one succeeded). */
  staleIntervals?: number;
  /** Seconds since the last successful reconcile (0 when this one succeeded). */
  secondsSinceSuccess?: number;
}

/**
 * Emits the reconcile's fleet metrics (`ReconcileDuration`, `ReconcileErrors`; dimension
 * `service`) and, when `CONVERGE_PER_CLUSTER_METRICS` is on, one more EMF document with
 * dimension `Cluster = m.cluster` and every measurement. On stdout (Powertools always writes EMF
 * there; Lambda's log stream carries it to CloudWatch).
 */
export function publishReconcileMetrics(m: ReconcileMeasurement): void {
  const fleet = fleetMetrics();
  fleet.addMetric(METRIC.duration, MetricUnit.Milliseconds, m.durationMs);
  fleet.addMetric(METRIC.errors, MetricUnit.Count, m.error ? 1 : 0);
  fleet.publishStoredMetrics();
  if (!perClusterMetrics()) return;
  const metrics = clusterMetrics(m.cluster);
  if (m.drifted !== undefined) metrics.addMetric(METRIC.drifted, MetricUnit.Count, m.drifted);
  if (m.missing !== undefined) metrics.addMetric(METRIC.missing, MetricUnit.Count, m.missing);
  if (m.outOfSync !== undefined) metrics.addMetric(METRIC.outOfSync, MetricUnit.Count, m.outOfSync ? 1 : 0);
  if (m.health !== undefined) metrics.addMetric(METRIC.health, MetricUnit.Count, m.health);
  if (m.degraded !== undefined) metrics.addMetric(METRIC.degraded, MetricUnit.Count, m.degraded);
  metrics.addMetric(METRIC.errors, MetricUnit.Count, m.error ? 1 : 0);
  metrics.addMetric(METRIC.duration, MetricUnit.Milliseconds, m.durationMs);
  if (m.staleIntervals !== undefined) metrics.addMetric(METRIC.staleIntervals, MetricUnit.Count, m.staleIntervals);
  if (m.secondsSinceSuccess !== undefined) metrics.addMetric(METRIC.secondsSinceSuccess, MetricUnit.Seconds, m.secondsSinceSuccess);
  metrics.publishStoredMetrics();
}
