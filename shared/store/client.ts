/**
 * DynamoDB document client construction, honouring the local endpoint override
 * (`CONVERGE_DYNAMODB_ENDPOINT`, e.g. DynamoDB Local) of `shared/config.ts`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { ConvergeConfig } from "../config.js";
import { instrumented } from "../instrument.js";

/** A document client that drops `undefined` attributes (so optional fields may be left unset). */
export function documentClient(cfg: Pick<ConvergeConfig, "region" | "dynamodbEndpoint">): DynamoDBDocumentClient {
  const client = instrumented(
    new DynamoDBClient({
      region: cfg.region,
      ...(cfg.dynamodbEndpoint ? { endpoint: cfg.dynamodbEndpoint } : {}),
      maxAttempts: 5,
    }),
  );
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** True when `err` is DynamoDB's ConditionalCheckFailedException (a failed conditional write). */
export function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";
}

/** Every item a Query returns, following `LastEvaluatedKey` page after page. */
export async function queryAll<T>(db: DynamoDBDocumentClient, input: QueryCommandInput): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...((out.Items ?? []) as T[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Writes `requests` to `table` in BatchWriteItem calls of 25 (its limit), retrying unprocessed
 * items with exponential backoff (50 ms doubling, capped at 1 s).
 */
export async function batchWriteAll(db: DynamoDBDocumentClient, table: string, requests: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let batch: unknown[] = requests.slice(i, i + 25);
    for (let attempt = 0; batch.length > 0; attempt++) {
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: batch as never } }));
      batch = out.UnprocessedItems?.[table] ?? [];
      if (batch.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}
