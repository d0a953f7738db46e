/**
 * The webhook function behind a Lambda Function URL (auth NONE: each Git host authenticates
 * with the HMAC signature, token or basic auth the function verifies), with the webhook secrets
 * in one Secrets Manager secret.
 */
import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FunctionUrlAuthType, type FunctionUrl } from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";
import type { ReconcileQueue } from "./queue.js";
import { GIT_SECRET_PREFIX } from "./reconcile.js";

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
    // The generated value is the GitHub secret alone; to accept other hosts or rotate, replace it with
    // the JSON of shared/webhook/secrets.ts, e.g. {"github": ["new", "old"], "gitlab": ["token"]}.
    this.secret = new Secret(this, "Secret", {
      description:
        'Webhook secrets of Converge: JSON {"github"|"gitlab"|"bitbucket-cloud"|"bitbucket-server"|"gitea"|"azure-devops": ["current", "previous"]} (azure-devops entries are user:password), or a plain string = the GitHub secret',
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });
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
    // the Git tokens of private repositories: the files a push changed, when its payload does not list them
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [Stack.of(this).formatArn({ service: "secretsmanager", resource: "secret", resourceName: `${GIT_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    this.url = this.fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }
}
