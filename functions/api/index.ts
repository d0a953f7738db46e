/**
 * Query API function behind an HTTP API with IAM authorization. Thin adapter over
 * `shared/api/query.ts`.
 */
import middy from "@middy/core";
import { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { loadConfig } from "../../shared/config.js";
import { clusterStore, eventStore, operationStore, snapshotStore } from "../../shared/compose/stores.js";
import { handleQuery } from "../../shared/api/query.js";

const logger = new Logger({ serviceName: "converge-api" });
const config = loadConfig();
const stores = { clusters: clusterStore(config), events: eventStore(config), operations: operationStore(config), snapshots: snapshotStore(config) };

/** HTTP API (payload 2.0) handler. */
export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    const res = await handleQuery({ method: event.requestContext.http.method, path: event.rawPath, query: event.queryStringParameters ?? {} }, stores);
    return { statusCode: res.statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(res.body) };
  } catch (err) {
    logger.error("query failed", err as Error);
    return { statusCode: 500, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: "internal error" }) };
  }
});
