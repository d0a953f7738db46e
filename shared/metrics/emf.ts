/**
 * CloudWatch metrics of a reconcile, written as Embedded Metric Format through Powertools
 * Metrics (one EMF document per cluster on stdout; CloudWatch Logs turns it into metrics
 * without any PutMetricData call). Namespace `Converge`, dimension `Cluster`; alarms in
 * `infra/` read exactly these names.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** Metric names, shared with the alarms in infra/. */
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
} as const;

/**
 * Emits how many reconcile intervals have passed since `cluster`'s last successful reconcile
 * (0 right after one): the stale-cluster alarm reads it. The tick emits it for due clusters, so
 * a cluster whose reconciles stopped keeps reporting.
 */
export function publishStaleness(cluster: string, intervals: number, seconds?: number): void {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: "converge", defaultDimensions: { Cluster: cluster } });
  metrics.addMetric(METRIC.staleIntervals, MetricUnit.Count, Math.max(0, Math.round(intervals * 100) / 100));
  if (seconds !== undefined) metrics.addMetric(METRIC.secondsSinceSuccess, MetricUnit.Seconds, Math.max(0, Math.round(seconds)));
  metrics.publishStoredMetrics();
}

/** CloudWatch namespace of every Converge metric. */
export const METRIC_NAMESPACE = "Converge";

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
 * Emits one EMF document for `m` with dimension `Cluster = m.cluster`, on stdout (Powertools
 * always writes EMF there; Lambda's log stream carries it to CloudWatch).
 */
export function publishReconcileMetrics(m: ReconcileMeasurement): void {
  const metrics = new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: "converge",
    defaultDimensions: { Cluster: m.cluster },
  });
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
