/**
 * Request counters of the fleet benchmark: an AWS SDK v3 middleware registered through
 * `shared/instrument.ts` on every real DynamoDB and SQS client the code under test creates,
 * and a `node:diagnostics_channel` subscriber counting the HTTP requests sent to the
 * Kubernetes API servers and the Git server. Nothing is mocked: the counts are the requests the
 * real code sent to the real components.
 *
 * DynamoDB capacity: the middleware sets `ReturnConsumedCapacity: "INDEXES"` on every data-plane
 * request and adds up what DynamoDB (Local) returns, for the table and each index, split into
 * read request units (RRU) and write request units (WRU) by operation. A write whose condition
 * fails returns no `ConsumedCapacity` but is billed as a write
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate):
 * it is counted as 1 WRU (items under 1 KB) and reported apart.
 */
import { subscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { addClientPlugin } from "../shared/instrument.js";

/** What was sent, cumulative since `installCounters`. */
export interface Counts {
  /** DynamoDB requests (HTTP attempts, retries included) by operation, e.g. `GetItem`. */
  ddb: Record<string, number>;
  /** Read request units (strongly consistent 4 KB = 1, eventually consistent = 0.5). */
  rru: number;
  /** Write request units, table and indexes. */
  wru: number;
  /** Of `wru`: units written to global secondary indexes. */
  indexWru: number;
  /** Writes refused by their condition (each counted as 1 WRU in `wru`). */
  conditionFailed: number;
  /** SQS requests by operation, e.g. `SendMessageBatch`. */
  sqs: Record<string, number>;
  /** Messages sent (entries of SendMessage / SendMessageBatch). */
  sqsMessages: number;
  /** HTTP requests to the Kubernetes API servers. */
  kube: number;
  /** HTTP requests to the Git server. */
  git: number;
}

const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

/** An empty count. */
export function zero(): Counts {
  return { ddb: {}, rru: 0, wru: 0, indexWru: 0, conditionFailed: 0, sqs: {}, sqsMessages: 0, kube: 0, git: 0 };
}

/** `b - a`, field by field. */
export function minus(b: Counts, a: Counts): Counts {
  const sub = (x: Record<string, number>, y: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(x)
        .map(([k, v]) => [k, v - (y[k] ?? 0)])
        .filter(([, v]) => v !== 0),
    );
  return {
    ddb: sub(b.ddb, a.ddb),
    rru: b.rru - a.rru,
    wru: b.wru - a.wru,
    indexWru: b.indexWru - a.indexWru,
    conditionFailed: b.conditionFailed - a.conditionFailed,
    sqs: sub(b.sqs, a.sqs),
    sqsMessages: b.sqsMessages - a.sqsMessages,
    kube: b.kube - a.kube,
    git: b.git - a.git,
  };
}

/** Sum of the values of a per-operation record. */
export function total(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

type Capacity = { CapacityUnits?: number; Table?: { CapacityUnits?: number }; GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }> };

/**
 * Registers the counters (call before anything creates an AWS client or sends a request).
 * `hosts` classifies HTTP requests by `host:port`: the Kubernetes API servers and the Git server
 * (read at each request: hosts added later count from then on).
 * @returns a function giving a copy of the counts so far.
 */
export function installCounters(hosts: { kube: string[]; git: string[] }): () => Counts {
  const c = zero();
  subscribe("http.client.request.start", (msg) => {
    const host = String((msg as { request: ClientRequest }).request.getHeader("host") ?? "");
    if (hosts.kube.includes(host)) c.kube++;
    else if (hosts.git.includes(host)) c.git++;
  });
  const add = (r: Record<string, number>, k: string, n: number) => {
    r[k] = (r[k] ?? 0) + n;
  };
  const capacity = (op: string, cc: Capacity | Capacity[] | undefined) => {
    for (const x of Array.isArray(cc) ? cc : cc ? [cc] : []) {
      const units = x.CapacityUnits ?? 0;
      if (WRITES.has(op)) {
        c.wru += units;
        c.indexWru += Object.values(x.GlobalSecondaryIndexes ?? {}).reduce((a, g) => a + (g.CapacityUnits ?? 0), 0);
      } else c.rru += units;
    }
  };
  addClientPlugin({
    applyToStack(stack) {
      stack.add(
        (next, context) => async (args) => {
          const service = String(context.clientName ?? "");
          const op = String(context.commandName ?? "").replace(/Command$/, "");
          const input = args.input as Record<string, unknown>;
          const dynamo = service.startsWith("DynamoDB");
          if (dynamo && (READS.has(op) || WRITES.has(op)) && input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = "INDEXES";
          if (!dynamo && (op === "SendMessageBatch" || op === "SendMessage")) c.sqsMessages += op === "SendMessage" ? 1 : ((input.Entries as unknown[] | undefined)?.length ?? 0);
          try {
            const out = await next(args);
            const meta = (out.output as { $metadata?: { attempts?: number } }).$metadata;
            add(dynamo ? c.ddb : c.sqs, op, meta?.attempts ?? 1);
            if (dynamo) capacity(op, (out.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity);
            return out;
          } catch (err) {
            add(dynamo ? c.ddb : c.sqs, op, (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1);
            if (dynamo && (err as { name?: string }).name === "ConditionalCheckFailedException") {
              c.conditionFailed++;
              c.wru += 1;
            }
            throw err;
          }
        },
        { step: "initialize", name: "convergeFleetCounter" },
      );
    },
  });
  return () => structuredClone(c);
}
