/**
 * The control plane's loop in a test, on the real queues: the reconcile and resume functions'
 * handlers polled the way the Lambda runtime polls SQS, the tick played every 3 s.
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { ClusterStatus } from "../../shared/cluster/status.js";
import { sqsClient } from "../../shared/queue/tasks.js";
import { pollOnce } from "../../tools/local/lambda.js";
import { captureStdout, type Isolated } from "./stack.js";
import { waitFor } from "./wait.js";

/** An SQS-triggered function's handler. */
export type SqsHandler = (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

/**
 * Runs the reconcile function on what the FIFO queue holds and forwards due resumes to it,
 * until the status of every cluster of `names` satisfies `done` (90 s at most). A cluster
 * synced but still Progressing (its pods starting) is looked at again by the tick at its
 * interval: that tick is played every 3 s rather than waited for.
 * @returns the statuses by cluster name.
 * @throws Error on the timeout, with the last statuses and the reconciles' last warnings and errors.
 */
export async function reconcileFleetUntil(
  iso: Isolated,
  fns: { reconcile: SqsHandler; resume: SqsHandler },
  names: string[],
  what: string,
  done: (s: ClusterStatus) => boolean,
): Promise<Record<string, ClusterStatus>> {
  const sqs = sqsClient(iso.services.config);
  let last: Record<string, ClusterStatus> = {};
  let lastTick = Date.now();
  const problems: string[] = [];
  const step = async () => {
    await pollOnce(sqs, iso.env.CONVERGE_RESUME_QUEUE_URL!, fns.resume, 0);
    const { lines } = await captureStdout(() => pollOnce(sqs, iso.queueUrl, fns.reconcile, 1));
    problems.push(...lines.filter((l) => /"level":"(WARN|ERROR)"/.test(l)));
    last = Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await iso.services.clusters.get(n))!.status] as const)));
    if (Object.values(last).every(done)) return last;
    if (Date.now() - lastTick > 3000) {
      lastTick = Date.now();
      const idle = names.filter((n) => !done(last[n]!) && !last[n]!.operation);
      await iso.services.queue!.send(
        idle.map((cluster) => ({ cluster, reason: "tick" as const, enqueuedAt: new Date().toISOString() })),
        1000,
      );
    }
    return undefined;
  };
  return waitFor(what, step, 90_000, { context: () => `last statuses: ${JSON.stringify(last)}; reconcile warnings and errors:\n${problems.slice(-20).join("\n")}` });
}
