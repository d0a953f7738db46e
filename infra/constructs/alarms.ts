/**
 * Alarms on divergence, notifying one SNS topic. Per-cluster alarms are CloudWatch Metrics
 * Insights queries grouped by the `Cluster` dimension: every cluster is a contributor of one
 * multi-time-series alarm, so a cluster registered later is covered without a deploy
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/multi-time-series-alarm.html;
 * at most 500 series evaluated per alarm, 100 contributors in ALARM).
 */
import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRIC_NAMESPACE } from "../../shared/metrics/emf.js";

/** Settings of the alarms. */
export interface AlarmsProps {
  dlq: Queue;
  webhook: NodejsFunction;
  /** Minutes a cluster must stay OutOfSync before alarming (default 15; rounded up to 5-minute periods). */
  divergedMinutes?: number;
  /** Consecutive 5-minute periods with reconcile errors before alarming (default 3). */
  failingPeriods?: number;
  /** Reconcile intervals without a successful reconcile before a cluster is stale (default 3). */
  staleIntervals?: number;
  /** Webhook 4xx answers per 5 minutes that count as a burst (default 20). */
  webhook4xxBurst?: number;
}

/** `SELECT <fn>(<metric>) FROM SCHEMA("Converge", Cluster, service) GROUP BY Cluster`: one series per cluster. */
export function perClusterQuery(fn: "MAX" | "SUM", metric: string): string {
  return `SELECT ${fn}(${metric}) FROM SCHEMA("${METRIC_NAMESPACE}", Cluster, service) GROUP BY Cluster`;
}

/** The SNS topic and the alarms. */
export class ConvergeAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Record<"diverged" | "failing" | "stale" | "dlq" | "webhook4xx" | "webhook5xx", Alarm>;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new Topic(this, "Topic", { displayName: "Converge alarms", enforceSSL: true });
    const action = new SnsAction(this.topic);
    const insights = (name: string, query: string, periods: number, threshold: number, description: string) => {
      const alarm = new Alarm(this, name, {
        metric: new MathExpression({ expression: query, period: Duration.minutes(5), label: name, usingMetrics: {} }),
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.IGNORE,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    };
    const simple = (name: string, metric: IMetric, threshold: number, description: string) => {
      const alarm = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      return alarm;
    };
    const diverged = Math.max(1, Math.ceil((props.divergedMinutes ?? 15) / 5));
    this.alarms = {
      diverged: insights("ClusterDiverged", perClusterQuery("MAX", METRIC.outOfSync), diverged, 1, `A cluster has been OutOfSync for ${diverged * 5} minutes (one contributor per cluster)`),
      failing: insights("ReconcileFailing", perClusterQuery("SUM", METRIC.errors), props.failingPeriods ?? 3, 1, "A cluster's reconciles fail (Error or Unknown) period after period"),
      stale: insights("ClusterStale", perClusterQuery("MAX", METRIC.staleIntervals), 1, props.staleIntervals ?? 3, "A cluster has had no successful reconcile for 3 of its intervals"),
      dlq: simple("DeadLetters", props.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), 1, "Reconcile tasks reached the dead-letter queue"),
      webhook4xx: simple(
        "WebhookRejections",
        props.webhook.metric("Url4xxCount", { statistic: "Sum", period: Duration.minutes(5) }),
        props.webhook4xxBurst ?? 20,
        "A burst of rejected webhook deliveries (bad signatures, bad payloads)",
      ),
      webhook5xx: simple(
        "WebhookFailures",
        props.webhook.metric("Url5xxCount", { statistic: "Sum", period: Duration.minutes(5) }),
        1,
        "The webhook function failed (deliveries will be retried by GitHub)",
      ),
    };
  }
}
