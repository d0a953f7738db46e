/**
 * Reconcile tasks on the SQS FIFO queue: one message per cluster, `MessageGroupId` = cluster
 * name so one cluster is never reconciled twice at once while clusters run in parallel, and a
 * deterministic `MessageDeduplicationId` so webhook and tick bursts collapse: SQS drops a
 * message whose deduplication id was seen in the last 5 minutes
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
 */
import { createHash } from "node:crypto";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import type { ConvergeConfig } from "../config.js";

/** Why a reconcile was asked for. */
export const ReconcileReason = z.enum(["push", "tick", "manual"]);

/** The body of a reconcile message. */
export const ReconcileTaskSchema = z.object({
  cluster: z.string().min(1),
  /** Commit SHA to reconcile to (push); absent: the branch head at reconcile time (tick). */
  revision: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .optional(),
  reason: ReconcileReason,
  /** X-GitHub-Delivery of the push that caused it. */
  deliveryId: z.string().optional(),
  /** Who asked for a manual sync (`converge sync`): an IAM ARN or `user@host`. */
  caller: z.string().optional(),
  /** Manual sync options: prune for this sync (whatever the cluster's policy), past the prune guard (`force`), only these resources (keys). */
  sync: z.object({ prune: z.boolean().optional(), force: z.boolean().optional(), resources: z.array(z.string()).optional() }).optional(),
  /** ISO time of enqueueing. */
  enqueuedAt: z.string(),
});
export type ReconcileTask = z.infer<typeof ReconcileTaskSchema>;

/** SQS's limit of entries per SendMessageBatch. */
export const SQS_BATCH = 10;

/**
 * Deduplication id of a task: sha256 of the cluster and the revision (push), or of the
 * cluster and the tick window `floor(enqueuedAt / windowMs)` (tick, revision unknown).
 */
export function dedupId(task: ReconcileTask, windowMs = 60_000): string {
  const basis = task.revision ? `${task.cluster}|rev|${task.revision}` : `${task.cluster}|${task.reason}|${Math.floor(Date.parse(task.enqueuedAt) / windowMs)}`;
  return createHash("sha256").update(basis).digest("hex");
}

/** An SQS client honouring the local endpoint override (ElasticMQ). */
export function sqsClient(cfg: Pick<ConvergeConfig, "region" | "sqsEndpoint">): SQSClient {
  return new SQSClient({ region: cfg.region, ...(cfg.sqsEndpoint ? { endpoint: cfg.sqsEndpoint } : {}), maxAttempts: 5 });
}

/** Sends reconcile tasks to the FIFO queue. */
export class TaskQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Sends `tasks` in batches of 10. Entries SQS rejects are retried once (same deduplication
   * ids, so a retry cannot enqueue twice).
   * @returns number of tasks accepted by SQS.
   * @throws Error naming the clusters still failed after the retry.
   */
  async send(tasks: ReconcileTask[], windowMs?: number): Promise<number> {
    let sent = 0;
    for (let i = 0; i < tasks.length; i += SQS_BATCH) {
      let entries = tasks.slice(i, i + SQS_BATCH).map((t, j) => ({
        Id: String(j),
        MessageBody: JSON.stringify(t),
        MessageGroupId: t.cluster,
        MessageDeduplicationId: dedupId(t, windowMs),
      }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
        sent += out.Successful?.length ?? 0;
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
        if (entries.length > 0 && attempt >= 1) {
          throw new Error(`SQS rejected reconcile tasks for ${entries.map((e) => e.MessageGroupId).join(", ")}: ${(out.Failed ?? []).map((f) => f.Message).join("; ")}`);
        }
      }
    }
    return sent;
  }
}
