/**
 * The notify function: subscribed to the topic every alarm notifies; for each state change it
 * publishes to the topic people subscribe to a message naming the clusters in the alarm's state
 * (`shared/notify/`). Every `DIGEST_MINUTES` a schedule runs its digest: the clusters that
 * entered the state of an alarm already in ALARM (DescribeAlarms on the three per-cluster
 * alarms). It reads the clusters table (a filtered Scan, only for a per-cluster alarm in ALARM;
 * its cost is stated in shared/notify/read.ts) and the named clusters' drift states from the
 * snapshots table, and publishes to one topic; nothing else. If it fails, the `NotifyFailures`
 * alarm tells the subscribers directly.
 */
import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Alarm, ComparisonOperator, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { DIGEST_MINUTES } from "../../shared/notify/digest.js";
import { ALARM_NAME_ENV } from "../../shared/notify/notify.js";
import type { ConvergeAlarms } from "./alarms.js";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";

export interface NotifyProps {
  tables: ConvergeTables;
  alarms: ConvergeAlarms;
  /** Clusters named per message (default 20; the rest are counted: "and N more"). */
  cap?: number;
  /** Address of the web view: each cluster named links to its page (default: the message says `converge ui`). */
  uiUrl?: string;
}

/** Notify function, its subscription and the alarm on its failures. */
export class Notify extends Construct {
  readonly fn: NodejsFunction;
  readonly failures: Alarm;

  constructor(scope: Construct, id: string, props: NotifyProps) {
    super(scope, id);
    const { alarms } = props;
    const t = alarms.thresholds;
    this.fn = convergeFunction(this, "Function", "notify", {
      timeout: Duration.minutes(1),
      environment: {
        ...props.tables.environment(),
        CONVERGE_NOTIFY_TOPIC_ARN: alarms.topic.topicArn,
        [ALARM_NAME_ENV.diverged]: alarms.alarms.diverged.alarmName,
        [ALARM_NAME_ENV.failing]: alarms.alarms.failing.alarmName,
        [ALARM_NAME_ENV.stale]: alarms.alarms.stale.alarmName,
        CONVERGE_DIVERGED_MINUTES: String(t.divergedMinutes),
        CONVERGE_FAILING_MINUTES: String(t.failingMinutes),
        CONVERGE_STALE_INTERVALS: String(t.staleIntervals),
        CONVERGE_NOTIFY_CAP: String(props.cap ?? 20),
        ...(props.uiUrl ? { CONVERGE_UI_URL: props.uiUrl } : {}),
      },
    });
    props.tables.tables.clusters.grantReadData(this.fn);
    props.tables.tables.snapshots.grantReadData(this.fn);
    const perCluster = [alarms.alarms.diverged, alarms.alarms.failing, alarms.alarms.stale];
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ["cloudwatch:DescribeAlarms"], resources: perCluster.map((a) => a.alarmArn) }));
    new Rule(this, "Digest", {
      description: "The notify function's digest: clusters that entered the state of an alarm already in ALARM",
      schedule: Schedule.rate(Duration.minutes(DIGEST_MINUTES)),
      targets: [new LambdaFunction(this.fn, { retryAttempts: 2 })],
    });
    alarms.topic.grantPublish(this.fn);
    alarms.actionTopic.addSubscription(new LambdaSubscription(this.fn));
    // the notify function is the path of every other alarm: its own failures go to the subscribers directly
    this.failures = new Alarm(this, "NotifyFailures", {
      metric: this.fn.metricErrors({ statistic: "Sum", period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: "The notify function failed: alarm notifications may not reach the subscribers (see its logs)",
    });
    this.failures.addAlarmAction(new SnsAction(alarms.topic));
  }
}
