/**
 * `Converge`: the whole control plane as one construct, so another CDK app can embed it
 * (`new Converge(this, "Converge", { divergedMinutes: 10 })`). It holds one construct per
 * runtime part: tables, queue, webhook, tick, reconcile, the query API, alarms (with their SNS topic) and the
 * dashboard.
 */
import type { Duration } from "aws-cdk-lib";
import { Construct } from "constructs";
import { ConvergeTables } from "./constructs/tables.js";
import { ReconcileQueue } from "./constructs/queue.js";
import { Webhook } from "./constructs/webhook.js";
import { Tick } from "./constructs/tick.js";
import { Reconcile, RECONCILE_TIMEOUT } from "./constructs/reconcile.js";
import { ConvergeAlarms } from "./constructs/alarms.js";
import { ConvergeDashboard } from "./constructs/dashboard.js";
import { QueryApi } from "./constructs/api.js";

/** Settings with defaults for a fleet of tens to thousands of clusters. */
export interface ConvergeProps {
  /** Minutes a cluster stays OutOfSync before its alarm fires (default 15). */
  divergedMinutes?: number;
  /** How often the tick looks for due clusters (default 1 minute). */
  tickRate?: Duration;
  /** Largest webhook body accepted, bytes (default 2 MiB). */
  webhookMaxBytes?: number;
}

/** The Converge control plane. */
export class Converge extends Construct {
  readonly tables: ConvergeTables;
  readonly queue: ReconcileQueue;
  readonly webhook: Webhook;
  readonly tick: Tick;
  readonly reconcile: Reconcile;
  readonly alarms: ConvergeAlarms;
  readonly dashboard: ConvergeDashboard;
  readonly api: QueryApi;

  constructor(scope: Construct, id: string, props: ConvergeProps = {}) {
    super(scope, id);
    this.tables = new ConvergeTables(this, "Tables");
    this.queue = new ReconcileQueue(this, "Queue", { reconcileTimeout: RECONCILE_TIMEOUT });
    this.webhook = new Webhook(this, "Webhook", { tables: this.tables, queue: this.queue, maxBodyBytes: props.webhookMaxBytes });
    this.tick = new Tick(this, "Tick", { tables: this.tables, queue: this.queue, rate: props.tickRate });
    this.reconcile = new Reconcile(this, "Reconcile", { tables: this.tables, queue: this.queue });
    this.alarms = new ConvergeAlarms(this, "Alarms", { dlq: this.queue.dlq, webhook: this.webhook.fn, divergedMinutes: props.divergedMinutes });
    this.api = new QueryApi(this, "Api", { tables: this.tables });
    this.dashboard = new ConvergeDashboard(this, "Dashboard", { alarms: Object.values(this.alarms.alarms) });
  }
}
