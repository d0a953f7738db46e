/**
 * The reconcile queue: SQS FIFO so one cluster (MessageGroupId) is never reconciled twice at
 * once while clusters run in parallel; explicit deduplication ids (content-based off); a FIFO
 * dead-letter queue after 5 receives. The visibility timeout is six times the reconcile
 * timeout, as the Lambda SQS event source documentation recommends
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
 *
 * Beside it, the resume queue: a standard queue (per-message delays, which FIFO queues lack)
 * where a reconcile that must come back later leaves its task (shared/queue/resume.ts), with
 * its own dead-letter queue.
 */
import { Duration } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Receives before a task moves to the DLQ. */
export const MAX_RECEIVE_COUNT = 5;

/** Settings of the reconcile queue. */
export interface ReconcileQueueProps {
  /** Timeout of the reconcile function; the visibility timeout is 6x this. */
  reconcileTimeout: Duration;
}

/** The FIFO queue and its DLQ, and the resume queue and its DLQ. */
export class ReconcileQueue extends Construct {
  readonly queue: Queue;
  readonly dlq: Queue;
  readonly resume: Queue;
  readonly resumeDlq: Queue;

  constructor(scope: Construct, id: string, props: ReconcileQueueProps) {
    super(scope, id);
    this.dlq = new Queue(this, "Dlq", { fifo: true, retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
    this.queue = new Queue(this, "Queue", {
      fifo: true,
      contentBasedDeduplication: false,
      visibilityTimeout: Duration.seconds(props.reconcileTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.resumeDlq = new Queue(this, "ResumeDlq", { retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
    this.resume = new Queue(this, "Resume", {
      visibilityTimeout: Duration.minutes(1),
      deadLetterQueue: { queue: this.resumeDlq, maxReceiveCount: MAX_RECEIVE_COUNT },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }
}
