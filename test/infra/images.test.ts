/**
 * The image update's part of the synthesized template (infra/constructs/images.ts; offline,
 * bundling skipped: only the template is read): the Amazon ECR rule on the default bus and the
 * queue it targets, the queue's policy, batching and dead-letter queue, the scan schedule, the
 * receive function's URL and token secret, each function's IAM statements, the stack outputs,
 * and nothing of it with `imageUpdates: false`.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { ConvergeStack } from "../../infra/converge-stack.js";
import { IMAGE_BATCH, IMAGE_MAX_CONCURRENCY, IMAGES_TIMEOUT, SCAN_RATE } from "../../infra/constructs/images.js";
import { SCAN_PERIOD_MS } from "../../shared/images/scan.js";

type Resource = { Type: string; Properties: Record<string, unknown> };
type Json = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

function synth(props: Record<string, unknown> = {}): Json {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  return Template.fromStack(new ConvergeStack(app, "Converge", props)).toJSON() as Json;
}

let json: Json;
const ofType = (t: string, j = json) => Object.entries(j.Resources).filter(([, r]) => r.Type === t);
/** The one resource of type `t` whose logical id starts with `prefix`: [id, resource]. */
function one(t: string, prefix: string): [string, Resource] {
  const found = ofType(t).filter(([id]) => id.startsWith(prefix));
  assert.equal(found.length, 1, `one ${t} ${prefix}*: ${found.map(([id]) => id).join(", ")}`);
  return found[0]!;
}
const getAtt = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
/** The statements of the default policy of the role of function `fnId`. */
function statementsOf(fnId: string): Statement[] {
  const role = (json.Resources[fnId]!.Properties.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actions = (s: Statement) => ([] as string[]).concat(s.Action);

let queueId: string;
let imagesId: string;
let receiveId: string;

before(() => {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "CDK_DEFAULT_ACCOUNT"]) delete process.env[k];
  json = synth();
  [queueId] = one("AWS::SQS::Queue", "ConvergeImageUpdatesQueue");
  [imagesId] = one("AWS::Lambda::Function", "ConvergeImageUpdatesFunction");
  [receiveId] = one("AWS::Lambda::Function", "ConvergeImageUpdatesReceiveFunction");
});

test("the ECR rule: successful PUSH image actions on the default bus, to the image queue, which lets only that rule's events in", () => {
  const [ruleId, rule] = one("AWS::Events::Rule", "ConvergeImageUpdatesEcrPushRule");
  assert.deepEqual(rule.Properties.EventPattern, { source: ["aws.ecr"], "detail-type": ["ECR Image Action"], detail: { "action-type": ["PUSH"], result: ["SUCCESS"] } });
  assert.equal(rule.Properties.EventBusName, undefined, "the default bus");
  assert.equal(rule.Properties.State, "ENABLED");
  assert.deepEqual(
    (rule.Properties.Targets as { Arn: unknown; Input?: unknown }[]).map((t) => [t.Arn, t.Input]),
    [[getAtt(queueId), undefined]],
    "the whole event is the message (shared/images/trigger.ts triggersOf reads it)",
  );
  const policies = ofType("AWS::SQS::QueuePolicy").filter(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: queueId }]));
  const statements = policies.flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const allowed = statements.filter((s) => s.Effect === "Allow");
  assert.equal(allowed.length, 1, JSON.stringify(allowed));
  assert.deepEqual(allowed[0]!.Principal, { Service: "events.amazonaws.com" });
  assert.ok(actions(allowed[0]!).includes("sqs:SendMessage"));
  assert.deepEqual(allowed[0]!.Condition, { ArnEquals: { "aws:SourceArn": getAtt(ruleId) } });
  assert.ok(
    statements.some((s) => s.Effect === "Deny" && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } })),
    "TLS only",
  );
});

test("the image queue: standard, SSE, a dead-letter queue after 5 receives, visibility 6x the images timeout", () => {
  const q = json.Resources[queueId]!.Properties;
  assert.equal(q.FifoQueue, undefined);
  assert.equal(q.SqsManagedSseEnabled, true);
  assert.equal(q.VisibilityTimeout, IMAGES_TIMEOUT.toSeconds() * 6);
  assert.ok((q.VisibilityTimeout as number) >= 6 * (json.Resources[imagesId]!.Properties.Timeout as number));
  const [dlqId, dlq] = one("AWS::SQS::Queue", "ConvergeImageUpdatesDlq");
  assert.deepEqual(q.RedrivePolicy, { deadLetterTargetArn: getAtt(dlqId), maxReceiveCount: 5 });
  assert.equal(dlq.Properties.SqsManagedSseEnabled, true);
  assert.equal(dlq.Properties.MessageRetentionPeriod, 14 * 86400);
});

test("the images function reads the queue in batches of 10 gathered for 5 s, two at once, reporting item failures; it has the kubectl layer", () => {
  const [, esm] = one("AWS::Lambda::EventSourceMapping", "ConvergeImageUpdatesFunctionSqsEventSource");
  assert.deepEqual(esm.Properties, {
    BatchSize: IMAGE_BATCH.size,
    EventSourceArn: getAtt(queueId),
    FunctionName: { Ref: imagesId },
    FunctionResponseTypes: ["ReportBatchItemFailures"],
    MaximumBatchingWindowInSeconds: IMAGE_BATCH.windowSeconds,
    ScalingConfig: { MaximumConcurrency: IMAGE_MAX_CONCURRENCY },
  });
  assert.deepEqual([IMAGE_BATCH.size, IMAGE_BATCH.windowSeconds], [10, 5]);
  const fn = json.Resources[imagesId]!.Properties;
  const [layerId, layer] = one("AWS::Lambda::LayerVersion", "ConvergeImageUpdatesKubectlLayer");
  assert.deepEqual(fn.Layers, [{ Ref: layerId }]);
  assert.match(String(layer.Properties.Description), /\/opt\/kubectl\/kubectl .*\/opt\/helm\/helm/);
  assert.deepEqual(fn.Architectures, ["x86_64"], "the layer's binaries are x86_64");
  assert.equal(fn.Timeout, IMAGES_TIMEOUT.toSeconds());
  assert.deepEqual(fn.EphemeralStorage, { Size: 2048 });
  const vars = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
  for (const v of ["CONVERGE_CLUSTERS_TABLE", "CONVERGE_OPERATIONS_TABLE", "CONVERGE_WORK_DIR"]) assert.ok(vars[v], v);
});

test("the scan: an EventBridge Scheduler schedule every SCAN_PERIOD_MS invoking the images function with {scan: true}, no retry", () => {
  assert.equal(SCAN_RATE.toMilliseconds(), SCAN_PERIOD_MS);
  const [, schedule] = one("AWS::Scheduler::Schedule", "ConvergeImageUpdatesScanSchedule");
  assert.equal(schedule.Properties.ScheduleExpression, "rate(1 minute)");
  const target = schedule.Properties.Target as { Arn: unknown; Input: string; RetryPolicy: { MaximumRetryAttempts: number } };
  assert.deepEqual(target.Arn, getAtt(imagesId));
  assert.deepEqual(JSON.parse(target.Input), { scan: true });
  assert.equal(target.RetryPolicy.MaximumRetryAttempts, 0, "the next run scans again");
});

test("the image-receive function: a Function URL with auth NONE, the queue and its generated token secret, no table", () => {
  const [, url] = one("AWS::Lambda::Url", "ConvergeImageUpdatesReceiveFunctionFunctionUrl");
  assert.deepEqual(url.Properties, { AuthType: "NONE", TargetFunctionArn: getAtt(receiveId) });
  const [secretId, secret] = one("AWS::SecretsManager::Secret", "ConvergeImageUpdatesTokenSecret");
  assert.deepEqual(secret.Properties.GenerateSecretString, { ExcludePunctuation: true, PasswordLength: 40 });
  const fn = json.Resources[receiveId]!.Properties;
  const vars = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
  assert.deepEqual(vars.CONVERGE_IMAGE_QUEUE_URL, { Ref: queueId });
  assert.deepEqual(vars.CONVERGE_REGISTRY_TOKEN_SECRET_ARN, { Ref: secretId });
  assert.deepEqual(
    Object.keys(vars).filter((k) => k.endsWith("_TABLE")),
    [],
  );
  assert.equal(fn.Timeout, 15);
  assert.equal(fn.Layers, undefined, "no kubectl layer");
});

test("IAM: image-receive sends to the queue and reads its token; images reads clusters, writes operations, reads Git tokens and registry credentials", () => {
  const [secretId] = one("AWS::SecretsManager::Secret", "ConvergeImageUpdatesTokenSecret");
  const receive = statementsOf(receiveId).filter((s) => !actions(s).every((a) => a.startsWith("xray:")));
  assert.deepEqual(
    receive.map((s) => [actions(s).sort(), s.Resource]),
    [
      [["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], getAtt(queueId)],
      [["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], { Ref: secretId }],
    ],
  );
  const images = statementsOf(imagesId);
  const tableOf = (s: Statement) => /ConvergeTables(\w+?)[0-9A-F]{8}/.exec(JSON.stringify(s.Resource))?.[1];
  const dynamo = images.filter((s) => actions(s).some((a) => a.startsWith("dynamodb:")));
  assert.deepEqual([...new Set(dynamo.map(tableOf))].sort(), ["Clusters", "Operations"]);
  for (const s of dynamo.filter((s) => tableOf(s) === "Clusters")) assert.ok(!actions(s).some((a) => /Put|Update|Delete|Write/.test(a)), `clusters read only: ${actions(s)}`);
  const ops = dynamo.filter((s) => tableOf(s) === "Operations").flatMap(actions);
  assert.ok(ops.includes("dynamodb:PutItem") && ops.includes("dynamodb:BatchWriteItem"), "OperationStore.record writes the operation and its parts");
  const secrets = images.filter((s) => actions(s).some((a) => a.startsWith("secretsmanager:")));
  assert.deepEqual(secrets.map(actions), [["secretsmanager:GetSecretValue"], ["secretsmanager:GetSecretValue"]]);
  assert.deepEqual(
    secrets.map((s) => /:secret:([^"]+)/.exec(JSON.stringify(s.Resource))?.[1]),
    ["converge/*", "converge-registry/*"],
  );
  const sqs = images.filter((s) => actions(s).some((a) => a.startsWith("sqs:")));
  assert.deepEqual(
    sqs.map((s) => s.Resource),
    [getAtt(queueId)],
  );
  assert.ok(!sqs.flatMap(actions).includes("sqs:SendMessage"), "consumes only");
  const others = ofType("AWS::IAM::Policy").filter(([, p]) => JSON.stringify(p.Properties).includes("converge-registry/*"));
  assert.equal(others.length, 1, "only the images function reads registry credentials");
});

test("alarms: image dead letters, updates not written (a metric filter on the images log) and function errors, each to the alarms' action topic", () => {
  const [, filter] = one("AWS::Logs::MetricFilter", "ConvergeImageUpdatesNotWrittenFilter");
  assert.equal(filter.Properties.FilterPattern, '{ $.message = "image update not written" }');
  const [logsId] = one("AWS::Logs::LogGroup", "ConvergeImageUpdatesFunctionLogs");
  assert.deepEqual(filter.Properties.LogGroupName, { Ref: logsId });
  const [dlqId] = one("AWS::SQS::Queue", "ConvergeImageUpdatesDlq");
  const actionTopic = ofType("AWS::SNS::Topic").find(([, t]) => /state changes/.test(String(t.Properties.DisplayName)))![0];
  const alarm = (prefix: string) => one("AWS::CloudWatch::Alarm", prefix)[1].Properties;
  const dead = alarm("ConvergeImageUpdatesDeadLetters");
  assert.deepEqual([dead.MetricName, dead.Namespace, dead.Dimensions], ["ApproximateNumberOfMessagesVisible", "AWS/SQS", [{ Name: "QueueName", Value: { "Fn::GetAtt": [dlqId, "QueueName"] } }]]);
  const notWritten = alarm("ConvergeImageUpdatesNotWritten");
  const metric = (filter.Properties.MetricTransformations as { MetricName: string; MetricNamespace: string }[])[0]!;
  assert.deepEqual([notWritten.MetricName, notWritten.Namespace, notWritten.Statistic, notWritten.Period], [metric.MetricName, metric.MetricNamespace, "Sum", 300]);
  const failures = alarm("ConvergeImageUpdatesFailures");
  assert.deepEqual([failures.MetricName, failures.Dimensions], ["Errors", [{ Name: "FunctionName", Value: { Ref: imagesId } }]]);
  for (const a of [dead, notWritten, failures]) {
    assert.deepEqual([a.Threshold, a.ComparisonOperator, a.TreatMissingData], [1, "GreaterThanOrEqualToThreshold", "notBreaching"]);
    assert.deepEqual(a.AlarmActions, [{ Ref: actionTopic }]);
  }
});

test("the stack outputs the receive URL, the token secret and the image queue", () => {
  const [urlId] = one("AWS::Lambda::Url", "ConvergeImageUpdatesReceiveFunctionFunctionUrl");
  const [secretId] = one("AWS::SecretsManager::Secret", "ConvergeImageUpdatesTokenSecret");
  assert.deepEqual(json.Outputs.ImageReceiveUrl?.Value, { "Fn::GetAtt": [urlId, "FunctionUrl"] });
  assert.deepEqual(json.Outputs.RegistryTokenSecretArn?.Value, { Ref: secretId });
  assert.deepEqual(json.Outputs.ImageQueueUrl?.Value, { Ref: queueId });
});

test("imageUpdates: false deploys none of it", () => {
  const without = synth({ imageUpdates: false });
  const ids = Object.keys(without.Resources).filter((id) => id.startsWith("ConvergeImageUpdates"));
  assert.deepEqual(ids, []);
  assert.ok(!JSON.stringify(without.Resources).includes("aws.ecr"));
  for (const o of ["ImageReceiveUrl", "RegistryTokenSecretArn", "ImageQueueUrl"]) assert.equal(without.Outputs[o], undefined, o);
  assert.equal(ofType("AWS::Scheduler::Schedule", without).length, 1, "the tick's schedule only");
});
