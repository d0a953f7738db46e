/**
 * Images function: the image update automation (shared/images). Two kinds of invocation:
 * - a batch of the image queue (registry notifications enqueued by the image-receive function,
 *   Amazon ECR "ECR Image Action" events put there by an EventBridge rule): one image update
 *   per trigger source, the batch's images merged (`triggersOf`), so images pushed together make
 *   one commit;
 * - anything else, i.e. the EventBridge Scheduler schedule (`{"scan": true}`): the scan of the
 *   policies with an `interval` (shared/images/scan.ts).
 * Thin adapter over `updateImages` and `scanImages`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { imageScanDeps } from "../../shared/compose/images.js";
import { normalizeRepoUrl } from "../../shared/git/url.js";
import { scanImages } from "../../shared/images/scan.js";
import { triggersOf } from "../../shared/images/trigger.js";
import { IMAGE_NOT_WRITTEN_MESSAGE } from "../../shared/metrics/signals.js";
import { updateImages, type BranchOutcome, type ImageTrigger } from "../../shared/images/update.js";

const logger = new Logger({ serviceName: "converge-images" });
const config = loadConfig();
const deps = imageScanDeps({ config });

/** What a scan run reports: branches scanned, commits pushed, branches with an error. */
interface ScanResult {
  branches: number;
  commits: number;
  errors: number;
}

/** One log line per branch outcome: a warning when something would change but was not written, or the branch could not be read. */
function logOutcome(o: BranchOutcome, trigger: Pick<ImageTrigger, "source" | "eventId">): void {
  const fields = {
    source: trigger.source,
    eventId: trigger.eventId,
    repo: normalizeRepoUrl(o.repoUrl), // without the user information a URL may carry
    branch: o.branch,
    pushBranch: o.pushBranch,
    pullRequest: o.pullRequest?.url,
    clusters: o.clusters,
    base: o.base,
    commit: o.commit,
    attempts: o.attempts,
    changes: o.changes.map((c) => `${c.image}: ${c.from || "(none)"} -> ${c.to} (${c.file}:${c.line})`),
    warnings: o.warnings.length ? o.warnings : undefined,
    error: o.error,
  };
  if (o.error) logger.warn(IMAGE_NOT_WRITTEN_MESSAGE, fields);
  else logger.info(o.commit ? "image update committed" : "image update: nothing to change", fields);
}

/**
 * A queue batch: bodies that are not triggers are logged (index and reason) and dropped; when an
 * update throws (Git or DynamoDB unreachable), every message of the batch but those dropped is reported
 * failed so SQS delivers it again (an update already pushed finds its fields moved: no second commit).
 */
async function onBatch(event: SQSEvent): Promise<SQSBatchResponse> {
  const { triggers, invalid } = triggersOf(event.Records.map((r) => r.body));
  for (const i of invalid) logger.error("image trigger dropped", { messageId: event.Records[i.index]?.messageId, reason: i.reason });
  try {
    for (const t of triggers) for (const o of await updateImages(deps, t)) logOutcome(o, t);
    return { batchItemFailures: [] };
  } catch (err) {
    const dropped = new Set(invalid.map((i) => i.index));
    const retried = event.Records.filter((_, i) => !dropped.has(i)).map((r) => ({ itemIdentifier: r.messageId }));
    logger.error("image update failed; the batch is retried", { error: (err as Error).message, messages: retried.length });
    return { batchItemFailures: retried };
  }
}

/** The scheduled scan. @throws Git and DynamoDB errors (the next run scans again). */
async function onSchedule(): Promise<ScanResult> {
  const outcomes = await scanImages(deps);
  for (const o of outcomes) logOutcome(o, { source: "scan" });
  return { branches: outcomes.length, commits: outcomes.filter((o) => o.commit).length, errors: outcomes.filter((o) => o.error).length };
}

/** SQS batch (`Records`) or schedule handler. */
export const handler = middy(async (event: SQSEvent | Record<string, unknown> | undefined): Promise<SQSBatchResponse | ScanResult> => {
  if (event && Array.isArray((event as SQSEvent).Records)) return onBatch(event as SQSEvent);
  return onSchedule();
});
