/**
 * The tick function and its EventBridge Scheduler schedule (every minute): enqueues every
 * cluster whose interval elapsed.
 */
import { Duration } from "aws-cdk-lib";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ConvergeTables } from "./tables.js";
import type { ReconcileQueue } from "./queue.js";

export interface TickProps {
  tables: ConvergeTables;
  queue: ReconcileQueue;
  /** How often the tick runs (default 1 minute; cluster intervals are at least 30 s). */
  rate?: Duration;
}

/** Tick function and schedule. */
export class Tick extends Construct {
  readonly fn: NodejsFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: TickProps) {
    super(scope, id);
    this.fn = convergeFunction(this, "Function", "tick", {
      timeout: Duration.seconds(55),
      environment: { ...props.tables.environment(), CONVERGE_QUEUE_URL: props.queue.queue.queueUrl },
    });
    props.tables.tables.clusters.grantReadWriteData(this.fn);
    props.queue.queue.grantSendMessages(this.fn);
    this.schedule = new Schedule(this, "Schedule", {
      schedule: ScheduleExpression.rate(props.rate ?? Duration.minutes(1)),
      target: new LambdaInvoke(this.fn, { retryAttempts: 0 }),
      description: "Converge tick: enqueue clusters whose reconcile interval elapsed",
    });
  }
}
