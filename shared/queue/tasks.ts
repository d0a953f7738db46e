/**
 * Reconcile tasks on the SQS FIFO queue: one message per cluster, `MessageGroupId` = cluster
 * name so one cluster is never reconciled twice at once while clusters run in parallel, and a
 * deterministic `MessageDeduplicationId` so webhook and tick bursts collapse: SQS drops a
 * message whose deduplication id was seen in the last 5 minutes
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
 */
import { createHash } from "node:crypto";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod";
import type { ConvergeConfig } from "../config.js";
import { instrumented } from "../instrument.js";

/** Why a reconcile was asked for. */
export const ReconcileReason = z.enum(["push", "tick", "manual", "resume"]);

/** The body of a reconcile message. */
export const ReconcileTaskSchema = z.object({
  cluster: z.string().min(1),
  /** Commit SHA to reconcile to (push); absent: the branch head at reconcile time (tick). */
  revision: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .optional(),
  reason: ReconcileReason,
  /** Delivery id of the push that caused it, as its Git host sent it (shared/webhook/hosts). */
  deliveryId: z.string().optional(),
  /** Who asked for a manual sync (`converge sync`): an IAM ARN or `user@host`. */
  caller: z.string().optional(),
  /** Manual sync options: prune for this sync (whatever the cluster's policy), past the prune guard (`force`), only these resources (keys). */
  sync: z.object({ prune: z.boolean().optional(), force: z.boolean().optional(), resources: z.array(z.string()).optional() }).optional(),
  /** ISO time of enqueueing (resume: the time the reconcile is due back). */
  enqueuedAt: z.string(),
});
export type ReconcileTask = z.infer<typeof ReconcileTaskSchema>;

/** SQS's limit of entries per SendMessageBatch. */
export const SQS_BATCH = 10;

/** SendMessageBatch requests `TaskQueue.send` keeps in flight at most. */
export const SEND_CONCURRENCY = 16;

/**
 * Deduplication id of a task: sha256 of the cluster and the revision (push), of the cluster
 * and the time it was due back (resume: `enqueuedAt` is that time, so a redelivered reconcile
 * asks once), or of the cluster and the tick window `floor(enqueuedAt / windowMs)` (tick,
 * revision unknown).
 */
export function dedupId(task: ReconcileTask, windowMs = 60_000): string {
  const basis =
    task.reason === "resume"
      ? `${task.cluster}|resume|${task.enqueuedAt}`
      : task.revision
        ? `${task.cluster}|rev|${task.revision}`
        : `${task.cluster}|${task.reason}|${Math.floor(Date.parse(task.enqueuedAt) / windowMs)}`;
  return createHash("sha256").update(basis).digest("hex");
}

/** An SQS client honouring the local endpoint override (ElasticMQ). */
export function sqsClient(cfg: Pick<ConvergeConfig, "region" | "sqsEndpoint">): SQSClient {
  return instrumented(new SQSClient({ region: cfg.region, ...(cfg.sqsEndpoint ? { endpoint: cfg.sqsEndpoint } : {}), maxAttempts: 5 }));
}

/** Sends reconcile tasks to the FIFO queue. */
export class TaskQueue {
  /** SendMessageBatch requests in flight, over every concurrent `send` of this queue object, and the sends waiting for a slot. */
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Sends `tasks` in SendMessageBatch requests of 10 (SQS's limit; one billed request each,
   * https://aws.amazon.com/sqs/pricing/), up to `SEND_CONCURRENCY` requests in flight (counted
   * over every concurrent `send` of this object: the tick's shards and the webhook's pages share
   * them), so 10,000 tasks take 1,000 requests but not 1,000 round trips. Tasks naming one cluster
   * twice are sent one batch after the other instead, so a cluster's tasks keep their order.
   * Entries SQS rejects are retried once (same deduplication ids, so a retry cannot enqueue
   * twice).
   * @returns number of tasks accepted by SQS.
   * @throws Error naming the clusters still failed after the retry (other batches may have been sent).
   */
  async send(tasks: ReconcileTask[], windowMs?: number): Promise<number> {
    const batches: ReconcileTask[][] = [];
    for (let i = 0; i < tasks.length; i += SQS_BATCH) batches.push(tasks.slice(i, i + SQS_BATCH));
    const distinct = new Set(tasks.map((t) => t.cluster)).size === tasks.length;
    let sent = 0;
    let next = 0;
    const worker = async () => {
      for (let b = next++; b < batches.length; b = next++) {
        const n = await this.sendBatch(batches[b]!, windowMs);
        sent += n;
      }
    };
    await Promise.all(Array.from({ length: distinct ? Math.min(SEND_CONCURRENCY, batches.length) : 1 }, worker));
    return sent;
  }

  /** One SendMessageBatch of at most 10 tasks, its rejected entries retried once, in one of the `SEND_CONCURRENCY` slots. */
  private async sendBatch(batch: ReconcileTask[], windowMs?: number): Promise<number> {
    if (this.inFlight < SEND_CONCURRENCY) this.inFlight++;
    else await new Promise<void>((r) => this.waiting.push(r)); // a finishing request hands its slot over
    try {
      return await this.sendEntries(batch, windowMs);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  private async sendEntries(batch: ReconcileTask[], windowMs?: number): Promise<number> {
    let sent = 0;
    let entries = batch.map((t, j) => ({
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
    return sent;
  }
}
