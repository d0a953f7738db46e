/**
 * Image receive function: a Lambda Function URL receiving the notifications of container
 * registries (distribution's `notifications.endpoints`, with `Authorization: Bearer <token>`),
 * each push's tags enqueued as one image trigger on the image queue for the images function.
 * Thin adapter: the logic is `receiveNotification` of `shared/images/trigger.ts`. No Git, no
 * Kubernetes client (test/infra/bundles.test.ts checks it).
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { receiveNotification } from "../../shared/images/trigger.js";
import type { ImageTrigger } from "../../shared/images/update.js";
import { sqsClient } from "../../shared/queue/tasks.js";
import { registryTokens } from "../../shared/secrets.js";
import { json } from "../response.js";

const logger = new Logger({ serviceName: "converge-image-receive" });
const config = loadConfig();
const sqs = sqsClient(config);

/** Sends one trigger, as JSON, to the image queue. @throws SQS errors. */
async function send(trigger: ImageTrigger): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: config.imageQueueUrl, MessageBody: JSON.stringify(trigger) }));
}

/**
 * Function URL handler: 202 with `{message, images}` when enqueued (or nothing pushed), 401/400/413
 * with `{message}` (shared/images/trigger.ts), 405 on another method than POST, 500 when the token
 * cannot be read or the queue refuses (the registry sends the notification again).
 */
export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    if (event.requestContext?.http?.method && event.requestContext.http.method !== "POST") return json(405, { message: "only POST is accepted" });
    if (!config.imageQueueUrl) throw new Error("CONVERGE_IMAGE_QUEUE_URL is not set");
    // a Function URL encodes bodies of types it does not take for text (distribution sends application/vnd.docker.distribution.events.v2+json)
    const body = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : (event.body ?? "");
    const res = await receiveNotification({ headers: event.headers ?? {}, body }, { tokens: await registryTokens(config), send });
    if (res.statusCode >= 400) logger.warn("registry notification rejected", { statusCode: res.statusCode, reason: res.body.message });
    else logger.info("registry notification", { statusCode: res.statusCode, images: res.body.images });
    return json(res.statusCode, res.body);
  } catch (err) {
    logger.error("registry notification failed", err as Error);
    return json(500, { message: "internal error; the notification can be sent again" });
  }
});
