/**
 * DynamoDB document client construction, honouring the local endpoint override
 * (`CONVERGE_DYNAMODB_ENDPOINT`, e.g. DynamoDB Local) of `shared/config.ts`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ConvergeConfig } from "../config.js";

/** A document client that drops `undefined` attributes (so optional fields may be left unset). */
export function documentClient(cfg: Pick<ConvergeConfig, "region" | "dynamodbEndpoint">): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: cfg.region,
    ...(cfg.dynamodbEndpoint ? { endpoint: cfg.dynamodbEndpoint } : {}),
    maxAttempts: 5,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** True when `err` is DynamoDB's ConditionalCheckFailedException (a failed conditional write). */
export function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";
}
