/**
 * Reconcile function: consumes the FIFO queue, one reconcile per message. A batch is processed
 * group by group (`shared/queue/fifo-batch.ts`): different clusters concurrently, one
 * cluster's messages in order, a cluster's remaining messages not run after its first failure;
 * failures are reported per message (`batchItemFailures`) so only those are retried.
 * Thin adapter over `shared/reconcile/reconcile.ts`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSEvent, SQSRecord, SQSBatchResponse } from "aws-lambda";
import { createReconcileServices, reconcileDeps } from "../../shared/compose/reconcile.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { ReconcileTaskSchema } from "../../shared/queue/tasks.js";
import { processFifoBatch } from "../../shared/queue/fifo-batch.js";

const logger = new Logger({ serviceName: "converge-reconcile" });
const deps = reconcileDeps(createReconcileServices(), { log: logger });

/**
 * One message: a malformed body is logged and dropped (retrying cannot fix it); a reconcile
 * that throws fails only this message.
 */
async function record(r: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(r.body);
  } catch {
    body = undefined;
  }
  const task = ReconcileTaskSchema.safeParse(body);
  if (!task.success) {
    logger.error("malformed reconcile task dropped", { messageId: r.messageId, issues: task.success ? undefined : task.error.issues.map((i) => i.message) });
    return;
  }
  const first = Number(r.attributes?.ApproximateFirstReceiveTimestamp);
  const detectedAt = Number.isFinite(first) && first > 0 ? new Date(first).toISOString() : undefined;
  await reconcileCluster(deps, task.data, detectedAt);
}

/** SQS batch handler returning `batchItemFailures` (every failure per message, also when all fail). */
export const handler = middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failed = await processFifoBatch(event.Records, record, {
    onError: (r, err) =>
      logger.error("reconcile failed; retried with the rest of its cluster's messages", { messageId: r.messageId, group: r.attributes.MessageGroupId, error: (err as Error).message }),
  });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
});
