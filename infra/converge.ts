/**
 * `Converge`: the whole control plane as one construct, so another CDK app can embed it
 * (`new Converge(this, "Converge", { divergedMinutes: 10 })`). It holds one construct per
 * runtime part: tables, queues, webhook, tick, reconcile, resume, the query API, alarms (Contributor Insights
 * rules, their SNS topics and the notify function that names the clusters), the dashboard and the
 * image update automation (a new image tag in a registry becomes a commit in Git).
 */
import type { Duration } from "aws-cdk-lib";
import { Stack, Validations, type CfnElement } from "aws-cdk-lib";
import { Construct } from "constructs";
import { ConvergeTables } from "./constructs/tables.js";
import { ReconcileQueue } from "./constructs/queue.js";
import { Webhook } from "./constructs/webhook.js";
import { Tick } from "./constructs/tick.js";
import { Reconcile, RECONCILE_TIMEOUT } from "./constructs/reconcile.js";
import { Resume } from "./constructs/resume.js";
import { ConvergeAlarms } from "./constructs/alarms.js";
import { Notify } from "./constructs/notify.js";
import { ConvergeDashboard } from "./constructs/dashboard.js";
import { QueryApi } from "./constructs/api.js";
import { ConvergeEvents, type EventRoutes } from "./constructs/events.js";
import { ImageUpdates } from "./constructs/images.js";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import { PER_CLUSTER_METRICS_ENV, STALE_INTERVALS_ENV } from "../shared/metrics/emf.js";
import { REGISTRY_SECRET_PREFIX } from "../shared/secrets.js";

/** Settings with defaults for a fleet of tens to thousands of clusters. */
export interface ConvergeProps {
  /** Minutes a cluster stays OutOfSync before its alarm fires (default 15). */
  divergedMinutes?: number;
  /** Reconcile intervals without a successful reconcile before a cluster is stale (default 3, at least 2). */
  staleIntervals?: number;
  /**
   * Also write per-cluster EMF metrics (dimension `Cluster`: drift, health, errors, duration,
   * staleness) and graph them (default false). 9 custom metrics per cluster at $0.30 each a month
   * ($2,700 a month at 1,000 clusters); the alarms and the dashboard's cluster lists do not need
   * them (Contributor Insights rules over the logs, infra/constructs/alarms.ts).
   */
  perClusterMetrics?: boolean;
  /** How often the tick looks for due clusters (default 1 minute). */
  tickRate?: Duration;
  /** Largest webhook body accepted, bytes (default 2 MiB). */
  webhookMaxBytes?: number;
  /**
   * Converge's events (shared/events/schema.ts): the bus they go to (default: the account's
   * default bus) and where a rule on `source: ["converge"]` sends them (a topic, an email
   * address, an AWS Chatbot Slack channel; default: nowhere, add your own rules).
   */
  events?: EventRoutes & { bus?: IEventBus };
  /** Address of the web view (`converge ui` or a hosted copy): alarm messages link each named cluster's page. */
  uiUrl?: string;
  /**
   * Deploy the image update automation (default true): the image queue, the images and
   * image-receive functions, the Amazon ECR push rule and the scan schedule (infra/constructs/images.ts).
   */
  imageUpdates?: boolean;
}

/** The Converge control plane. */
export class Converge extends Construct {
  readonly tables: ConvergeTables;
  readonly queue: ReconcileQueue;
  readonly webhook: Webhook;
  readonly tick: Tick;
  readonly reconcile: Reconcile;
  readonly resume: Resume;
  readonly alarms: ConvergeAlarms;
  readonly notify: Notify;
  readonly dashboard: ConvergeDashboard;
  readonly api: QueryApi;
  readonly events: ConvergeEvents;
  /** The image update automation; undefined with `imageUpdates: false`. */
  readonly images?: ImageUpdates;

  constructor(scope: Construct, id: string, props: ConvergeProps = {}) {
    super(scope, id);
    this.tables = new ConvergeTables(this, "Tables");
    this.queue = new ReconcileQueue(this, "Queue", { reconcileTimeout: RECONCILE_TIMEOUT });
    this.webhook = new Webhook(this, "Webhook", { tables: this.tables, queue: this.queue, maxBodyBytes: props.webhookMaxBytes });
    this.tick = new Tick(this, "Tick", { tables: this.tables, queue: this.queue, rate: props.tickRate });
    this.reconcile = new Reconcile(this, "Reconcile", { tables: this.tables, queue: this.queue });
    this.resume = new Resume(this, "Resume", { queue: this.queue });
    this.alarms = new ConvergeAlarms(this, "Alarms", {
      dlq: this.queue.dlq,
      webhook: this.webhook.fn,
      reconcileLogs: this.reconcile.fn.logGroup,
      tick: this.tick.fn,
      tickLogs: this.tick.fn.logGroup,
      tickRate: props.tickRate,
      divergedMinutes: props.divergedMinutes,
      staleIntervals: props.staleIntervals,
    });
    this.events = new ConvergeEvents(this, "Events", { publishers: [this.reconcile.fn, this.webhook.fn], ...props.events });
    // the reconcile's `Cluster Diverged` uses the diverged alarm's threshold (shared/events/announce.ts)
    this.reconcile.fn.addEnvironment("CONVERGE_DIVERGED_MINUTES", String(this.alarms.thresholds.divergedMinutes));
    if (props.uiUrl) this.reconcile.fn.addEnvironment("CONVERGE_UI_URL", props.uiUrl);
    this.notify = new Notify(this, "Notify", { tables: this.tables, alarms: this.alarms, ...(props.uiUrl ? { uiUrl: props.uiUrl } : {}) });
    // fleet metrics always; per-cluster metrics only when asked (shared/metrics/emf.ts reads these)
    for (const fn of [this.reconcile.fn, this.tick.fn]) fn.addEnvironment(PER_CLUSTER_METRICS_ENV, String(props.perClusterMetrics ?? false));
    this.tick.fn.addEnvironment(STALE_INTERVALS_ENV, String(this.alarms.thresholds.staleIntervals));
    this.api = new QueryApi(this, "Api", { tables: this.tables });
    if (props.imageUpdates ?? true) this.images = new ImageUpdates(this, "ImageUpdates", { tables: this.tables, alarmTopic: this.alarms.actionTopic });
    const imageAlarms = this.images ? Object.values(this.images.alarms) : [];
    this.dashboard = new ConvergeDashboard(this, "Dashboard", { alarms: this.alarms, extraAlarms: [this.notify.failures, ...imageAlarms], perClusterMetrics: props.perClusterMetrics });
    this.acknowledgeFindings();
  }

  /**
   * cdk-nag AwsSolutions findings this design accepts, each with its reason (the test command
   * runs the rule pack and fails on anything not acknowledged here).
   */
  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const logicalId = (c: Construct) => stack.resolve(stack.getLogicalId(c.node.defaultChild as CfnElement)) as string;
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const iam5 = (scope: Construct, resource: string, reason: string) => ack(scope, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
    for (const fn of [this.webhook, this.tick, this.reconcile, this.resume, this.api, this.notify, ...(this.images ? [this.images] : [])]) {
      ack(
        fn,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs",
      );
      ack(fn, "AwsSolutions-L1", "The runtime is pinned to nodejs22.x, the version the code, the kubectl layer and the tests are validated on (design brief)");
      iam5(fn, "*", "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) accept no narrower resource");
      for (const t of [this.tables.tables.clusters, this.tables.tables.events, this.tables.tables.snapshots, this.tables.tables.deliveries]) {
        iam5(fn, `<${logicalId(t)}.Arn>/index/*`, "Queries of Converge's own table indexes (byRepo, byCadence, byDueAt, byResource, byTime)");
      }
    }
    iam5(this.reconcile, "arn:<AWS::Partition>:eks:*:<AWS::AccountId>:cluster/*", "EKS clusters are registered at run time (converge cluster add --eks); DescribeCluster only reads endpoint and CA");
    iam5(this.reconcile, "arn:<AWS::Partition>:iam::*:role/converge-*", "Cross-account EKS roles are registered at run time (--role-arn); only roles named converge-* whose trust policy allows it");
    for (const fn of [this.reconcile, this.webhook, ...(this.images ? [this.images.fn] : [])]) {
      iam5(
        fn,
        "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:converge/*",
        "Git tokens of private repositories are registered at run time (--git-token-secret), only secrets named converge/*; the webhook reads them to compare a push's commits when its payload lists no files",
      );
    }
    // the scheduler's invoke role is a stack-level singleton of aws-scheduler-targets
    for (const fn of [this.tick.fn, ...(this.images ? [this.images.fn] : [])]) {
      iam5(stack, `<${logicalId(fn)}.Arn>:*`, "EventBridge Scheduler's role may invoke the function's versions (the LambdaInvoke target's default)");
    }
    if (this.images) this.acknowledgeImageFindings(this.images);
    ack(
      this.webhook,
      "AwsSolutions-SMG4",
      "The webhook secret holds the secrets shared with each Git host's hook configuration; rotating one is a coordinated manual step with two accepted at once (README: Webhooks from every Git host)",
    );
  }

  /** The image update's own cdk-nag acknowledgements (see `acknowledgeFindings`). */
  private acknowledgeImageFindings(images: ImageUpdates): void {
    Validations.of(images.fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${REGISTRY_SECRET_PREFIX}*]`,
      reason: `Registry credentials are named by image policies in Git (credentialsSecretArn), read by the scan only: secrets named ${REGISTRY_SECRET_PREFIX}*`,
    });
    Validations.of(images.tokenSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason: "The token is shared with each registry's notification configuration; rotating it is a coordinated manual step with two accepted at once (README: image updates)",
    });
  }
}
