/**
 * The per-cluster alarms on real components (DynamoDB Local, ElasticMQ, the Git server, a real
 * kube-apiserver): a cluster registered after the stack is up (`--sync detect`), then edited
 * live, stays OutOfSync across reconciles of the real reconcile handler; its JSON log lines
 * carry exactly the fields the Contributor Insights rules of the synthesized template read
 * (rule bodies loaded from the template, so this test cannot drift from what is deployed);
 * evaluating the rules' filters on those lines shows it becomes a contributor of the diverged
 * rule only once it has been OutOfSync for the rule's whole duration; the notification built
 * for the alarm, from the clusters table, names it. A cluster whose reconciles never succeed is
 * reported by the real tick handler as a contributor of the stale rule, and named too. No
 * per-cluster metric is written by default.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { captureStdout, exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { localContext } from "../../tools/local/lambda.js";
import { ConvergeStack } from "../../infra/converge-stack.js";
import { contributors, type InsightRuleBody, jsonEvents, passes, type RuleFilter } from "../../shared/metrics/insight-rule.js";
import { ALARM_COST } from "../../shared/metrics/cost.js";
import { FLEET_METRICS, PER_CLUSTER_METRICS_ENV } from "../../shared/metrics/emf.js";
import { MIN_INTERVAL_SECONDS } from "../../shared/cluster/spec.js";
import { documentClient } from "../../shared/store/client.js";
import { alarmMessage, parseAlarmNotification } from "../../shared/notify/message.js";
import { notificationFor, notifySettings } from "../../shared/notify/notify.js";
import { AlarmStateReader, SHORTEST_INTERVAL_SECONDS } from "../../shared/notify/read.js";
import { runCli as cli } from "../support/cli.js";

const stack = stackEnv();
const [k1] = stack.clusters;
const NAME = "alarms-gb";
const NS = "alarms-gb";
let iso: Isolated;
let reader: AlarmStateReader;
type Handler = (event: unknown, context: unknown) => Promise<unknown>;
let reconcileHandler: Handler;
let tickHandler: Handler;

type Rules = Record<"OutOfSync" | "Diverged" | "Failing" | "Stale", { body: InsightRuleBody; logGroup: "reconcile" | "tick" }>;
/** The rules of the default stack and of a stack with `divergedMinutes: 1` (a diverged cluster is seen for a minute here, not 15). */
let rules: Rules;
let oneMinute: Rules;

/** A CloudFormation string with its `Ref`s written as `<Ref:LogicalId>`. */
function resolve(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as Record<string, unknown>;
  if (o.Ref) return `<Ref:${o.Ref as string}>`;
  const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
  return parts.map(resolve).join(sep);
}

/** The Contributor Insights rules of a synthesized ConvergeStack, and which function's log group each reads. */
function synthesizedRules(props: Record<string, unknown>): Rules {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const json = Template.fromStack(new ConvergeStack(app, "Converge", props)).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const entries = Object.entries(json.Resources);
  const logGroupOf = (fn: string) => {
    const [, f] = entries.find(([id, r]) => r.Type === "AWS::Lambda::Function" && id.includes(fn))!;
    return `<Ref:${(f.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref}>`;
  };
  const groups = { [logGroupOf("ReconcileFunction")]: "reconcile", [logGroupOf("TickFunction")]: "tick" } as const;
  const out = {} as Rules;
  for (const [id, r] of entries.filter(([, r]) => r.Type === "AWS::CloudWatch::InsightRule")) {
    const body = JSON.parse(resolve(r.Properties.RuleBody)) as InsightRuleBody;
    const kind = (["OutOfSync", "Diverged", "Failing", "Stale"] as const).find((k) => id.includes(`${k}Rule`))!;
    assert.equal(body.LogGroupNames.length, 1);
    out[kind] = { body, logGroup: groups[body.LogGroupNames[0]!]! };
  }
  return out;
}

/** One reconcile of `cluster` by the real reconcile handler (an SQS event as Lambda delivers it); its stdout lines. */
async function reconcile(cluster: string): Promise<string[]> {
  const now = Date.now();
  const event: SQSEvent = {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: "",
        body: JSON.stringify({ cluster, reason: "tick", enqueuedAt: new Date(now).toISOString() }),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: String(now),
          SenderId: "test",
          ApproximateFirstReceiveTimestamp: String(now),
          MessageGroupId: cluster,
          MessageDeduplicationId: randomUUID(),
          SequenceNumber: "1",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:test.fifo",
        awsRegion: "us-east-1",
      },
    ],
  };
  const { result, lines } = await captureStdout(() => reconcileHandler(event, localContext("converge-reconcile")));
  assert.deepEqual(result, { batchItemFailures: [] });
  return lines;
}

/** The reconcile's `reconciled` line for `cluster` among `lines`. */
function reconciledLine(lines: string[], cluster: string): Record<string, unknown> {
  const found = jsonEvents(lines).filter((e) => e.message === "reconciled" && e.cluster === cluster);
  assert.equal(found.length, 1, `one reconciled line for ${cluster}: ${lines.join("\n")}`);
  return found[0]!;
}

/** The JSON paths a rule reads: its keys and its filters' fields. */
const fieldsRead = (r: InsightRuleBody) => [...r.Contribution.Keys, ...(r.Contribution.Filters ?? []).map((f) => f.Match)];

before(async () => {
  assert.ok(k1, "the test bed runs a cluster");
  iso = await isolated("alarms");
  Object.assign(process.env, iso.env);
  delete process.env[PER_CLUSTER_METRICS_ENV];
  reader = new AlarmStateReader(documentClient(iso.services.config), iso.services.config.tables.clusters);
  reconcileHandler = (await import("../../functions/reconcile/index.js")).handler as unknown as Handler;
  tickHandler = (await import("../../functions/tick/index.js")).handler as unknown as Handler;
  rules = synthesizedRules({});
  oneMinute = synthesizedRules({ divergedMinutes: 1 });
  // the guestbook app, applied by hand as a team would before registering the cluster
  const repo = exampleRepo(`alarms-${Date.now()}`);
  kubectl(k1!, "create", "namespace", NS);
  kubectl(k1!, "apply", "-n", NS, "-f", join(repo.work, "guestbook"));
  process.env.ALARMS_TEST_REPO = repo.url;
});

test("the rules the stack deploys: reconcile rules over the reconcile's log group, the stale rule over the tick's, all keyed on $.cluster", () => {
  for (const set of [rules, oneMinute]) {
    for (const kind of ["OutOfSync", "Diverged", "Failing"] as const) assert.equal(set[kind].logGroup, "reconcile", kind);
    assert.equal(set.Stale.logGroup, "tick");
    for (const r of Object.values(set)) assert.deepEqual(r.body.Contribution.Keys, ["$.cluster"]);
  }
  assert.deepEqual(oneMinute.Diverged.body.Contribution.Filters?.at(-1), { Match: "$.divergedMinutes", GreaterThan: 0 });
  assert.deepEqual(rules.Diverged.body.Contribution.Filters?.at(-1), { Match: "$.divergedMinutes", GreaterThan: 14 });
  assert.equal(SHORTEST_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, "the notify read knows the shortest interval");
});

let outOfSyncSince: string;

test("a cluster registered after the stack is up and Synced: its line matches no rule; only fleet metrics are written", async () => {
  const add = await cli(
    "cluster",
    "add",
    NAME,
    "--repo",
    process.env.ALARMS_TEST_REPO!,
    "--branch",
    "master",
    "--path",
    "guestbook",
    "--namespace",
    NS,
    "--kubeconfig",
    k1!.kubeconfig,
    "--context",
    k1!.context,
    "--interval",
    "30s",
    "--sync",
    "detect",
  );
  assert.equal(add.code, 0, add.err);
  const lines = await reconcile(NAME);
  const line = reconciledLine(lines, NAME);
  assert.equal(line.sync, "Synced", JSON.stringify(line));
  for (const [kind, r] of Object.entries(rules)) {
    if (r.logGroup === "reconcile") assert.equal(contributors(r.body, [line]).size, 0, `${kind}: not a contributor`);
  }
  assert.equal(line.divergedMinutes, undefined);
  // EMF: the fleet document only, no Cluster dimension, within the size the cost model counts
  const emf = lines.filter((l) => l.includes('{"_aws"')).map((l) => l.slice(l.indexOf('{"_aws"')));
  assert.equal(emf.length, 1, emf.join("\n"));
  const doc = JSON.parse(emf[0]!) as { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }; Cluster?: string };
  assert.deepEqual(doc._aws.CloudWatchMetrics[0]!.Dimensions, [["service"]]);
  assert.equal(doc.Cluster, undefined);
  for (const m of doc._aws.CloudWatchMetrics[0]!.Metrics) assert.ok((FLEET_METRICS as readonly string[]).includes(m.Name), m.Name);
  assert.ok(Buffer.byteLength(emf[0]!) <= ALARM_COST.emfBytesPerReconcile, `${Buffer.byteLength(emf[0]!)} bytes`);
});

test("a live edit: OutOfSync once makes an out-of-sync contributor, not a diverged one (divergedMinutes 0)", async () => {
  kubectl(k1!, "-n", NS, "set", "image", "deployment/guestbook-ui", "guestbook-ui=registry.example/edited:1");
  const line = reconciledLine(await reconcile(NAME), NAME);
  assert.equal(line.sync, "OutOfSync", JSON.stringify(line));
  assert.equal(line.divergedMinutes, 0);
  assert.deepEqual([...contributors(rules.OutOfSync.body, [line])], [[NAME, 1]]);
  assert.equal(contributors(oneMinute.Diverged.body, [line]).size, 0, "once is not diverged for a minute");
  assert.equal(contributors(rules.Diverged.body, [line]).size, 0);
  const rec = await iso.services.clusters.get(NAME);
  assert.equal(rec!.status.outOfSyncSince, rec!.status.lastReconcileAt, "the first OutOfSync reconcile starts the clock");
  outOfSyncSince = rec!.status.outOfSyncSince!;
});

let divergedLine: Record<string, unknown>;

test("still OutOfSync a minute later: the line carries exactly the fields the diverged rule reads, and the cluster is its contributor", async () => {
  const wait = Date.parse(outOfSyncSince) + 61_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  divergedLine = reconciledLine(await reconcile(NAME), NAME);
  assert.equal(divergedLine.sync, "OutOfSync");
  assert.equal(divergedLine.divergedMinutes, 1, JSON.stringify(divergedLine));
  const rec = await iso.services.clusters.get(NAME);
  assert.equal(rec!.status.outOfSyncSince, outOfSyncSince, "the clock kept running across reconciles");
  // the fields: every path the rule reads is in the line, with the type its operator compares
  const rule = oneMinute.Diverged.body;
  assert.deepEqual(fieldsRead(rule).sort(), ["$.cluster", "$.divergedMinutes", "$.message", "$.sync"]);
  assert.deepEqual(fieldsRead(rules.Diverged.body).sort(), fieldsRead(rule).sort(), "the default stack's rule reads the same fields");
  assert.equal(typeof divergedLine.cluster, "string");
  for (const f of rule.Contribution.Filters as RuleFilter[]) {
    const v = divergedLine[f.Match.slice(2)];
    assert.equal(typeof v, "In" in f ? "string" : "number", `${f.Match} has the type its operator needs`);
    assert.ok(passes(f, divergedLine), `${JSON.stringify(f)} passes on ${JSON.stringify(v)}`);
  }
  assert.deepEqual([...contributors(rule, [divergedLine])], [[NAME, 1]], "a contributor of ClusterDiverged (1 minute)");
  assert.equal(contributors(rules.Diverged.body, [divergedLine]).size, 0, "not yet of the default 15-minute rule");
  assert.equal(contributors(rules.Failing.body, [divergedLine]).size, 0);
});

test("the notification of ClusterDiverged, built from the clusters table, names the cluster with status, revision and since when", async () => {
  const settings = notifySettings({ CONVERGE_DIVERGED_ALARM: "Converge-ClusterDiverged", CONVERGE_DIVERGED_MINUTES: "1", CONVERGE_NOTIFY_TOPIC_ARN: "arn:aws:sns:us-east-1:000000000000:t" });
  const alarm = parseAlarmNotification(
    JSON.stringify({
      AlarmName: "Converge-ClusterDiverged",
      NewStateValue: "ALARM",
      OldStateValue: "OK",
      NewStateReason: "Threshold Crossed: 1 out of the last 3 datapoints [1.0] was greater than or equal to the threshold (1.0)",
      StateChangeTime: new Date().toISOString(),
    }),
  );
  const note = await notificationFor(alarm, settings, reader);
  const rec = (await iso.services.clusters.get(NAME))!;
  assert.equal(note.kind, "diverged");
  assert.deepEqual(note.named, [NAME]);
  assert.equal(note.total, 1);
  assert.match(note.subject, new RegExp(`^Converge ALARM: 1 cluster diverged: ${NAME}$`));
  assert.match(note.message, /OutOfSync for 1 minutes or more/);
  assert.ok(note.message.includes(`- ${NAME}: OutOfSync, 1 modified, 0 missing, 0 extra of 2`), note.message);
  assert.ok(note.message.includes(`revision ${rec.status.revision!.slice(0, 12)}`), note.message);
  assert.ok(note.message.includes(`since ${outOfSyncSince} (1 min)`), note.message);
  // the default 15 minutes: not yet
  const fifteen = await notificationFor(alarm, notifySettings({ CONVERGE_DIVERGED_ALARM: "Converge-ClusterDiverged" }), reader);
  assert.equal(fifteen.total, 0);
  assert.match(fifteen.message, /No cluster is in this state any more/);
  // capped: "and N more"
  const others = [1, 2, 3].map((i) => ({ cluster: { ...rec, name: `other-${i}` }, since: outOfSyncSince }));
  const capped = alarmMessage({ alarm, kind: "diverged", clusters: [{ cluster: rec, since: outOfSyncSince }, ...others], now: Date.now(), thresholds: settings.thresholds, cap: 2 });
  assert.deepEqual(capped.named, [NAME, "other-1"]);
  assert.match(capped.message, /\nand 2 more \(`converge status` lists every cluster\)\.$/m);
  assert.match(capped.subject, /^Converge ALARM: 4 clusters diverged: alarms-gb, other-1 and 2 more$/);
  const all = alarmMessage({ alarm, kind: "diverged", clusters: [{ cluster: rec, since: outOfSyncSince }, ...others], now: Date.now(), thresholds: settings.thresholds });
  assert.equal(all.named.length, 4);
  assert.match(all.subject, /^Converge ALARM: 4 clusters diverged: alarms-gb, other-1, other-2 and 1 more$/);
  assert.doesNotMatch(all.message, /more \(/);
  // back to OK: reported without reading anything
  const ok = await notificationFor({ ...alarm, NewStateValue: "OK" }, settings, {
    inAlarm: () => {
      throw new Error("no read on OK");
    },
    drifted: () => {
      throw new Error("no read on OK");
    },
  });
  assert.match(ok.subject, /^Converge OK: Converge-ClusterDiverged$/);
  assert.match(ok.message, /is resolved/);
});

test("a cluster whose reconciles never succeed: the tick's stale line makes it a contributor of the stale rule, and the notification names it", async () => {
  const now = Date.now();
  await iso.services.clusters.add(
    {
      name: "alarms-unreachable",
      source: { repoUrl: "https://git.example/o/r.git", branch: "main", path: "x" },
      namespace: "default",
      access: { type: "server", server: "https://127.0.0.1:1" },
      intervalSeconds: 30,
    },
    now - 150_000,
  );
  const { lines } = await captureStdout(() => tickHandler({}, localContext("converge-tick")));
  const events = jsonEvents(lines);
  const stale = events.filter((e) => e.message === "stale");
  assert.deepEqual(
    stale.map((e) => e.cluster),
    ["alarms-unreachable"],
    "one line per overdue due cluster; the reconciled cluster is not overdue",
  );
  assert.ok(Number(stale[0]!.staleIntervals) >= 5, JSON.stringify(stale[0]));
  assert.deepEqual(fieldsRead(rules.Stale.body).sort(), ["$.cluster", "$.message", "$.staleIntervals"]);
  assert.deepEqual([...contributors(rules.Stale.body, events)], [["alarms-unreachable", 1]]);
  assert.equal(contributors(rules.Diverged.body, events).size, 0, "the tick's lines are not reconcile lines");
  // the tick's fleet document: counts, no Cluster dimension, within the size the cost model counts
  const emf = lines.filter((l) => l.includes('{"_aws"')).map((l) => l.slice(l.indexOf('{"_aws"')));
  assert.equal(emf.length, 1);
  const doc = JSON.parse(emf[0]!) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] } };
  assert.deepEqual(doc._aws.CloudWatchMetrics[0]!.Dimensions, [["service"]]);
  assert.equal(doc.ClustersStale, 1);
  assert.equal(doc.Cluster, "alarms-unreachable", "the stalest due cluster, named as a property");
  assert.ok(Buffer.byteLength(emf[0]!) <= ALARM_COST.emfBytesPerTick, `${Buffer.byteLength(emf[0]!)} bytes`);
  const settings = notifySettings({ CONVERGE_STALE_ALARM: "Converge-ClusterStale" });
  const note = await notificationFor({ AlarmName: "Converge-ClusterStale", NewStateValue: "ALARM" }, settings, reader);
  assert.deepEqual(note.named, ["alarms-unreachable"], note.message);
  assert.match(note.message, /without a successful reconcile for 3 intervals or more/);
  assert.match(note.message, /- alarms-unreachable: Unknown, .*revision none yet, since .* \(2 min\)/);
});
