/**
 * Per-cluster alarms whose cost does not grow with the fleet: CloudWatch Contributor Insights
 * rules over the JSON log lines the reconcile and the tick already write
 * (`shared/metrics/signals.ts`), keyed on `$.cluster`, and one alarm per rule on
 * `INSIGHT_RULE_METRIC(rule, "UniqueContributors")` >= 1.
 *
 * | rule | log group | filters | alarm |
 * | --- | --- | --- | --- |
 * | out of sync | reconcile | `message` = reconciled, `sync` = OutOfSync | none (the dashboard's list of diverged clusters) |
 * | diverged | reconcile | the same, `divergedMinutes` > N - 1 | ClusterDiverged |
 * | failing | reconcile | `message` = reconciled, `sync` in Error, Unknown, `failingMinutes` > F - 1 | ReconcileFailing |
 * | stale | tick | `message` = stale, `staleIntervals` > S - 1 | ClusterStale |
 *
 * Every cluster is evaluated, however many there are: a rule counts every matching log event and
 * `UniqueContributors` counts distinct clusters; only reports and dashboard lists are top-N (100
 * contributors at most per report, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetInsightRuleReport.html).
 * Compare Metrics Insights alarms, which evaluate at most 500 time series
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-limits.html).
 * A cluster registered later is covered without a deploy. The notification names the clusters:
 * every alarm notifies `actionTopic`, the notify function (`./notify.ts`) reads the clusters in
 * the alarm's state from the clusters table and publishes the message to `topic`, the topic
 * people subscribe to.
 *
 * Limits respected: 100 Contributor Insights rules per account and Region (4 used;
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html), 4 keys
 * and 4 filters per rule, 10 strings per `In`
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html),
 * alarm period x evaluation periods <= 1 day, 10 metrics per metric-math alarm.
 * `INSIGHT_RULE_METRIC` in alarms:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-GraphReportData.html.
 * Cost: $0.50 per rule a month and $0.02 per million matched log events
 * (https://aws.amazon.com/cloudwatch/pricing/); see `shared/metrics/cost.ts`.
 *
 * A matching line proves the whole duration (it carries how long the state has lasted), so one
 * datapoint alarms; the alarm stays in ALARM while a matching line arrives at least once per
 * `alarmWindow` (default 15 minutes; clusters reconciled less often than that return to OK
 * between their reconciles and alarm again at the next one).
 */
import { Duration, Names, Stack } from "aws-cdk-lib";
import { Alarm, CfnInsightRule, ComparisonOperator, MathExpression, TreatMissingData, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import type { ILogGroup } from "aws-cdk-lib/aws-logs";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC_NAMESPACE } from "../../shared/metrics/emf.js";
import { countRule, type InsightRuleBody, type RuleFilter } from "../../shared/metrics/insight-rule.js";
import { type AlarmThresholds, DEFAULT_THRESHOLDS, FAILED_STATES, RECONCILED_MESSAGE, SIGNAL, STALE_LINE_FROM, STALE_MESSAGE } from "../../shared/metrics/signals.js";
import type { ClusterAlarmKind } from "../../shared/notify/message.js";

/** Settings of the alarms. */
export interface AlarmsProps {
  dlq: Queue;
  webhook: NodejsFunction;
  /** The reconcile function's log group (its `reconciled` lines). */
  reconcileLogs: ILogGroup;
  /** The tick function and its log group (its `stale` lines). */
  tick: NodejsFunction;
  tickLogs: ILogGroup;
  /** How often the tick runs (default 1 minute): the tick-stopped alarm waits 3 of them, 10 minutes at least. */
  tickRate?: Duration;
  /** Minutes a cluster must stay OutOfSync before alarming (default 15). */
  divergedMinutes?: number;
  /** Consecutive 5-minute periods of failed reconciles before alarming (default 3). */
  failingPeriods?: number;
  /** Reconcile intervals without a successful reconcile before a cluster is stale (default 3, at least 2). */
  staleIntervals?: number;
  /** Webhook 4xx answers per 5 minutes that count as a burst (default 20). */
  webhook4xxBurst?: number;
  /** How long a per-cluster alarm stays in ALARM after the last matching line (default 15 minutes, a multiple of 5). */
  alarmWindow?: Duration;
}

/** The Contributor Insights rules. */
export type RuleKind = "outOfSync" | ClusterAlarmKind;

/** `SELECT <fn>(<metric>) FROM SCHEMA("Converge", Cluster, service) GROUP BY Cluster`: one series per cluster (the opt-in per-cluster metrics). */
export function perClusterQuery(fn: "MAX" | "SUM", metric: string): string {
  return `SELECT ${fn}(${metric}) FROM SCHEMA("${METRIC_NAMESPACE}", Cluster, service) GROUP BY Cluster`;
}

/** `INSIGHT_RULE_METRIC('<rule>', '<metric>')`: a series of a Contributor Insights rule. */
export function insightRuleMetric(ruleName: string, metric: "UniqueContributors" | "SampleCount" | "MaxContributorValue" = "UniqueContributors"): string {
  return `INSIGHT_RULE_METRIC('${ruleName}', '${metric}')`;
}

/**
 * The rule bodies over the reconcile's and the tick's log groups: each keyed on the cluster,
 * counting the lines that show it in the rule's state for at least the threshold.
 */
export function clusterRules(logGroups: { reconcile: string; tick: string }, t: AlarmThresholds): Record<RuleKind, InsightRuleBody> {
  const at = (field: string) => `$.${field}`;
  const key = [at(SIGNAL.cluster)];
  const reconciled: RuleFilter = { Match: "$.message", In: [RECONCILED_MESSAGE] };
  const outOfSync: RuleFilter = { Match: at(SIGNAL.sync), In: ["OutOfSync"] };
  return {
    outOfSync: countRule([logGroups.reconcile], key, [reconciled, outOfSync]),
    diverged: countRule([logGroups.reconcile], key, [reconciled, outOfSync, { Match: at(SIGNAL.divergedMinutes), GreaterThan: t.divergedMinutes - 1 }]),
    failing: countRule([logGroups.reconcile], key, [reconciled, { Match: at(SIGNAL.sync), In: [...FAILED_STATES] }, { Match: at(SIGNAL.failingMinutes), GreaterThan: t.failingMinutes - 1 }]),
    stale: countRule([logGroups.tick], key, [
      { Match: "$.message", In: [STALE_MESSAGE] },
      { Match: at(SIGNAL.staleIntervals), GreaterThan: t.staleIntervals - 1 },
    ]),
  };
}

/** The topics, the Contributor Insights rules and the alarms. */
export class ConvergeAlarms extends Construct {
  /** The topic people subscribe to: messages naming the clusters (published by the notify function). */
  readonly topic: Topic;
  /** The topic every alarm notifies (the notify function's trigger). */
  readonly actionTopic: Topic;
  readonly thresholds: AlarmThresholds;
  readonly rules: Record<RuleKind, CfnInsightRule>;
  /** Rule names (what `INSIGHT_RULE_METRIC` and the dashboard take). */
  readonly ruleNames: Record<RuleKind, string>;
  readonly alarms: Record<ClusterAlarmKind | "dlq" | "webhook4xx" | "webhook5xx" | "tickStopped", Alarm>;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const whole = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be a whole number of at least ${min} (got ${v})`);
      return v;
    };
    this.thresholds = {
      divergedMinutes: whole("divergedMinutes", props.divergedMinutes ?? DEFAULT_THRESHOLDS.divergedMinutes, 1),
      failingMinutes: whole("failingPeriods", props.failingPeriods ?? DEFAULT_THRESHOLDS.failingMinutes / 5, 1) * 5,
      staleIntervals: whole("staleIntervals", props.staleIntervals ?? DEFAULT_THRESHOLDS.staleIntervals, STALE_LINE_FROM),
    };
    const windowPeriods = Math.max(1, Math.ceil((props.alarmWindow ?? Duration.minutes(15)).toMinutes() / 5));
    this.topic = new Topic(this, "Topic", { displayName: "Converge alarms", enforceSSL: true });
    this.actionTopic = new Topic(this, "ActionTopic", { displayName: "Converge alarm state changes (to the notify function)", enforceSSL: true });
    const action = new SnsAction(this.actionTopic);

    const stack = Stack.of(this);
    const bodies = clusterRules({ reconcile: props.reconcileLogs.logGroupName, tick: props.tickLogs.logGroupName }, this.thresholds);
    const ruleIds: Record<RuleKind, string> = { outOfSync: "OutOfSyncRule", diverged: "DivergedRule", failing: "FailingRule", stale: "StaleRule" };
    const rules = {} as Record<RuleKind, CfnInsightRule>;
    const ruleNames = {} as Record<RuleKind, string>;
    for (const kind of Object.keys(bodies) as RuleKind[]) {
      const holder = new Construct(this, ruleIds[kind]);
      // rule names: letters, digits, -, _ and . (unique per account and Region: derived from the stack and construct path)
      const name = Names.uniqueResourceName(holder, { maxLength: 128, separator: "-" });
      rules[kind] = new CfnInsightRule(holder, "Resource", { ruleName: name, ruleState: "ENABLED", ruleBody: stack.toJsonString(bodies[kind]) });
      ruleNames[kind] = name;
    }
    this.rules = rules;
    this.ruleNames = ruleNames;

    const perCluster = (name: string, rule: RuleKind, description: string) => {
      const alarm = new Alarm(this, name, {
        metric: new MathExpression({ expression: insightRuleMetric(ruleNames[rule]), period: Duration.minutes(5), label: `${name}: clusters`, usingMetrics: {} }),
        threshold: 1,
        evaluationPeriods: windowPeriods,
        datapointsToAlarm: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarm.node.addDependency(rules[rule]); // the rule exists before an alarm reads its metric
      return alarm;
    };
    const simple = (name: string, metric: IMetric, threshold: number, description: string, opts: { below?: boolean; periods?: number } = {}) => {
      const alarm = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: opts.periods ?? 1,
        comparisonOperator: opts.below ? ComparisonOperator.LESS_THAN_THRESHOLD : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: opts.below ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      return alarm;
    };
    const t = this.thresholds;
    const tickPeriods = Math.max(2, Math.ceil((3 * (props.tickRate ?? Duration.minutes(1)).toMinutes()) / 5));
    this.alarms = {
      diverged: perCluster("ClusterDiverged", "diverged", `Clusters OutOfSync for ${t.divergedMinutes} minutes without interruption (one contributor per cluster; the notification names them)`),
      failing: perCluster("ReconcileFailing", "failing", `Clusters whose reconciles fail (Error or Unknown) for ${t.failingMinutes} minutes in a row`),
      stale: perCluster("ClusterStale", "stale", `Clusters without a successful reconcile for ${t.staleIntervals} of their intervals`),
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
      tickStopped: simple(
        "TickStopped",
        new MathExpression({
          expression: "FILL(invocations, 0) - FILL(errors, 0)",
          usingMetrics: { invocations: props.tick.metricInvocations({ statistic: "Sum" }), errors: props.tick.metricErrors({ statistic: "Sum" }) },
          period: Duration.minutes(5),
          label: "successful ticks",
        }),
        1,
        `No successful tick for ${tickPeriods * 5} minutes: nothing is reconciled on schedule and stale clusters are not reported`,
        { below: true, periods: tickPeriods },
      ),
    };
  }
}
