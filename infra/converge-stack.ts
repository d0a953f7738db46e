/**
 * The Converge stack: tables, queue, and the webhook, tick and reconcile functions, wired as
 * in ../shared/design.md's flow. Outputs the webhook URL, the queue URL and the table names
 * (what the CLI needs, see README).
 */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { ConvergeTables } from "./constructs/tables.js";
import { ReconcileQueue } from "./constructs/queue.js";
import { Webhook } from "./constructs/webhook.js";
import { Tick } from "./constructs/tick.js";
import { Reconcile, RECONCILE_TIMEOUT } from "./constructs/reconcile.js";

/** The deployable stack. */
export class ConvergeStack extends Stack {
  readonly tables: ConvergeTables;
  readonly queue: ReconcileQueue;
  readonly webhook: Webhook;
  readonly tick: Tick;
  readonly reconcile: Reconcile;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    this.tables = new ConvergeTables(this, "Tables");
    this.queue = new ReconcileQueue(this, "Queue", { reconcileTimeout: RECONCILE_TIMEOUT });
    this.webhook = new Webhook(this, "Webhook", { tables: this.tables, queue: this.queue });
    this.tick = new Tick(this, "Tick", { tables: this.tables, queue: this.queue });
    this.reconcile = new Reconcile(this, "Reconcile", { tables: this.tables, queue: this.queue });
    new CfnOutput(this, "WebhookUrl", { value: this.webhook.url.url });
    new CfnOutput(this, "WebhookSecretArn", { value: this.webhook.secret.secretArn });
    new CfnOutput(this, "QueueUrl", { value: this.queue.queue.queueUrl });
    for (const [k, v] of Object.entries(this.tables.environment())) new CfnOutput(this, k.replace(/_/g, ""), { value: v, description: k });
  }
}
