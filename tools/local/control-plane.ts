/**
 * The whole control plane running locally, as deployed, until stopped (`npm run demo -- --keep`,
 * test/integration/local-keep.test.ts):
 * - the webhook function (functions/webhook) served as a Function URL on 127.0.0.1 (it accepts
 *   every Git host the deployed one does), and a `post-receive` hook in the given bare
 *   repositories of the local Git server that delivers a signed GitHub push to it after every
 *   `git push`;
 * - the tick every `tickMs` (EventBridge runs it every minute in AWS): clusters whose interval
 *   (30 s at least) elapsed are enqueued. Its deduplication window is its period, as in AWS
 *   where both are a minute (`tick()` of shared/schedule, like functions/tick);
 * - a worker draining the FIFO queue through the reconcile function (functions/reconcile), as
 *   Lambda's SQS event source does (batches of 10, failed messages come back), and one
 *   forwarding what the resume queue releases (functions/resume) when one is configured;
 * - when the environment names an image queue (`CONVERGE_IMAGE_QUEUE_URL`): the image-receive
 *   function (functions/image-receive) served as a second Function URL for registry
 *   notifications, and a worker running the images function (functions/images) on the image
 *   queue, each batch taken once `IMAGE_BATCH_WINDOW_MS` passed after a trigger arrived (the
 *   event source's batching window in AWS), and the scan (policies with an `interval`) every
 *   minute, as the schedule runs it in AWS;
 * - one line per event through `onEvent` (events.ts).
 * Configuration comes from process.env (shared/config.ts), which must name the queue and the
 * webhook secret before the first call: the functions read it when first imported.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { loadConfig, type ConvergeConfig } from "../../shared/config.js";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient, TaskQueue, type ReconcileTask } from "../../shared/queue/tasks.js";
import { tick } from "../../shared/schedule/tick.js";
import { SCAN_PERIOD_MS } from "../../shared/images/scan.js";
import { webhookSecrets } from "../../shared/secrets.js";
import { createServices } from "../../shared/services.js";
import { clock, describeDelivery, StoreWatcher } from "./events.js";
import { localContext, pollOnce, serveFunctionUrl } from "./lambda.js";
import { installPushHook } from "./push-hook.js";

/** Options of `startControlPlane`. */
export interface ControlPlaneOptions {
  /** Period of the tick, ms (default 2,000). */
  tickMs?: number;
  /** Port of the webhook URL on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Bare repositories of the local Git server to install the push hook in, with the URL clusters use for them. */
  hooks?: { dir: string; url: string }[];
  /** Receives one line per event, prefixed with the time of day. */
  onEvent?: (line: string) => void;
}

/** A running local control plane. */
export interface LocalControlPlane {
  /** The webhook function's URL (`http://127.0.0.1:<port>/`). */
  webhookUrl: string;
  /** The image-receive function's URL, for registry notifications (with an image queue). */
  imageReceiveUrl?: string;
  /** Reports what changed in the stores now, without waiting for the next tick. */
  check(): Promise<void>;
  /** Stops the tick, lets the worker finish its batch, closes the webhook URL. Idempotent. */
  stop(): Promise<void>;
}

/** How long the image worker lets triggers gather before it takes a batch: 2 s (AWS: the event source's 5 s batching window). */
export const IMAGE_BATCH_WINDOW_MS = 2_000;

type UrlHandler = Parameters<typeof serveFunctionUrl>[0];
type SqsHandler = Parameters<typeof pollOnce>[2];

/** A queue whose tick messages deduplicate per tick period instead of per minute. */
class TickQueue extends TaskQueue {
  constructor(
    cfg: ConvergeConfig,
    private readonly windowMs: number,
  ) {
    super(sqsClient(cfg), cfg.queueUrl!);
  }
  override send(tasks: ReconcileTask[]): Promise<number> {
    return super.send(tasks, this.windowMs);
  }
}

/**
 * Starts the webhook URL, the push hooks, the tick and the worker.
 * @throws Error when process.env names no queue or no GitHub webhook secret.
 */
export async function startControlPlane(o: ControlPlaneOptions = {}): Promise<LocalControlPlane> {
  const cfg = loadConfig();
  // the push hooks sign as GitHub does, with the first GitHub secret
  const githubSecret = (await webhookSecrets(cfg).catch(() => undefined))?.github?.[0];
  if (!cfg.queueUrl || !githubSecret)
    throw new Error("the local control plane needs CONVERGE_QUEUE_URL and a GitHub webhook secret (CONVERGE_WEBHOOK_SECRET, or CONVERGE_WEBHOOK_SECRETS with a github entry) in the environment");
  const tickMs = o.tickMs ?? 2_000;
  const emit = (line: string) => o.onEvent?.(`${clock()} ${line}`);
  const [webhook, reconcile, resume] = await Promise.all([import("../../functions/webhook/index.js"), import("../../functions/reconcile/index.js"), import("../../functions/resume/index.js")]);
  const services = createServices(cfg);
  const watcher = new StoreWatcher(services, emit);
  await watcher.seed();
  const served = await serveFunctionUrl(reporting(webhook.handler as unknown as UrlHandler, emit), o.port);
  for (const h of o.hooks ?? []) installPushHook(h.dir, { webhookUrl: served.url, secret: githubSecret, repoUrl: h.url });
  const stopping = new AbortController();
  const logger = new Logger({ serviceName: "converge-tick" });
  const queue = new TickQueue(cfg, tickMs);
  const sqs = sqsClient(cfg);
  const loops = [
    repeat(stopping.signal, tickMs, emit, async () => {
      const r = await tick({ clusters: services.clusters, queue });
      if (r.due) logger.info("tick", { due: r.due, enqueued: r.enqueued });
      await watcher.check();
    }),
    repeat(stopping.signal, 0, emit, async () => {
      const r = await pollOnce(sqs, cfg.queueUrl!, reconcile.handler as unknown as SqsHandler, 1);
      if (r.received) await watcher.check();
    }),
  ];
  if (cfg.resumeQueueUrl) loops.push(repeat(stopping.signal, 0, emit, async () => void (await pollOnce(sqs, cfg.resumeQueueUrl!, resume.handler as unknown as SqsHandler, 1))));
  const images = cfg.imageQueueUrl ? await startImageWorker(cfg, stopping.signal, emit) : undefined;
  if (images) loops.push(images.loop);
  let stopped: Promise<void> | undefined;
  return {
    webhookUrl: served.url,
    ...(images ? { imageReceiveUrl: images.url } : {}),
    check: () => watcher.check(),
    stop: () =>
      (stopped ??= (async () => {
        stopping.abort();
        await Promise.allSettled(loops);
        await served.close();
        await images?.close();
      })()),
  };
}

/** The image-receive URL and the image queue's worker (see the module's docstring). */
async function startImageWorker(cfg: ConvergeConfig, signal: AbortSignal, emit: (line: string) => void) {
  const [receive, images] = await Promise.all([import("../../functions/image-receive/index.js"), import("../../functions/images/index.js")]);
  const served = await serveFunctionUrl(receive.handler as unknown as UrlHandler);
  const sqs = sqsClient(cfg);
  const loop = repeat(signal, 0, emit, async () => {
    const peek = await sqs.send(new ReceiveMessageCommand({ QueueUrl: cfg.imageQueueUrl!, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
    if (!peek.Messages?.length) return;
    await sleep(IMAGE_BATCH_WINDOW_MS, undefined, { signal }).catch(() => undefined);
    const r = await pollOnce(sqs, cfg.imageQueueUrl!, images.handler as unknown as SqsHandler, 0);
    if (r.received) emit(`image update: ${r.received} trigger(s) handled${r.failed ? `, ${r.failed} to retry` : ""}`);
  });
  const scan = images.handler as unknown as (e: unknown, c: Context) => Promise<{ branches: number; commits: number; errors: number }>;
  const scanning = repeat(signal, SCAN_PERIOD_MS, emit, async () => {
    const r = await scan({ scan: true }, localContext("converge-images"));
    if (r.branches) emit(`image scan: ${r.branches} branch(es) scanned, ${r.commits} commit(s), ${r.errors} error(s)`);
  });
  return { url: served.url, loop: Promise.all([loop, scanning]).then(() => undefined), close: () => served.close() };
}

/** The webhook handler, emitting a line per delivery. */
function reporting(handler: UrlHandler, emit: (line: string) => void): UrlHandler {
  return async (event: APIGatewayProxyEventV2, context: Context) => {
    const res = await handler(event, context);
    emit(describeDelivery(event, res.statusCode ?? 200, res.body));
    return res;
  };
}

/** Runs `step` until `signal` aborts, `pauseMs` apart; a failing step is reported and retried a second later. */
async function repeat(signal: AbortSignal, pauseMs: number, emit: (line: string) => void, step: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    let pause = pauseMs;
    try {
      await step();
    } catch (err) {
      if (signal.aborted) break;
      emit(`error: ${(err as Error).message}`);
      pause = Math.max(pause, 1_000);
    }
    if (pause > 0) await sleep(pause, undefined, { signal }).catch(() => undefined);
  }
}
