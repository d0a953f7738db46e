/**
 * Reconcile function: consumes the FIFO queue, one reconcile per message, reporting partial
 * batch failures per message (Powertools batch) so only failed tasks are retried.
 * Thin adapter over `shared/reconcile/reconcile.ts`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSEvent, SQSRecord, SQSBatchResponse, Context } from "aws-lambda";
import { createServices, reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { ReconcileTaskSchema } from "../../shared/queue/tasks.js";

const logger = new Logger({ serviceName: "converge-reconcile" });
const services = createServices();
const deps = reconcileDeps(services, { log: logger });
const processor = new BatchProcessor(EventType.SQS);

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

/** SQS batch handler returning `batchItemFailures`. */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  // every failure is reported per message, also when all fail (same retry as a throw)
  processPartialResponse(event, record, processor, { context, throwOnFullBatchFailure: false }),
);
