/**
 * Processing one SQS FIFO batch the way FIFO ordering requires: one receive may hold several
 * messages of one message group (one cluster), in order, and messages of several groups.
 * Messages of one group run one after another; groups run concurrently; at a group's first
 * failure the rest of that group is not processed and is reported failed too, so SQS
 * redelivers them after the failed one, in order
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting,
 * "for FIFO queues ... stop processing messages after the first failure and return all failed
 * and unprocessed messages").
 *
 * Powertools' `SqsFifoPartialProcessor` keeps that order but runs every group one after the
 * other; a reconcile waits on Git and cluster APIs, so groups run here concurrently.
 */

/** The part of an SQS record this module reads. */
export interface FifoRecord {
  messageId: string;
  attributes: { MessageGroupId?: string };
}

/**
 * Runs `handle` on every record of `records`: groups concurrently (at most `concurrency`
 * groups at once), a group's records in their order, a group stopped at its first failure.
 * @returns the message ids that failed or were not processed (SQS `batchItemFailures`), in
 *   the order of `records`. Never throws: `handle`'s errors are reported through `onError`.
 */
export async function processFifoBatch<R extends FifoRecord>(
  records: readonly R[],
  handle: (r: R) => Promise<void>,
  opts: { concurrency?: number; onError?: (r: R, err: unknown) => void } = {},
): Promise<string[]> {
  const groups = new Map<string, R[]>();
  for (const r of records) {
    const g = r.attributes.MessageGroupId ?? r.messageId;
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  const failed = new Set<string>();
  const runGroup = async (group: R[]) => {
    for (const [i, r] of group.entries()) {
      try {
        await handle(r);
      } catch (err) {
        opts.onError?.(r, err);
        for (const rest of group.slice(i)) failed.add(rest.messageId);
        return;
      }
    }
  };
  const queue = [...groups.values()];
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 10, queue.length)) }, async () => {
    for (let g = queue.shift(); g; g = queue.shift()) await runGroup(g);
  });
  await Promise.all(workers);
  return records.filter((r) => failed.has(r.messageId)).map((r) => r.messageId);
}
