/**
 * The query API: the central view and drift history over HTTP, read-only, for dashboards and
 * scripts (the CLI reads DynamoDB directly). Routes, all GET, JSON answers:
 *
 * | route | answer |
 * | --- | --- |
 * | `/clusters?limit=&cursor=` | `{ clusters: [{ name, spec, status }], cursor? }` (limit 1..500, default 100) |
 * | `/clusters/{name}` | `{ name, spec, status, nextDueAt }`, 404 when unknown |
 * | `/clusters/{name}/drift?since=24h` | `{ events }` of that cluster, oldest first |
 * | `/drift?since=1h` | `{ events }` of every cluster (at most 7 days back) |
 * | `/resources/{key}/drift?since=7d` | `{ events }` of one resource (URL-encoded resource key) across clusters |
 * | `/clusters/{name}/operations?since=&limit=&cursor=` | `{ operations, cursor? }`: sync operations newest first, failures included, without per-resource results (`counts`, `resourceTotal` instead); `since` optional (default: all), limit 1..500, default 50 |
 * | `/clusters/{name}/operations/running` | the Running operation with its `resources`; 404 when none runs |
 * | `/clusters/{name}/operations/{id}` | one operation with its `resources`; 404 when unknown |
 *
 * Bad input is a 400 with the reason; an unknown route a 404.
 */
import { parseDuration } from "../cluster/spec.js";
import type { ClusterStore } from "../store/clusters.js";
import type { EventStore } from "../store/events.js";
import { InvalidCursorError, isOperationId, type OperationStore } from "../store/operations.js";

/** A request: method, path, query parameters. */
export interface QueryRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
}

/** The answer: status and JSON body. */
export interface QueryResponse {
  statusCode: number;
  body: unknown;
}

class BadRequest extends Error {}

function since(q: Record<string, string | undefined>, dflt: string, maxSeconds = Infinity, now = Date.now()): string {
  let seconds: number;
  try {
    seconds = parseDuration(q.since ?? dflt);
  } catch (err) {
    throw new BadRequest(`since: ${(err as Error).message}`);
  }
  if (seconds > maxSeconds) throw new BadRequest(`since: at most ${maxSeconds / 86400} days for this route`);
  return new Date(now - seconds * 1000).toISOString();
}

/** Answers one request. Throws only when DynamoDB fails (the handler answers 500). */
export async function handleQuery(req: QueryRequest, deps: { clusters: ClusterStore; events: EventStore; operations: OperationStore }): Promise<QueryResponse> {
  if (req.method !== "GET") return { statusCode: 405, body: { error: "only GET is served" } };
  const parts = req.path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts.length === 1 && parts[0] === "clusters") {
      const limit = Number(req.query.limit ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequest("limit must be an integer from 1 to 500");
      let page: Awaited<ReturnType<typeof deps.clusters.list>>;
      try {
        page = await deps.clusters.list({ limit, cursor: req.query.cursor });
      } catch (err) {
        if (req.query.cursor) throw new BadRequest("invalid cursor");
        throw err;
      }
      return { statusCode: 200, body: { clusters: page.clusters.map((c) => ({ name: c.name, spec: c.spec, status: c.status })), ...(page.cursor ? { cursor: page.cursor } : {}) } };
    }
    if (parts[0] === "clusters" && parts.length === 2) {
      const c = await deps.clusters.get(parts[1]!);
      if (!c) return { statusCode: 404, body: { error: `cluster "${parts[1]}" not found` } };
      return { statusCode: 200, body: { name: c.name, spec: c.spec, status: c.status, nextDueAt: new Date(c.nextDueAt).toISOString() } };
    }
    if (parts[0] === "clusters" && parts.length === 3 && parts[2] === "drift") {
      return { statusCode: 200, body: { events: await deps.events.byCluster(parts[1]!, since(req.query, "24h")) } };
    }
    if (parts.length === 1 && parts[0] === "drift") {
      return { statusCode: 200, body: { events: await deps.events.since(since(req.query, "1h", 7 * 86400)) } };
    }
    if (parts[0] === "resources" && parts.length === 3 && parts[2] === "drift") {
      return { statusCode: 200, body: { events: await deps.events.byResource(parts[1]!, since(req.query, "7d")) } };
    }
    if (parts[0] === "clusters" && parts[2] === "operations" && parts.length === 3) {
      const limit = Number(req.query.limit ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequest("limit must be an integer from 1 to 500");
      try {
        const page = await deps.operations.summaries(parts[1]!, { since: req.query.since ? since(req.query, "") : undefined, limit, cursor: req.query.cursor || undefined });
        return { statusCode: 200, body: { operations: page.operations, ...(page.cursor ? { cursor: page.cursor } : {}) } };
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new BadRequest("invalid cursor");
        throw err;
      }
    }
    if (parts[0] === "clusters" && parts[2] === "operations" && parts.length === 4) {
      const [, cluster, , id] = parts as [string, string, string, string];
      if (id === "running") {
        const op = await deps.operations.running(cluster);
        return op ? { statusCode: 200, body: op } : { statusCode: 404, body: { error: `no operation is running on cluster "${cluster}"` } };
      }
      if (!isOperationId(id)) throw new BadRequest(`invalid operation id "${id}" (expected <ISO start time>-<suffix>, e.g. 2026-11-23T10:00:00.000Z-3f9a1c)`);
      const op = await deps.operations.get(cluster, id);
      return op ? { statusCode: 200, body: op } : { statusCode: 404, body: { error: `operation ${id} of cluster "${cluster}" not found` } };
    }
    return { statusCode: 404, body: { error: `no route ${req.path}` } };
  } catch (err) {
    if (err instanceof BadRequest) return { statusCode: 400, body: { error: err.message } };
    throw err;
  }
}
