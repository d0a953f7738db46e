/**
 * The CDK app synthesized offline (no AWS credentials; functions bundled by local esbuild),
 * asserted on its CloudFormation template.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { ConvergeStack } from "../../infra/converge-stack.js";
import { TABLES } from "../../shared/store/schema.js";
import { RECONCILE_TIMEOUT } from "../../infra/constructs/reconcile.js";
import { functionNames, NODE_OPTIONS } from "../../infra/bundling.js";

let template: Template;
let json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

before(() => {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"]) delete process.env[k];
  const app = new App();
  template = Template.fromStack(new ConvergeStack(app, "Converge"));
  json = template.toJSON() as typeof json;
});

const ofType = (t: string) => Object.values(json.Resources).filter((r) => r.Type === t);

test("the five tables follow shared/store/schema.ts: keys, indexes, TTL, on-demand, PITR, retained", () => {
  const tables = ofType("AWS::DynamoDB::Table");
  assert.equal(tables.length, Object.keys(TABLES).length);
  assert.equal(tables.length, 5);
  for (const spec of Object.values(TABLES)) {
    const keys = [{ AttributeName: spec.partitionKey.name, KeyType: "HASH" }, ...(spec.sortKey ? [{ AttributeName: spec.sortKey.name, KeyType: "RANGE" }] : [])];
    const match = tables.filter(
      (t) =>
        JSON.stringify(t.Properties.KeySchema) === JSON.stringify(keys) &&
        ((t.Properties.GlobalSecondaryIndexes as unknown[] | undefined)?.length ?? 0) === spec.indexes.length &&
        (t.Properties.TimeToLiveSpecification as { AttributeName?: string } | undefined)?.AttributeName === spec.ttlAttribute,
    );
    assert.equal(match.length, 1, `one table keyed ${JSON.stringify(keys)} with ${spec.indexes.length} indexes`);
    const p = match[0]!.Properties;
    assert.equal(p.BillingMode, "PAY_PER_REQUEST");
    assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    if (spec.ttlAttribute) assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: spec.ttlAttribute, Enabled: true });
    const gsis = (p.GlobalSecondaryIndexes ?? []) as { IndexName: string; KeySchema: { AttributeName: string }[]; Projection: { ProjectionType: string } }[];
    for (const i of spec.indexes) {
      const g = gsis.find((x) => x.IndexName === i.name);
      assert.ok(g, `index ${i.name}`);
      assert.deepEqual(
        g.KeySchema.map((k) => k.AttributeName),
        [i.partitionKey.name, ...(i.sortKey ? [i.sortKey.name] : [])],
      );
      assert.equal(g.Projection.ProjectionType, i.projection?.type ?? "ALL", `projection of ${i.name}`);
    }
  }
  template.allResources("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" });
});

test("the FIFO queue: explicit dedup ids, a FIFO DLQ after 5 receives, visibility 6x the reconcile timeout; the standard resume and image queues with their DLQs", () => {
  template.hasResourceProperties("AWS::SQS::Queue", {
    FifoQueue: true,
    ContentBasedDeduplication: false,
    VisibilityTimeout: RECONCILE_TIMEOUT.toSeconds() * 6,
    RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
  });
  template.hasResourceProperties("AWS::SQS::Queue", { FifoQueue: Match.absent(), RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() } });
  // the image queue and its DLQ: test/infra/images.test.ts
  template.resourceCountIs("AWS::SQS::Queue", 6);
});

test("the functions on nodejs22.x with their configuration; reconcile reports batch item failures; resume only forwards to the FIFO queue; image-receive only enqueues", () => {
  const all = ofType("AWS::Lambda::Function").filter((f) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME === "converge");
  const varsOf = (f: (typeof all)[number]) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const resume = all.find((f) => !varsOf(f).CONVERGE_CLUSTERS_TABLE && varsOf(f).CONVERGE_QUEUE_URL);
  assert.ok(resume, "the resume function knows the FIFO queue and no table");
  const receive = all.find((f) => varsOf(f).CONVERGE_REGISTRY_TOKEN_SECRET_ARN);
  assert.ok(receive && !varsOf(receive).CONVERGE_CLUSTERS_TABLE && varsOf(receive).CONVERGE_IMAGE_QUEUE_URL, "the image-receive function knows the image queue and no table");
  assert.equal(receive.Properties.Runtime, "nodejs22.x");
  const fns = all.filter((f) => f !== resume && f !== receive);
  assert.ok(fns.length >= 5, "webhook, tick, reconcile, api, images");
  for (const f of fns) {
    assert.equal(f.Properties.Runtime, "nodejs22.x");
    const vars = (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const v of ["CONVERGE_CLUSTERS_TABLE", "CONVERGE_SNAPSHOTS_TABLE", "CONVERGE_EVENTS_TABLE", "CONVERGE_DELIVERIES_TABLE", "CONVERGE_OPERATIONS_TABLE"]) assert.ok(vars[v], v);
    assert.deepEqual(f.Properties.TracingConfig, { Mode: "Active" });
  }
  const reconcile = fns.find((f) => f.Properties.Timeout === RECONCILE_TIMEOUT.toSeconds() && varsOf(f).CONVERGE_RESUME_QUEUE_URL);
  assert.ok(reconcile, "the reconcile function");
  assert.deepEqual(reconcile.Properties.Architectures, ["x86_64"], "matches the x86_64 kubectl layer");
  assert.equal((reconcile.Properties.Layers as unknown[]).length, 1);
  assert.deepEqual(reconcile.Properties.EphemeralStorage, { Size: 2048 });
  assert.ok(varsOf(reconcile).CONVERGE_RESUME_QUEUE_URL, "the reconcile sends delayed resumptions");
  template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { BatchSize: 10, FunctionResponseTypes: ["ReportBatchItemFailures"] });
  const webhook = fns.find((f) => (f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.CONVERGE_WEBHOOK_SECRET_ARN);
  assert.ok(webhook, "the webhook function reads its secret from Secrets Manager");
  assert.equal((webhook.Properties.Environment as { Variables: Record<string, unknown> }).Variables.CONVERGE_WEBHOOK_MAX_BYTES, String(2 * 1024 * 1024));
});

test("the webhook and image-receive have Function URLs, the tick and the image scan one-minute EventBridge Scheduler schedules", () => {
  template.resourceCountIs("AWS::Lambda::Url", 2);
  template.allResourcesProperties("AWS::Lambda::Url", { AuthType: "NONE" });
  template.resourceCountIs("AWS::Scheduler::Schedule", 2);
  template.allResourcesProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(1 minute)" });
  // the webhook secrets and the registries' token
  template.resourceCountIs("AWS::SecretsManager::Secret", 2);
});

test("the reconcile, webhook and images functions read Git tokens only from secrets named converge/*", () => {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
  }[];
  const readers = policies.filter((p) => p.Properties.PolicyDocument.Statement.some((s) => s.Action === "secretsmanager:GetSecretValue" && JSON.stringify(s.Resource).includes(":secret:converge/*")));
  assert.deepEqual(readers.flatMap((p) => p.Properties.Roles.map((r) => r.Ref.replace(/ServiceRole.*$/, ""))).sort(), [
    "ConvergeImageUpdatesFunction",
    "ConvergeReconcileFunction",
    "ConvergeWebhookFunction",
  ]);
});

test("per-cluster alarms are Contributor Insights rule alarms, no per-cluster metric (details: test/infra/alarms.test.ts); every alarm notifies through the notify function", () => {
  const alarms = ofType("AWS::CloudWatch::Alarm");
  assert.equal(alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? "").includes("GROUP BY")).length, 0, "no Metrics Insights alarm (500 series at most)");
  const rules = ofType("AWS::CloudWatch::InsightRule");
  assert.equal(rules.length, 4);
  for (const r of rules) assert.match(JSON.stringify(r.Properties.RuleBody), /Keys\\":\[\\"\$\.cluster\\"\]/, "keyed on the cluster");
  const onRules = alarms.filter((a) => JSON.stringify(a.Properties.Metrics ?? "").includes("INSIGHT_RULE_METRIC"));
  assert.equal(onRules.length, 3, "diverged, failing, stale");
  assert.ok(
    alarms.some((a) => a.Properties.MetricName === "ApproximateNumberOfMessagesVisible"),
    "DLQ alarm",
  );
  assert.ok(alarms.some((a) => a.Properties.MetricName === "Url4xxCount") && alarms.some((a) => a.Properties.MetricName === "Url5xxCount"), "webhook bursts");
  template.resourceCountIs("AWS::SNS::Topic", 2);
  for (const a of alarms) assert.equal((a.Properties.AlarmActions as unknown[]).length, 1, "notifies one topic");
  template.resourceCountIs("AWS::SNS::Subscription", 1);
  template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
});

test("another app can embed the Converge construct; EKS access entries per sync mode", async () => {
  const { Stack } = await import("aws-cdk-lib");
  const { Converge } = await import("../../infra/converge.js");
  const { ConvergeEksAccess } = await import("../../infra/constructs/eks-access.js");
  const stack = new Stack(new App(), "Embedding");
  const c = new Converge(stack, "Drift", { divergedMinutes: 30 });
  new ConvergeEksAccess(stack, "ProdDetect", { clusterName: "prod", role: c.reconcile.fn.role!, mode: "detect" });
  new ConvergeEksAccess(stack, "DevApply", { clusterName: "dev", role: c.reconcile.fn.role!, mode: "apply", namespaces: ["web"] });
  const t = Template.fromStack(stack);
  const entries = Object.values(
    t.toJSON().Resources as Record<string, { Type: string; Properties: { ClusterName: string; AccessPolicies: { PolicyArn: unknown; AccessScope: { Type: string } }[] } }>,
  ).filter((r) => r.Type === "AWS::EKS::AccessEntry");
  assert.deepEqual(
    entries.map((e) => [e.Properties.ClusterName, e.Properties.AccessPolicies.map((p) => `${JSON.stringify(p.PolicyArn).match(/AmazonEKS\w+Policy/)![0]}:${p.AccessScope.Type}`)]),
    [
      ["prod", ["AmazonEKSViewPolicy:cluster"]],
      ["dev", ["AmazonEKSViewPolicy:cluster", "AmazonEKSEditPolicy:namespace"]],
    ],
  );
  assert.throws(() => new ConvergeEksAccess(stack, "Bad", { clusterName: "x", role: c.reconcile.fn.role!, mode: "apply" }), /namespaces/);
});

test("the operations table: the reconcile function reads and writes it, the images function only writes it, the api function only reads it", () => {
  // the drift events table is keyed on `cluster` too: the operations table by its construct id
  const [id] = Object.entries(json.Resources).find(([k, r]) => r.Type === "AWS::DynamoDB::Table" && k.startsWith("ConvergeTablesOperations"))!;
  const fnOf = (p: { Properties: Record<string, unknown> }) => JSON.stringify(p.Properties.Roles);
  const grants = ofType("AWS::IAM::Policy").flatMap((p) =>
    (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement.filter((s) => JSON.stringify(s.Resource).includes(`"${id}"`)).map((s) => ({
      roles: fnOf(p),
      actions: ([] as string[]).concat(s.Action),
    })),
  );
  const writers = grants.filter((g) => g.actions.includes("dynamodb:PutItem"));
  const readers = grants.filter((g) => g.actions.includes("dynamodb:Query") && !g.actions.includes("dynamodb:PutItem"));
  assert.equal(writers.length, 2, "two writers");
  const [reconcile, images] = [/Reconcile/, /ImageUpdatesFunction/].map((r) => writers.find((w) => r.test(w.roles)));
  assert.ok(reconcile && images, JSON.stringify(writers));
  assert.ok(reconcile.actions.includes("dynamodb:ConditionCheckItem") || reconcile.actions.includes("dynamodb:UpdateItem"));
  assert.ok(!images.actions.includes("dynamodb:Query") && !images.actions.includes("dynamodb:GetItem"), "the image update records operations, never reads them");
  assert.equal(readers.length, 1, "one reader");
  assert.match(readers[0]!.roles, /Api/);
});

test("the query API requires IAM (SigV4) authorization on every route", () => {
  const routes = ofType("AWS::ApiGatewayV2::Route");
  assert.ok(routes.length >= 1);
  for (const r of routes) assert.equal(r.Properties.AuthorizationType, "AWS_IAM", String(r.Properties.RouteKey));
});

test("the reconcile function may describe EKS clusters and assume converge-* roles, nothing wider", () => {
  const statements = ofType("AWS::IAM::Policy").flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
  const describe = statements.find((s) => s.Action === "eks:DescribeCluster");
  assert.match(JSON.stringify(describe?.Resource), /:eks:\*:.*:cluster\/\*/);
  const assume = statements.find((s) => s.Action === "sts:AssumeRole");
  assert.match(JSON.stringify(assume?.Resource), /:iam::\*:role\/converge-\*/);
});

test("least privilege: no wildcard DynamoDB, SQS or Secrets Manager actions or resources", () => {
  for (const p of ofType("AWS::IAM::Policy")) {
    const statements = (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
    for (const s of statements) {
      const actions = ([] as string[]).concat(s.Action);
      for (const a of actions) assert.ok(!/^(dynamodb|sqs|secretsmanager):\*$/.test(a), `wildcard action ${a}`);
      if (actions.some((a) => /^(dynamodb|sqs|secretsmanager|eks|sts):/.test(a))) assert.ok(!([] as unknown[]).concat(s.Resource).includes("*"), `${actions.join(",")} on *`);
    }
  }
});

test("every function of functions/ ships its own bundle (infra/bundling.ts), index.handler, NODE_OPTIONS of infra/bundling.ts", () => {
  const fns = ofType("AWS::Lambda::Function").filter((f) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME === "converge");
  assert.equal(fns.length, functionNames().length, functionNames().join(", "));
  const keys = fns.map((f) => JSON.stringify((f.Properties.Code as { S3Key?: unknown }).S3Key));
  assert.equal(new Set(keys).size, fns.length, "one code asset per function");
  for (const f of fns) {
    assert.equal(f.Properties.Handler, "index.handler");
    assert.equal((f.Properties.Environment as { Variables: Record<string, unknown> }).Variables.NODE_OPTIONS, NODE_OPTIONS);
  }
});
