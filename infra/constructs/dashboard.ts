/**
 * The central view in CloudWatch. Which clusters are diverged, failing or stale: the top
 * contributors of the Contributor Insights rules (`./alarms.ts`), one line per cluster, new
 * clusters shown without a deploy. How many: the rules' unique contributors and the tick's fleet
 * counts. How the reconciles go: fleet duration and errors. With the opt-in per-cluster metrics,
 * also their Metrics Insights graphs (500 series at most each).
 *
 * The top-N widget is a metric widget with an `insightRule` property
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html);
 * CDK has no class for it, so `ContributorsWidget` renders it. Limits: 500 widgets per dashboard,
 * 500 metrics per widget, 2,500 per dashboard
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html); this
 * one uses about 20. $3 a month (https://aws.amazon.com/cloudwatch/pricing/).
 */
import { Aws, Duration } from "aws-cdk-lib";
import { type Alarm, AlarmStatusWidget, ConcreteWidget, Dashboard, GraphWidget, MathExpression, Metric } from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { METRIC, METRIC_NAMESPACE } from "../../shared/metrics/emf.js";
import { type ConvergeAlarms, insightRuleMetric, perClusterQuery, type RuleKind } from "./alarms.js";

/** Contributors shown by a top-N widget (a dashboard shows at most 100). */
export const TOP_CONTRIBUTORS = 25;

/** A graph of a Contributor Insights rule's top contributors: one line per cluster. */
export class ContributorsWidget extends ConcreteWidget {
  constructor(private readonly props: { title: string; ruleName: string; top?: number; width?: number; height?: number; period?: Duration }) {
    super(props.width ?? 12, props.height ?? 6);
  }

  toJson(): unknown[] {
    return [
      {
        type: "metric",
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.props.title,
          region: Aws.REGION,
          view: "timeSeries",
          stacked: false,
          period: (this.props.period ?? Duration.minutes(5)).toSeconds(),
          legend: { position: "right" },
          insightRule: { maxContributorCount: Math.min(100, this.props.top ?? TOP_CONTRIBUTORS), orderBy: "Sum", ruleName: this.props.ruleName },
        },
      },
    ];
  }
}

/** A fleet metric (dimension `service` only). */
function fleet(metricName: string, statistic: string, label: string): Metric {
  return new Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap: { service: "converge" }, statistic, period: Duration.minutes(5), label });
}

/** A graph of a per-cluster Metrics Insights query (opt-in per-cluster metrics). */
function perClusterGraph(title: string, query: string): GraphWidget {
  return new GraphWidget({ title, width: 12, left: [new MathExpression({ expression: query, period: Duration.minutes(5), label: "", usingMetrics: {} })] });
}

export interface DashboardProps {
  alarms: ConvergeAlarms;
  /** More alarms for the status widget (e.g. the notify function's). */
  extraAlarms?: Alarm[];
  /** The per-cluster EMF metrics are on: add their graphs. */
  perClusterMetrics?: boolean;
}

/** The Converge dashboard. */
export class ConvergeDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { alarms } = props;
    const t = alarms.thresholds;
    const rule = (kind: RuleKind) => alarms.ruleNames[kind];
    const contributors = (kind: RuleKind, label: string) => new MathExpression({ expression: insightRuleMetric(rule(kind)), period: Duration.minutes(5), label, usingMetrics: {} });
    this.dashboard = new Dashboard(this, "Dashboard");
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: "Alarms", alarms: [...Object.values(alarms.alarms), ...(props.extraAlarms ?? [])], width: 24 }));
    this.dashboard.addWidgets(
      new ContributorsWidget({ title: "Clusters OutOfSync (reconciles per 5 minutes, one line per cluster)", ruleName: rule("outOfSync") }),
      new ContributorsWidget({ title: `Clusters diverged ${t.divergedMinutes}+ minutes (ClusterDiverged)`, ruleName: rule("diverged") }),
    );
    this.dashboard.addWidgets(
      new ContributorsWidget({ title: `Clusters failing ${t.failingMinutes}+ minutes (ReconcileFailing)`, ruleName: rule("failing") }),
      new ContributorsWidget({ title: `Clusters stale ${t.staleIntervals}+ intervals (ClusterStale)`, ruleName: rule("stale") }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Clusters per state (distinct clusters per 5 minutes)",
        width: 12,
        left: [contributors("outOfSync", "OutOfSync"), contributors("diverged", "diverged"), contributors("failing", "failing"), contributors("stale", "stale")],
      }),
      new GraphWidget({
        title: "Clusters found at their due time (tick; per 5 minutes = fleet count at 5-minute intervals)",
        width: 12,
        left: [
          fleet(METRIC.clustersDue, "Sum", "due"),
          fleet(METRIC.clustersOutOfSync, "Sum", "OutOfSync"),
          fleet(METRIC.clustersError, "Sum", "Error"),
          fleet(METRIC.clustersUnknown, "Sum", "Unknown"),
          fleet(METRIC.clustersStale, "Sum", "stale"),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Reconcile duration (ms)",
        width: 12,
        left: [fleet(METRIC.duration, "p50", "p50"), fleet(METRIC.duration, "p99", "p99"), fleet(METRIC.duration, "Maximum", "max")],
      }),
      new GraphWidget({
        title: "Reconciles, failed reconciles; stalest due cluster (intervals)",
        width: 12,
        left: [fleet(METRIC.duration, "SampleCount", "reconciles"), fleet(METRIC.errors, "Sum", "failed (Error / Unknown)")],
        right: [fleet(METRIC.staleIntervals, "Maximum", "stalest due cluster")],
      }),
    );
    if (props.perClusterMetrics) {
      this.dashboard.addWidgets(
        perClusterGraph("Per cluster: out of sync (1 = OutOfSync)", perClusterQuery("MAX", METRIC.outOfSync)),
        perClusterGraph("Per cluster: drifted resources", perClusterQuery("MAX", METRIC.drifted)),
      );
      this.dashboard.addWidgets(
        perClusterGraph("Per cluster: health (0 Healthy .. 4 Degraded, 5 Unknown)", perClusterQuery("MAX", METRIC.health)),
        perClusterGraph("Per cluster: reconcile errors", perClusterQuery("SUM", METRIC.errors)),
      );
    }
  }
}
