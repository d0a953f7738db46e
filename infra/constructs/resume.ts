/**
 * The resume function: forwards the tasks the resume queue releases after their delay to the
 * reconcile FIFO queue (shared/queue/resume.ts), so a waiting sync operation or a backoff comes
 * back on time without blocking a Lambda and without breaking one cluster's order.
 */
import { Duration } from "aws-cdk-lib";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Construct } from "constructs";
import { convergeFunction } from "./function-defaults.js";
import type { ReconcileQueue } from "./queue.js";

/** What the resume function is wired to. */
export interface ResumeProps {
  queue: ReconcileQueue;
}

/** Resume function with its subscription to the resume queue. */
export class Resume extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: ResumeProps) {
    super(scope, id);
    this.fn = convergeFunction(this, "Function", "resume", {
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: { CONVERGE_QUEUE_URL: props.queue.queue.queueUrl },
    });
    props.queue.queue.grantSendMessages(this.fn);
    this.fn.addEventSource(new SqsEventSource(props.queue.resume, { batchSize: 10, reportBatchItemFailures: true }));
  }
}
