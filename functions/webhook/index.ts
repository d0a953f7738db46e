/**
 * Webhook function: a Lambda Function URL receiving push (and ping) deliveries from GitHub,
 * GitLab, Bitbucket Cloud, Bitbucket Data Center, Gitea/Forgejo/Gogs and Azure DevOps at one URL.
 * Thin adapter: the logic is `shared/webhook/receive.ts`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { clusterStore, deliveryStore, taskQueue } from "../../shared/compose/stores.js";
import { announcePush } from "../../shared/events/push.js";
import { eventPublisher } from "../../shared/events/publisher.js";
import { GitSource } from "../../shared/git/source.js";
import { gitChangedFiles } from "../../shared/webhook/changed.js";
import { receiveDelivery } from "../../shared/webhook/receive.js";
import { webhookSecrets } from "../../shared/secrets.js";
import { json } from "../response.js";

const logger = new Logger({ serviceName: "converge-webhook" });
const config = loadConfig();
const clusters = clusterStore(config);
const deliveries = deliveryStore(config);
const queue = taskQueue(config);
const maxBodyBytes = Number(process.env.CONVERGE_WEBHOOK_MAX_BYTES ?? 0) || undefined;
// changed files of pushes whose payload does not list them, from Git (a copy per warm Lambda in /tmp)
const changedFiles = gitChangedFiles(new GitSource(config.workDir), clusters, config.region);
const publisher = eventPublisher(process.env, logger);
const announce = (push: Parameters<typeof announcePush>[1]) => announcePush(publisher, push);

/** Function URL handler: answers 202/200 with JSON, 4xx with `{error}`, 500 when storage or the queue failed. */
export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    if (event.requestContext?.http?.method && event.requestContext.http.method !== "POST") {
      return json(405, { error: "only POST is accepted" });
    }
    if (!queue) throw new Error("CONVERGE_QUEUE_URL is not set");
    const res = await receiveDelivery(
      { headers: event.headers ?? {}, body: event.body, isBase64Encoded: event.isBase64Encoded },
      { secrets: await webhookSecrets(config), clusters, deliveries, queue, changedFiles, announce, maxBodyBytes, log: logger },
    );
    if (res.statusCode >= 400) logger.warn("webhook rejected", { statusCode: res.statusCode, host: res.body.host, error: res.body.error });
    return json(res.statusCode, res.body);
  } catch (err) {
    logger.error("webhook failed", err as Error);
    return json(500, { error: "internal error; the delivery can be retried" });
  }
});
