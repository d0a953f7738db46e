/**
 * The Converge stack: the `Converge` construct with its defaults, and the outputs the CLI, a
 * GitHub webhook and a registry's notifications need.
 */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Converge, type ConvergeProps } from "./converge.js";

/** The deployable stack. */
export class ConvergeStack extends Stack {
  readonly converge: Converge;

  constructor(scope: Construct, id: string, props: StackProps & ConvergeProps = {}) {
    super(scope, id, props);
    this.converge = new Converge(this, "Converge", props);
    const c = this.converge;
    new CfnOutput(this, "WebhookUrl", { value: c.webhook.url.url });
    new CfnOutput(this, "WebhookSecretArn", { value: c.webhook.secret.secretArn });
    new CfnOutput(this, "QueueUrl", { value: c.queue.queue.queueUrl });
    new CfnOutput(this, "QueryApiUrl", { value: c.api.api.apiEndpoint, description: "GET /clusters, /clusters/{name}, /clusters/{name}/drift, /drift (SigV4)" });
    new CfnOutput(this, "AlarmTopicArn", { value: c.alarms.topic.topicArn });
    new CfnOutput(this, "ReconcileRoleArn", { value: c.reconcile.fn.role!.roleArn, description: "principal of the EKS access entries" });
    if (c.images) {
      new CfnOutput(this, "ImageReceiveUrl", { value: c.images.url.url, description: "URL of registry notifications (distribution notifications.endpoints url)" });
      new CfnOutput(this, "RegistryTokenSecretArn", { value: c.images.tokenSecret.secretArn, description: "the bearer token registries send: Authorization: Bearer <token>" });
      new CfnOutput(this, "ImageQueueUrl", { value: c.images.queue.queueUrl, description: "CONVERGE_IMAGE_QUEUE_URL" });
    }
    for (const [k, v] of Object.entries(c.tables.environment())) new CfnOutput(this, k.replace(/_/g, ""), { value: v, description: k });
  }
}
