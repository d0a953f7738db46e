/**
 * What the alarm side of Converge costs a month (metrics, alarms, Contributor Insights rules, the
 * dashboard, the log bytes it adds), as constants and one function, so the fleet cost benchmark
 * can import them rather than restate them. us-east-1 list prices
 * (https://aws.amazon.com/cloudwatch/pricing/), free tiers ignored (an upper bound).
 *
 * Fixed: 9 fleet custom metrics and the image update's one (a metric filter), 12 alarm metrics,
 * 4 Contributor Insights rules, 1 dashboard; none grows with the number of clusters. Per reconcile: one fleet EMF document (about 280 bytes
 * of log ingestion) and at most 2 log events matched by the rules (an OutOfSync line is matched
 * by the out-of-sync and the diverged rules; an Error / Unknown line by the failing rule only);
 * none while a cluster is Synced. Per tick: one fleet EMF document, and one `stale` line per
 * overdue due cluster (matched by the stale rule). The per-cluster metrics are opt-in
 * (`perClusterMetrics`) and not counted here.
 */
import { FLEET_METRICS, PER_CLUSTER_METRICS } from "./emf.js";

/** us-east-1 list prices, USD. */
export const CLOUDWATCH_PRICES = {
  /** A custom metric (each name + dimension values), first 10,000 metrics. */
  customMetricMonth: 0.3,
  /** A standard-resolution alarm, per metric in it (a metric-math alarm pays for each metric it reads). */
  alarmMetricMonth: 0.1,
  /** A custom dashboard. */
  dashboardMonth: 3,
  /** A Contributor Insights rule over CloudWatch Logs. */
  insightRuleMonth: 0.5,
  /** One million log events matched by a Contributor Insights rule. */
  insightMatchedEventsPerMillion: 0.02,
  /** Log ingestion, standard class, per GB. */
  logIngestionPerGB: 0.5,
} as const;

/** What the default stack deploys and writes for the alarms (infra/constructs/alarms.ts, dashboard.ts, images.ts). */
export const ALARM_COST = {
  prices: CLOUDWATCH_PRICES,
  /** Fleet metrics (dimension `service` only), and the image updates not written (a metric filter on the images function's log). */
  customMetrics: FLEET_METRICS.length + 1,
  /**
   * Alarm metrics: diverged, failing and stale (one INSIGHT_RULE_METRIC each), dead letters,
   * webhook 4xx and 5xx, notify failures (one metric each), tick stopped (invocations and
   * errors: two); the image update's dead letters, updates not written and function errors
   * (one each, infra/constructs/images.ts).
   */
  alarmMetrics: 12,
  /** Contributor Insights rules: out of sync (the dashboard's list), diverged, failing, stale. */
  insightRules: 4,
  dashboards: 1,
  /** Log events the rules match per reconcile, at most (OutOfSync: 2 rules; Error / Unknown: 1; Synced: 0). */
  matchedEventsPerReconcileMax: 2,
  /** Log events the stale rule matches per tick and overdue due cluster. */
  matchedEventsPerStaleCluster: 1,
  /** Bytes of the reconcile's fleet EMF document (measured: 281 with a 4-digit duration; test/integration/alarms.test.ts keeps it under this). */
  emfBytesPerReconcile: 300,
  /** Bytes of the tick's fleet EMF document, once per tick (one a minute). */
  emfBytesPerTick: 700,
  /** Custom metrics per cluster when `perClusterMetrics` is on (not in the totals below). */
  perClusterMetricsEach: PER_CLUSTER_METRICS.length,
} as const;

/** The fixed monthly cost of the alarm side: metrics, alarms, rules, dashboard (USD). */
export function fixedMonthlyCost(): number {
  const p = CLOUDWATCH_PRICES;
  return ALARM_COST.customMetrics * p.customMetricMonth + ALARM_COST.alarmMetrics * p.alarmMetricMonth + ALARM_COST.insightRules * p.insightRuleMonth + ALARM_COST.dashboards * p.dashboardMonth;
}

/** A fleet to price. */
export interface FleetShape {
  clusters: number;
  /** Reconcile interval, minutes (default 5). */
  intervalMinutes?: number;
  /** Share of reconciles that end OutOfSync / Error / Unknown, 0..1 (default 1: the worst case). */
  unhealthyShare?: number;
  /** Share of due clusters that are overdue (default 0). */
  staleShare?: number;
  /** Ticks a month (default one a minute: 43,800). */
  ticksPerMonth?: number;
}

/** The alarm side's monthly cost for `fleet`, item by item (USD). */
export function alarmMonthlyCost(fleet: FleetShape): { fixed: number; matchedEvents: number; logBytes: number; total: number } {
  const p = CLOUDWATCH_PRICES;
  const minutes = 730 * 60;
  const reconciles = (fleet.clusters * minutes) / (fleet.intervalMinutes ?? 5);
  const matched = reconciles * (fleet.unhealthyShare ?? 1) * ALARM_COST.matchedEventsPerReconcileMax + reconciles * (fleet.staleShare ?? 0) * ALARM_COST.matchedEventsPerStaleCluster;
  const bytes = reconciles * ALARM_COST.emfBytesPerReconcile + (fleet.ticksPerMonth ?? minutes) * ALARM_COST.emfBytesPerTick;
  const fixed = fixedMonthlyCost();
  const matchedEvents = (matched / 1e6) * p.insightMatchedEventsPerMillion;
  const logBytes = (bytes / 1e9) * p.logIngestionPerGB;
  return { fixed, matchedEvents, logBytes, total: fixed + matchedEvents + logBytes };
}
