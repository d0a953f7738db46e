/**
 * Resume function: consumes the standard resume queue, where a reconcile that must come back
 * later left its task with a delay, and forwards each task to the reconcile FIFO queue (see
 * `shared/queue/resume.ts`). Thin adapter; malformed bodies are logged and dropped.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { taskQueue } from "../../shared/compose/stores.js";
import { forwardResumes } from "../../shared/queue/resume.js";

const logger = new Logger({ serviceName: "converge-resume" });
const queue = taskQueue(loadConfig());

/** SQS batch handler: the messages not forwarded are reported as `batchItemFailures` and come back. */
export const handler = middy(async (event: SQSEvent): Promise<SQSBatchResponse> => {
  if (!queue) throw new Error("CONVERGE_QUEUE_URL is not set");
  const { failed, dropped } = await forwardResumes(event.Records, queue);
  if (dropped.length) logger.error("malformed resume messages dropped", { messageIds: dropped });
  if (failed.length) logger.warn("resume messages not forwarded; retried", { messageIds: failed });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
});
