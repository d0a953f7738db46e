/**
 * The alarm side of the synthesized template (offline, bundling skipped: only the template is
 * read): no per-cluster custom metric by default; four Contributor Insights rules keyed on the
 * cluster with the filters of shared/metrics/signals.ts over the reconcile's and the tick's log
 * groups; one alarm per per-cluster rule on INSIGHT_RULE_METRIC; every alarm notifies the notify
 * function, which alone publishes to the topic people subscribe to; the dashboard lists the
 * rules' top contributors; the cost constants of shared/metrics/cost.ts match what is deployed;
 * the per-cluster metrics come back only when asked for.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ConvergeStack } from "../../infra/converge-stack.js";
import { ALARM_COST, alarmMonthlyCost, fixedMonthlyCost } from "../../shared/metrics/cost.js";
import { FLEET_METRICS, METRIC_NAMESPACE, PER_CLUSTER_METRICS_ENV, publishReconcileMetrics, publishTickSignals } from "../../shared/metrics/emf.js";
import type { InsightRuleBody } from "../../shared/metrics/insight-rule.js";
import { ALARM_NAME_ENV } from "../../shared/notify/notify.js";

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
type Json = { Resources: Record<string, Resource> };

/** The template of a ConvergeStack with `props`, functions not bundled (the template is what is checked). */
function synth(props: Record<string, unknown> = {}): Json {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  return Template.fromStack(new ConvergeStack(app, "Converge", props)).toJSON() as Json;
}

/** A CloudFormation string value with its `Ref`s written as `<Ref:LogicalId>`. */
function resolve(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as Record<string, unknown>;
  if (o.Ref) return `<Ref:${o.Ref as string}>`;
  if (o["Fn::Join"]) {
    const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
    return parts.map(resolve).join(sep);
  }
  if (o["Fn::GetAtt"]) return `<GetAtt:${(o["Fn::GetAtt"] as string[]).join(".")}>`;
  throw new Error(`cannot resolve ${JSON.stringify(v)}`);
}

let json: Json;
const ofType = (t: string, j = json) => Object.entries(j.Resources).filter(([, r]) => r.Type === t);
const vars = (r: Resource) => ((r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
const fnBy = (pred: (v: Record<string, unknown>) => boolean, j = json) => ofType("AWS::Lambda::Function", j).find(([, r]) => pred(vars(r)));
const rulesOf = (j = json) =>
  Object.fromEntries(ofType("AWS::CloudWatch::InsightRule", j).map(([id, r]) => [id, { name: r.Properties.RuleName as string, body: JSON.parse(resolve(r.Properties.RuleBody)) as InsightRuleBody }]));
const topicId = (pred: (t: Resource) => boolean) => ofType("AWS::SNS::Topic").find(([, t]) => pred(t))![0];
const ruleNamed = (kind: string, j = json) => Object.entries(rulesOf(j)).find(([id]) => id.includes(`${kind}Rule`))![1];

before(() => {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"]) delete process.env[k];
  json = synth();
});

/** The JSON lines `fn` writes to stdout; anything else (the test runner's own messages) is passed through. */
function stdout(fn: () => void): string[] {
  const original = process.stdout.write.bind(process.stdout);
  const chunks: string[] = [];
  process.stdout.write = ((c: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof c === "string" ? c : Buffer.from(c).toString("utf8");
    if (!text.startsWith("{")) return (original as (...a: unknown[]) => boolean)(c, ...rest);
    chunks.push(text);
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return chunks
    .join("")
    .split("\n")
    .filter((l) => l.startsWith("{"));
}

test("by default no per-cluster custom metric: no Metrics Insights GROUP BY Cluster alarm or graph, no Cluster dimension, per-cluster EMF off", () => {
  const alarms = JSON.stringify(ofType("AWS::CloudWatch::Alarm"));
  assert.doesNotMatch(alarms, /GROUP BY|SCHEMA\(/, "no Metrics Insights alarm");
  assert.doesNotMatch(alarms, /"Name":"Cluster"/, "no alarm on a Cluster dimension");
  const [[, dashboard]] = ofType("AWS::CloudWatch::Dashboard") as [[string, Resource]];
  const body = resolve(dashboard.Properties.DashboardBody);
  assert.doesNotMatch(body, /GROUP BY|"Cluster"/, "no per-cluster graph");
  for (const part of ["ReconcileFunction", "TickFunction"]) {
    const [id, fn] = ofType("AWS::Lambda::Function").find(([id]) => id.includes(part))!;
    assert.equal(vars(fn)[PER_CLUSTER_METRICS_ENV], "false", `${id} writes fleet metrics only`);
  }
  // what the reconcile and the tick then write: EMF with the dimension `service` only
  delete process.env[PER_CLUSTER_METRICS_ENV];
  const docs = stdout(() => {
    publishReconcileMetrics({ cluster: "prod-1", drifted: 2, missing: 0, outOfSync: true, error: false, durationMs: 812, staleIntervals: 0 });
    publishTickSignals(
      [{ name: "prod-1", createdAt: new Date(0).toISOString(), spec: { intervalSeconds: 300 }, status: { sync: "OutOfSync", lastSuccessAt: new Date(Date.now() - 600_000).toISOString() } }],
      Date.now(),
      { log: { info() {} } },
    );
  }).map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } });
  assert.equal(docs.length, 2);
  for (const d of docs) {
    for (const m of d._aws.CloudWatchMetrics) {
      assert.equal(m.Namespace, METRIC_NAMESPACE);
      assert.deepEqual(m.Dimensions, [["service"]]);
      for (const x of m.Metrics) assert.ok((FLEET_METRICS as readonly string[]).includes(x.Name), `${x.Name} is a fleet metric`);
    }
  }
});

test("four Contributor Insights rules keyed on $.cluster, over the reconcile's and the tick's log groups, with the signal filters", () => {
  const rules = rulesOf();
  assert.equal(Object.keys(rules).length, 4);
  const logGroupOf = (fnIdPart: string) => {
    const [, fn] = ofType("AWS::Lambda::Function").find(([id]) => id.includes(fnIdPart))!;
    return `<Ref:${(fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref}>`;
  };
  const reconcileLogs = logGroupOf("ReconcileFunction");
  const tickLogs = logGroupOf("TickFunction");
  for (const { body, name } of Object.values(rules)) {
    assert.deepEqual(body.Schema, { Name: "CloudWatchLogRule", Version: 1 });
    assert.equal(body.LogFormat, "JSON");
    assert.equal(body.AggregateOn, "Count");
    assert.deepEqual(body.Contribution.Keys, ["$.cluster"]);
    assert.match(name, /^[A-Za-z0-9._-]{1,128}$/, "a valid rule name");
  }
  const reconciled = { Match: "$.message", In: ["reconciled"] };
  assert.deepEqual(ruleNamed("OutOfSync").body.LogGroupNames, [reconcileLogs]);
  assert.deepEqual(ruleNamed("OutOfSync").body.Contribution.Filters, [reconciled, { Match: "$.sync", In: ["OutOfSync"] }]);
  assert.deepEqual(ruleNamed("Diverged").body.LogGroupNames, [reconcileLogs]);
  assert.deepEqual(ruleNamed("Diverged").body.Contribution.Filters, [reconciled, { Match: "$.sync", In: ["OutOfSync"] }, { Match: "$.divergedMinutes", GreaterThan: 14 }]);
  assert.deepEqual(ruleNamed("Failing").body.LogGroupNames, [reconcileLogs]);
  assert.deepEqual(ruleNamed("Failing").body.Contribution.Filters, [reconciled, { Match: "$.sync", In: ["Error", "Unknown"] }, { Match: "$.failingMinutes", GreaterThan: 14 }]);
  assert.deepEqual(ruleNamed("Stale").body.LogGroupNames, [tickLogs]);
  assert.deepEqual(ruleNamed("Stale").body.Contribution.Filters, [
    { Match: "$.message", In: ["stale"] },
    { Match: "$.staleIntervals", GreaterThan: 2 },
  ]);
  for (const [, r] of ofType("AWS::CloudWatch::InsightRule")) assert.equal(r.Properties.RuleState, "ENABLED");
});

test("one alarm per per-cluster rule on INSIGHT_RULE_METRIC(rule, UniqueContributors) >= 1; every alarm goes through the notify function", () => {
  const alarms = ofType("AWS::CloudWatch::Alarm");
  const actionTopicId = topicId((t) => /state changes/.test(String(t.Properties.DisplayName)));
  const userTopicId = topicId((t) => t.Properties.DisplayName === "Converge alarms");
  assert.equal(ofType("AWS::SNS::Topic").length, 2);
  for (const kind of ["Diverged", "Failing", "Stale"]) {
    const rule = ruleNamed(kind);
    const on = alarms.filter(([, a]) => JSON.stringify(a.Properties.Metrics ?? "").includes(`INSIGHT_RULE_METRIC('${rule.name}', 'UniqueContributors')`));
    assert.equal(on.length, 1, `one alarm on the ${kind} rule`);
    const p = on[0]![1].Properties;
    assert.equal(p.Threshold, 1);
    assert.equal(p.ComparisonOperator, "GreaterThanOrEqualToThreshold");
    assert.equal(p.DatapointsToAlarm, 1, "a matching line proves the whole duration");
    assert.equal(p.EvaluationPeriods, 3, "held 15 minutes after the last matching line");
    assert.equal(p.TreatMissingData, "notBreaching");
    assert.deepEqual(p.AlarmActions, [{ Ref: actionTopicId }]);
    assert.deepEqual(p.OKActions, [{ Ref: actionTopicId }]);
    const [ruleId] = ofType("AWS::CloudWatch::InsightRule").find(([id]) => id.includes(`${kind}Rule`))!;
    assert.ok(on[0]![1].DependsOn?.includes(ruleId), "created after its rule");
  }
  assert.equal(alarms.filter(([, a]) => JSON.stringify(a.Properties.Metrics ?? "").includes("INSIGHT_RULE_METRIC")).length, 3, "the out-of-sync rule feeds the dashboard only");
  for (const [id, a] of alarms) {
    const actions = a.Properties.AlarmActions as { Ref: string }[];
    if (id.includes("NotifyFailures")) assert.deepEqual(actions, [{ Ref: userTopicId }], "the notify function's own failures reach the subscribers directly");
    else assert.deepEqual(actions, [{ Ref: actionTopicId }], `${id} notifies the notify function`);
  }
  assert.ok(
    alarms.some(([id, a]) => id.includes("TickStopped") && a.Properties.ComparisonOperator === "LessThanThreshold" && a.Properties.TreatMissingData === "breaching"),
    "no successful tick alarms (stale clusters are reported by the tick)",
  );
});

test("the notify function: subscribed to the alarms' topic, reads the clusters table, publishes only to the subscribers' topic", () => {
  const [notifyId, notify] = fnBy((v) => v.CONVERGE_NOTIFY_TOPIC_ARN !== undefined)!;
  const v = vars(notify);
  const userTopicId = topicId((t) => t.Properties.DisplayName === "Converge alarms");
  const actionTopicId = topicId((t) => /state changes/.test(String(t.Properties.DisplayName)));
  assert.deepEqual(v.CONVERGE_NOTIFY_TOPIC_ARN, { Ref: userTopicId });
  const alarmIds = Object.values(ALARM_NAME_ENV).map((e) => (v[e] as { Ref: string }).Ref);
  assert.deepEqual(
    alarmIds.map((id) => json.Resources[id]!.Type),
    ["AWS::CloudWatch::Alarm", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Alarm"],
  );
  assert.deepEqual([v.CONVERGE_DIVERGED_MINUTES, v.CONVERGE_FAILING_MINUTES, v.CONVERGE_STALE_INTERVALS], ["15", "15", "3"]);
  assert.equal(notify.Properties.Runtime, "nodejs22.x");
  const subs = ofType("AWS::SNS::Subscription");
  assert.equal(subs.length, 1);
  assert.deepEqual(subs[0]![1].Properties, { Protocol: "lambda", TopicArn: { Ref: actionTopicId }, Endpoint: { "Fn::GetAtt": [notifyId, "Arn"] } });
  assert.ok(
    ofType("AWS::Lambda::Permission").some(([, p]) => p.Properties.Principal === "sns.amazonaws.com" && JSON.stringify(p.Properties.SourceArn) === JSON.stringify({ Ref: actionTopicId })),
    "SNS may invoke it",
  );
  const roleId = (notify.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0]!;
  const statements = ofType("AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
  const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action));
  assert.ok(actions.includes("dynamodb:Scan") && actions.includes("dynamodb:GetItem"), "reads the clusters table");
  assert.deepEqual(
    actions.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
    [],
    "writes nothing",
  );
  const [clustersId] = ofType("AWS::DynamoDB::Table").find(([, t]) => JSON.stringify(t.Properties.KeySchema) === JSON.stringify([{ AttributeName: "name", KeyType: "HASH" }]))!;
  const [snapshotsId] = ofType("AWS::DynamoDB::Table").find(([id]) => id.includes("Snapshots"))!;
  for (const s of statements.filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith("dynamodb:")))) {
    assert.match(JSON.stringify(s.Resource), new RegExp(`${clustersId}|${snapshotsId}`), "only the clusters table, and the snapshots table for the drifted resources");
  }
  // the digest: DescribeAlarms on the three per-cluster alarms only, on a 5-minute schedule
  const describe = statements.filter((s) => ([] as string[]).concat(s.Action).includes("cloudwatch:DescribeAlarms"));
  assert.deepEqual(
    describe.flatMap((s) => s.Resource as { "Fn::GetAtt": string[] }[]).map((r) => r["Fn::GetAtt"][0]),
    alarmIds,
  );
  const schedules = ofType("AWS::Events::Rule").filter(([, r]) => JSON.stringify(r.Properties.Targets).includes(notifyId));
  assert.equal(schedules.length, 1);
  assert.equal(schedules[0]![1].Properties.ScheduleExpression, "rate(5 minutes)");
  const publish = statements.filter((s) => ([] as string[]).concat(s.Action).includes("sns:Publish"));
  assert.deepEqual(
    publish.map((s) => s.Resource),
    [{ Ref: userTopicId }],
  );
});

test("the dashboard lists the clusters of each rule (top contributors) and graphs the fleet metrics", () => {
  const [[, dashboard]] = ofType("AWS::CloudWatch::Dashboard") as [[string, Resource]];
  const body = JSON.parse(resolve(dashboard.Properties.DashboardBody).replace(/<Ref:AWS::Region>/g, "us-east-1")) as {
    widgets: { type: string; properties: { insightRule?: { ruleName: string; maxContributorCount: number; orderBy: string }; metrics?: unknown[][] } }[];
  };
  const lists = body.widgets.flatMap((w) => (w.properties.insightRule ? [w.properties.insightRule] : []));
  assert.deepEqual(
    lists.map((l) => l.ruleName).sort(),
    Object.values(rulesOf())
      .map((r) => r.name)
      .sort(),
    "one top-N list per rule",
  );
  for (const l of lists) {
    assert.ok(l.maxContributorCount >= 10 && l.maxContributorCount <= 100);
    assert.equal(l.orderBy, "Sum");
  }
  const metricNames = body.widgets.flatMap((w) => (w.properties.metrics ?? []).flatMap((m) => (m[0] === METRIC_NAMESPACE ? [m[1] as string] : [])));
  assert.ok(metricNames.length > 0);
  for (const n of metricNames) assert.ok((FLEET_METRICS as readonly string[]).includes(n), `${n} is a fleet metric`);
});

test("shared/metrics/cost.ts matches the template: rules, alarm metrics, dashboards, fleet metrics; at most $30 a month at 1,000 clusters", () => {
  assert.equal(ofType("AWS::CloudWatch::InsightRule").length, ALARM_COST.insightRules);
  assert.equal(ofType("AWS::CloudWatch::Dashboard").length, ALARM_COST.dashboards);
  const alarmMetrics = ofType("AWS::CloudWatch::Alarm")
    .map(([, a]) => {
      if (a.Properties.MetricName) return 1;
      const ms = a.Properties.Metrics as { MetricStat?: unknown; Expression?: string }[];
      return ms.filter((m) => m.MetricStat).length + ms.filter((m) => m.Expression?.includes("INSIGHT_RULE_METRIC")).length;
    })
    .reduce((a, b) => a + b, 0);
  assert.equal(alarmMetrics, ALARM_COST.alarmMetrics);
  const filters = ofType("AWS::Logs::MetricFilter");
  assert.equal(ALARM_COST.customMetrics, FLEET_METRICS.length + filters.length, "the fleet metrics and one metric per metric filter");
  assert.ok(Math.abs(fixedMonthlyCost() - 9.2) < 1e-9, String(fixedMonthlyCost()));
  const k1 = alarmMonthlyCost({ clusters: 1_000 });
  const k10 = alarmMonthlyCost({ clusters: 10_000 });
  assert.ok(k1.total <= 30, `1,000 clusters, worst case: $${k1.total.toFixed(2)}`);
  assert.ok(k10.total <= 30, `10,000 clusters, worst case: $${k10.total.toFixed(2)}`);
  console.log(`alarm side, every reconcile unhealthy (worst case): 1,000 clusters $${k1.total.toFixed(2)}/month, 10,000 $${k10.total.toFixed(2)}/month; fixed $${fixedMonthlyCost().toFixed(2)}`);
});

test("options: thresholds reach the rules and the notify function; per-cluster metrics only when asked; invalid thresholds refused", () => {
  const custom = synth({ divergedMinutes: 30, staleIntervals: 4, perClusterMetrics: true });
  assert.deepEqual(ruleNamed("Diverged", custom).body.Contribution.Filters?.at(-1), { Match: "$.divergedMinutes", GreaterThan: 29 });
  assert.deepEqual(ruleNamed("Stale", custom).body.Contribution.Filters?.at(-1), { Match: "$.staleIntervals", GreaterThan: 3 });
  const [, notify] = fnBy((v) => v.CONVERGE_NOTIFY_TOPIC_ARN !== undefined, custom)!;
  assert.equal(vars(notify).CONVERGE_DIVERGED_MINUTES, "30");
  assert.equal(vars(notify).CONVERGE_STALE_INTERVALS, "4");
  const [, tick] = ofType("AWS::Lambda::Function", custom).find(([id]) => id.includes("Tick"))!;
  assert.equal(vars(tick)[PER_CLUSTER_METRICS_ENV], "true");
  assert.equal(vars(tick).CONVERGE_STALE_INTERVALS, "4");
  const [[, dashboard]] = ofType("AWS::CloudWatch::Dashboard", custom) as [[string, Resource]];
  assert.match(resolve(dashboard.Properties.DashboardBody), /GROUP BY Cluster/, "the per-cluster graphs come back");
  assert.doesNotMatch(JSON.stringify(ofType("AWS::CloudWatch::Alarm", custom)), /GROUP BY/, "the alarms stay on the rules");
  assert.throws(() => synth({ staleIntervals: 1 }), /staleIntervals must be a whole number of at least 2/);
  assert.throws(() => synth({ divergedMinutes: 2.5 }), /divergedMinutes must be a whole number/);
});
