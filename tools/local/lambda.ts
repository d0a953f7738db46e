/**
 * Local stand-ins for the Lambda *runtime* (not for any AWS service): they hand the real
 * handlers in `functions/` the same event shapes Lambda would — a Function URL request, an
 * SQS batch from the real queue (ElasticMQ locally) — so the local mode runs the code that
 * is deployed.
 */
import * as http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSBatchResponse } from "aws-lambda";

/** A Lambda context good enough for middy and Powertools (they read names and the deadline). */
export function localContext(name: string, timeoutMs = 300_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

type UrlHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode?: number; headers?: Record<string, string | number | boolean>; body?: string }>;

/**
 * Serves `handler` as a Lambda Function URL on 127.0.0.1 (free port unless given).
 * Bodies are passed base64-encoded like Function URLs do for non-text types.
 * @returns the URL and a `close()`.
 */
export async function serveFunctionUrl(handler: UrlHandler, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
      const url = new URL(req.url ?? "/", "http://localhost");
      const event = {
        version: "2.0",
        routeKey: "$default",
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        requestContext: {
          http: { method: req.method ?? "GET", path: url.pathname, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
          requestId: randomUUID(),
          timeEpoch: Date.now(),
        },
        body: body.length ? body.toString("base64") : undefined,
        isBase64Encoded: body.length > 0,
      } as unknown as APIGatewayProxyEventV2;
      handler(event, localContext("converge-webhook")).then(
        (r) => {
          res.writeHead(r.statusCode ?? 200, Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, String(v)])));
          res.end(r.body ?? "");
        },
        (err: unknown) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: (err as Error).message }));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const { port: p } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${p}/`, close: () => new Promise((r) => server.close(() => r())) };
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Receives one batch (up to 10 messages, waiting up to `waitSeconds`) from the queue, runs
 * `handler` on it as Lambda's SQS event source would, and deletes the messages the handler
 * did not report as failed (failed ones come back after the visibility timeout).
 * @returns counts of received and failed messages.
 */
export async function pollOnce(sqs: SQSClient, queueUrl: string, handler: SqsHandler, waitSeconds = 1): Promise<{ received: number; failed: number }> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ["All"] }));
  const messages = out.Messages ?? [];
  if (messages.length === 0) return { received: 0, failed: 0 };
  const event: SQSEvent = {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? "",
      attributes: m.Attributes as SQSEvent["Records"][number]["attributes"],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:local:000000000000:${queueUrl.split("/").pop()}`,
      awsRegion: "local",
    })),
  };
  const result = await handler(event, localContext("converge-reconcile"));
  const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId!));
  if (done.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  return { received: messages.length, failed: failed.size };
}

/** Polls until the queue yields nothing for one poll, at most `maxPolls` batches. */
export async function drain(sqs: SQSClient, queueUrl: string, handler: SqsHandler, maxPolls = 50): Promise<{ received: number; failed: number }> {
  const total = { received: 0, failed: 0 };
  for (let i = 0; i < maxPolls; i++) {
    const r = await pollOnce(sqs, queueUrl, handler);
    if (r.received === 0) break;
    total.received += r.received;
    total.failed += r.failed;
  }
  return total;
}
