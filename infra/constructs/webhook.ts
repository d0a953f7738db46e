/**
 * The webhook function behind a Lambda Function URL (auth NONE: GitHub authenticates with the
 * HMAC signature the function verifies), with the webhook secret in Secrets Manager.
 */
import { Duration } from "aws-cdk-lib";
import { FunctionUrlAuthType, type FunctionUrl } from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";
import type { ReconcileQueue } from "./queue.js";

export interface WebhookProps {
  tables: ConvergeTables;
  queue: ReconcileQueue;
  /** Largest accepted body, bytes (default 2 MiB; Function URLs cap requests at 6 MB). */
  maxBodyBytes?: number;
}

/** Webhook function, its URL and its secret. */
export class Webhook extends Construct {
  readonly fn: NodejsFunction;
  readonly url: FunctionUrl;
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: WebhookProps) {
    super(scope, id);
    this.secret = new Secret(this, "Secret", { description: "GitHub webhook secret of Converge", generateSecretString: { excludePunctuation: true, passwordLength: 40 } });
    this.fn = convergeFunction(this, "Function", "webhook", {
      timeout: Duration.seconds(15),
      environment: {
        ...props.tables.environment(),
        CONVERGE_QUEUE_URL: props.queue.queue.queueUrl,
        CONVERGE_WEBHOOK_SECRET_ARN: this.secret.secretArn,
        CONVERGE_WEBHOOK_MAX_BYTES: String(props.maxBodyBytes ?? 2 * 1024 * 1024),
      },
    });
    props.tables.tables.deliveries.grantReadWriteData(this.fn);
    props.tables.tables.clusters.grantReadData(this.fn);
    props.queue.queue.grantSendMessages(this.fn);
    this.secret.grantRead(this.fn);
    this.url = this.fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }
}
