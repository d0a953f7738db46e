/**
 * The reconcile function: consumes the FIFO queue in batches of 10 with partial batch
 * failures, has the kubectl/helm layer of `@aws-cdk/lambda-layer-kubectl-v34` (x86_64
 * binaries, so the function is x86_64), and ephemeral storage for Git fetches.
 */
import { ArnFormat, Duration, Size, Stack } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Architecture } from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { KubectlV34Layer } from "@aws-cdk/lambda-layer-kubectl-v34";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";
import type { ReconcileQueue } from "./queue.js";

/** Name prefix of the Secrets Manager secrets holding Git tokens that the reconcile may read. */
export const GIT_SECRET_PREFIX = "converge/";

/**
 * Memory of the reconcile function, MB: chosen from `npm run bench:fleet`, which measures the
 * smallest size holding 1.5 x a worker's peak and 1.2 x a batch of 10 Helm renders (338–444 MB
 * measured) and prices each size; 512 MB leaves room for the render batch.
 */
export const RECONCILE_MEMORY_MB = 512;

/** Timeout of one reconcile invocation (a batch of up to 10 clusters). */
export const RECONCILE_TIMEOUT = Duration.minutes(5);

/** What the reconcile function is wired to. */
export interface ReconcileProps {
  tables: ConvergeTables;
  queue: ReconcileQueue;
  /**
   * Roles the function may assume to reach EKS clusters in other accounts (`--role-arn`).
   * Default: roles named `converge-*` in any account (the target account's trust policy decides).
   */
  eksRoleArns?: string[];
}

/** Reconcile function with its queue subscription and layer. */
export class Reconcile extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: ReconcileProps) {
    super(scope, id);
    this.fn = convergeFunction(this, "Function", "reconcile", {
      timeout: RECONCILE_TIMEOUT,
      memorySize: RECONCILE_MEMORY_MB,
      ephemeralStorageSize: Size.gibibytes(2),
      architecture: Architecture.X86_64,
      layers: [new KubectlV34Layer(this, "KubectlLayer")],
      environment: { ...props.tables.environment(), CONVERGE_WORK_DIR: "/tmp/converge", CONVERGE_RESUME_QUEUE_URL: props.queue.resume.queueUrl },
    });
    props.queue.resume.grantSendMessages(this.fn);
    for (const t of [props.tables.tables.clusters, props.tables.tables.snapshots, props.tables.tables.events, props.tables.tables.operations]) t.grantReadWriteData(this.fn);
    // EKS targets: endpoint and CA (DescribeCluster), cross-account roles (AssumeRole)
    const stack = Stack.of(this);
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ["eks:DescribeCluster"], resources: [stack.formatArn({ service: "eks", region: "*", resource: "cluster", resourceName: "*" })] }));
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ["sts:AssumeRole"], resources: props.eksRoleArns ?? [`arn:${stack.partition}:iam::*:role/converge-*`] }));
    // Git tokens of private repositories: secrets named converge/* (converge cluster add --git-token-secret)
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [Stack.of(this).formatArn({ service: "secretsmanager", resource: "secret", resourceName: `${GIT_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    this.fn.addEventSource(new SqsEventSource(props.queue.queue, { batchSize: 10, reportBatchItemFailures: true }));
  }
}
