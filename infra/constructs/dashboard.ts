/**
 * The central view in CloudWatch: clusters out of sync, drift over time, health, errors and
 * reconcile duration, all Metrics Insights queries over every cluster (new clusters appear
 * without a deploy).
 */
import { Duration } from "aws-cdk-lib";
import { AlarmStatusWidget, Dashboard, GraphWidget, MathExpression, type Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { METRIC } from "../../shared/metrics/emf.js";
import { perClusterQuery } from "./alarms.js";

/** A graph of a per-cluster Metrics Insights query. */
function graph(title: string, query: string): GraphWidget {
  return new GraphWidget({ title, width: 12, left: [new MathExpression({ expression: query, period: Duration.minutes(5), label: "", usingMetrics: {} })] });
}

/** The Converge dashboard. */
export class ConvergeDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: { alarms: Alarm[] }) {
    super(scope, id);
    this.dashboard = new Dashboard(this, "Dashboard");
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: "Alarms", alarms: props.alarms, width: 24 }));
    this.dashboard.addWidgets(graph("Clusters out of sync (1 = OutOfSync)", perClusterQuery("MAX", METRIC.outOfSync)), graph("Drifted resources per cluster", perClusterQuery("MAX", METRIC.drifted)));
    this.dashboard.addWidgets(graph("Health (0 Healthy .. 4 Degraded, 5 Unknown)", perClusterQuery("MAX", METRIC.health)), graph("Reconcile errors", perClusterQuery("SUM", METRIC.errors)));
    this.dashboard.addWidgets(
      graph("Reconcile duration (ms)", perClusterQuery("MAX", METRIC.duration)),
      graph("Intervals since the last successful reconcile", perClusterQuery("MAX", METRIC.staleIntervals)),
    );
  }
}
