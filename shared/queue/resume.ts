/**
 * Bringing a reconcile back after a delay. A sync operation that waits (a wave for health, a
 * hook Job to finish) and the self-heal and retry backoffs end a reconcile with a time to come
 * back; nothing blocks a Lambda meanwhile. SQS FIFO queues have no per-message delay (a FIFO
 * queue's `DelaySeconds` is per queue:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html),
 * so the task goes to a standard queue with a per-message `DelaySeconds` (at most 900 s), and
 * the resume function (functions/resume) forwards it to the FIFO queue when it becomes visible:
 * one cluster's tasks still run in order, one at a time. A longer wait is left to the tick
 * (the reconcile sets the cluster's `nextDueAt` to the same time).
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { ReconcileTaskSchema, type ReconcileTask, type TaskQueue } from "./tasks.js";

/** Longest per-message delay SQS accepts, seconds. */
export const MAX_DELAY_SECONDS = 900;

/** Sends delayed resumptions to the standard resume queue. */
export class ResumeQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Asks for a reconcile of `cluster` at `atMs` (epoch ms), delayed by whole seconds.
   * @returns false (nothing sent) when `atMs` is more than 900 s after `nowMs`: the tick brings it back.
   * @throws SQS errors.
   */
  async schedule(cluster: string, atMs: number, nowMs = Date.now()): Promise<boolean> {
    const delay = Math.max(0, Math.ceil((atMs - nowMs) / 1000));
    if (delay > MAX_DELAY_SECONDS) return false;
    const task: ReconcileTask = { cluster, reason: "resume", enqueuedAt: new Date(atMs).toISOString() };
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(task), DelaySeconds: delay }));
    return true;
  }
}

/** A message of the resume queue: its id and body. */
export interface ResumeMessage {
  messageId: string;
  body: string;
}

/**
 * Forwards resume messages to the FIFO queue (grouped by cluster, deduplicated by cluster and
 * due time, see `dedupId`). A body that is not a reconcile task is dropped and reported in
 * `dropped`: forwarding it again cannot fix it.
 * @returns the ids of messages that could not be forwarded (to be retried) and of those dropped.
 */
export async function forwardResumes(messages: ResumeMessage[], queue: Pick<TaskQueue, "send">): Promise<{ failed: string[]; dropped: string[] }> {
  const dropped: string[] = [];
  const tasks: { id: string; task: ReconcileTask }[] = [];
  for (const m of messages) {
    const parsed = ReconcileTaskSchema.safeParse(safeJson(m.body));
    if (parsed.success) tasks.push({ id: m.messageId, task: parsed.data });
    else dropped.push(m.messageId);
  }
  try {
    await queue.send(tasks.map((t) => t.task));
    return { failed: [], dropped };
  } catch {
    return { failed: tasks.map((t) => t.id), dropped };
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
