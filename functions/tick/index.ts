/**
 * Tick function: run by the EventBridge schedule; enqueues every cluster whose interval
 * elapsed. Thin adapter over `shared/schedule/tick.ts`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { loadConfig } from "../../shared/config.js";
import { clusterStore, taskQueue } from "../../shared/compose/stores.js";
import { tick, type TickResult } from "../../shared/schedule/tick.js";

const logger = new Logger({ serviceName: "converge-tick" });
const config = loadConfig();
const clusters = clusterStore(config);
const queue = taskQueue(config);

/** Scheduled handler; throws when DynamoDB or SQS fail (the scheduler retries). */
export const handler = middy(async (): Promise<TickResult> => {
  if (!queue) throw new Error("CONVERGE_QUEUE_URL is not set");
  const result = await tick({ clusters, queue });
  logger.info("tick", { due: result.due, enqueued: result.enqueued });
  return result;
});
