/**
 * Image update automation (shared/images): a new image tag in a registry becomes a commit in Git.
 * - The image queue: an SQS standard queue of image triggers, with a dead-letter queue after
 *   `MAX_RECEIVE_COUNT` receives; its visibility timeout is six times the images function's
 *   timeout, as the Lambda SQS event source documentation recommends
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
 * - Amazon ECR pushes reach it from an EventBridge rule on the default bus ("ECR Image Action",
 *   PUSH, SUCCESS: https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html);
 *   the queue policy lets events.amazonaws.com send for that rule only.
 * - Other registries' notifications reach the image-receive function's Function URL (auth NONE:
 *   the bearer token in the generated Secrets Manager secret is checked), which enqueues them.
 * - The images function reads the queue in batches of 10 gathered for up to 5 s (images pushed
 *   together make one commit), at most two batches at once (fewer pushes racing on one branch),
 *   and runs the scan every minute from an EventBridge Scheduler schedule. It has the kubectl
 *   layer, as the reconcile: an update is written only when every cluster of the branch still
 *   renders (helm, kustomize).
 * - Alarms (to the alarms' topic): dead letters, updates not written, function errors.
 * IAM: the images function reads the clusters table, writes the operations table, reads Git
 * tokens (secrets named `GIT_SECRET_PREFIX*`, as the reconcile) and registry credentials (secrets
 * named `REGISTRY_SECRET_PREFIX*`, which nothing else reads); the image-receive function sends to
 * the queue and reads its token secret, nothing else.
 */
import { ArnFormat, Duration, Size, Stack } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Architecture, FunctionUrlAuthType, type FunctionUrl } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Schedule, ScheduleExpression, ScheduleTargetInput } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { FilterPattern, MetricFilter } from "aws-cdk-lib/aws-logs";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { KubectlV34Layer } from "@aws-cdk/lambda-layer-kubectl-v34";
import { Construct } from "constructs";
import { IMAGE_NOT_WRITTEN_MESSAGE } from "../../shared/metrics/signals.js";
import { REGISTRY_SECRET_PREFIX } from "../../shared/secrets.js";
import { convergeFunction } from "./function-defaults.js";
import { MAX_RECEIVE_COUNT } from "./queue.js";
import { GIT_SECRET_PREFIX, RECONCILE_MEMORY_MB } from "./reconcile.js";
import type { ConvergeTables } from "./tables.js";

/** Timeout of one images invocation (a batch's update, or a scan): Git fetches, renders and pushes of every branch with image updates. */
export const IMAGES_TIMEOUT = Duration.minutes(5);

/**
 * How often the scan runs: `SCAN_PERIOD_MS` of shared/images/scan.ts (1 minute; a policy's
 * interval is counted in these runs). Not imported from there: that module loads the render and
 * the Kubernetes client, which the CDK app has no use for; test/infra/images.test.ts compares them.
 */
export const SCAN_RATE = Duration.minutes(1);

/** Queue messages per batch, and how long the event source gathers them (seconds). */
export const IMAGE_BATCH = { size: 10, windowSeconds: 5 };

/** Batches of the image queue handled at once (the event source's `maxConcurrency`, 2 at least). */
export const IMAGE_MAX_CONCURRENCY = 2;

/** What the image update is wired to. */
export interface ImageUpdatesProps {
  tables: ConvergeTables;
  /** Where the image update's alarms go (the alarms' action topic, read by the notify function); absent: alarms without actions. */
  alarmTopic?: ITopic;
}

/** The image queue, the images and image-receive functions, the ECR rule, the scan schedule and the token secret. */
export class ImageUpdates extends Construct {
  readonly queue: Queue;
  readonly dlq: Queue;
  /** The images function: updates from the queue, and the scan. */
  readonly fn: NodejsFunction;
  /** The image-receive function, its URL and the bearer token registries send. */
  readonly receive: NodejsFunction;
  readonly url: FunctionUrl;
  readonly tokenSecret: Secret;
  readonly ecrRule: Rule;
  readonly schedule: Schedule;
  /**
   * `deadLetters`: image triggers that failed `MAX_RECEIVE_COUNT` times (Git or the registry
   * unreachable); `notWritten`: updates that would change something but were not written (a
   * branch that no longer renders, a refused push or pull request, an invalid policy file:
   * the operation in the history says which), counted by a metric filter on the images
   * function's log (one custom metric: a flat cost); `failures`: the images function's errors
   * (the scan included). Each at 1 or more in 5 minutes.
   */
  readonly alarms: { deadLetters: Alarm; notWritten: Alarm; failures: Alarm };

  constructor(scope: Construct, id: string, props: ImageUpdatesProps) {
    super(scope, id);
    this.dlq = new Queue(this, "Dlq", { retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
    this.queue = new Queue(this, "Queue", {
      visibilityTimeout: Duration.seconds(IMAGES_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.fn = this.imagesFunction(props.tables);
    this.ecrRule = new Rule(this, "EcrPushRule", {
      description: "Converge image updates: Amazon ECR image pushes to the image queue",
      eventPattern: { source: ["aws.ecr"], detailType: ["ECR Image Action"], detail: { "action-type": ["PUSH"], result: ["SUCCESS"] } },
      targets: [new SqsQueue(this.queue)],
    });
    this.schedule = new Schedule(this, "ScanSchedule", {
      schedule: ScheduleExpression.rate(SCAN_RATE),
      target: new LambdaInvoke(this.fn, { input: ScheduleTargetInput.fromObject({ scan: true }), retryAttempts: 0 }),
      description: "Converge image updates: scan the registries of the image policies with an interval",
    });
    // the generated value is the token; to rotate, store a JSON array ["new", "old"] until every registry sends the new one
    this.tokenSecret = new Secret(this, "TokenSecret", {
      description: 'Bearer token container registries send with their notifications to Converge: one token, or a JSON array ["current", "previous"] during a rotation',
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });
    this.receive = convergeFunction(this, "ReceiveFunction", "image-receive", {
      timeout: Duration.seconds(15),
      environment: { CONVERGE_IMAGE_QUEUE_URL: this.queue.queueUrl, CONVERGE_REGISTRY_TOKEN_SECRET_ARN: this.tokenSecret.secretArn },
    });
    this.queue.grantSendMessages(this.receive);
    this.tokenSecret.grantRead(this.receive);
    this.url = this.receive.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.alarms = this.createAlarms(props.alarmTopic);
  }

  private createAlarms(topic: ITopic | undefined): ImageUpdates["alarms"] {
    const notWritten = new MetricFilter(this, "NotWrittenFilter", {
      logGroup: this.fn.logGroup,
      filterPattern: FilterPattern.stringValue("$.message", "=", IMAGE_NOT_WRITTEN_MESSAGE),
      metricNamespace: "Converge",
      metricName: "ImageUpdatesNotWritten",
      metricValue: "1",
    });
    const alarm = (id: string, metric: IMetric, description: string) => {
      const a = new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (topic) a.addAlarmAction(new SnsAction(topic));
      return a;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: "Sum" };
    return {
      deadLetters: alarm(
        "DeadLetters",
        this.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        "Image update triggers reached the dead-letter queue (Git or a registry failed three times)",
      ),
      notWritten: alarm(
        "NotWritten",
        notWritten.metric(fiveMinutes),
        "Image updates that would change something were not written: see converge images history for why (render, push, pull request, policy file)",
      ),
      failures: alarm("Failures", this.fn.metricErrors(fiveMinutes), "The images function failed (an update batch or the scan)"),
    };
  }

  /** The images function with its layer, grants and queue subscription. */
  private imagesFunction(tables: ConvergeTables): NodejsFunction {
    const fn = convergeFunction(this, "Function", "images", {
      timeout: IMAGES_TIMEOUT,
      memorySize: RECONCILE_MEMORY_MB,
      ephemeralStorageSize: Size.gibibytes(2),
      architecture: Architecture.X86_64,
      layers: [new KubectlV34Layer(this, "KubectlLayer")],
      environment: { ...tables.environment(), CONVERGE_WORK_DIR: "/tmp/converge" },
    });
    tables.tables.clusters.grantReadData(fn);
    tables.tables.operations.grantWriteData(fn);
    const secrets = (prefix: string) => Stack.of(this).formatArn({ service: "secretsmanager", resource: "secret", resourceName: `${prefix}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // Git tokens of private repositories (converge cluster add --git-token-secret), as the reconcile
    fn.addToRolePolicy(new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secrets(GIT_SECRET_PREFIX)] }));
    // registry credentials of the scan (an image policy's credentialsSecretArn)
    fn.addToRolePolicy(new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secrets(REGISTRY_SECRET_PREFIX)] }));
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: IMAGE_BATCH.size,
        maxBatchingWindow: Duration.seconds(IMAGE_BATCH.windowSeconds),
        maxConcurrency: IMAGE_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    return fn;
  }
}
