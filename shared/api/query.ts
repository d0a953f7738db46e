/**
 * The query API: the central view and drift history over HTTP, read-only, for dashboards and
 * scripts (the CLI reads DynamoDB directly). Routes, all GET, JSON answers:
 *
 * | route | answer |
 * | --- | --- |
 * | `/clusters?limit=&cursor=&selector=` | `{ clusters: [{ name, spec, status }], cursor? }` (limit 1..500, default 100); `selector` (`env=prod,tier in (web)`) keeps the page's clusters whose labels match, so a page may hold fewer |
 * | `/fleet?sync=&health=&selector=&q=&sort=&order=&offset=&limit=` | `{ total, matched, counts: { sync, health }, offset, limit, clusters: [row], readAt }`: every cluster filtered (sync and health lists comma-separated, label selector, text), sorted (`name`, `sync`, `health`, `revision`, `drifted`, `lastReconcile`, `outOfSyncSince`; `order=asc|desc`) and paged on the server (limit 1..500, default 50); see `fleet.ts` |
 * | `/fleet/operations?names=a,b` | `{ operations: { <name>: summary } }`: the last sync operation of each named cluster (at most 200 names; one Query each), for the page's rows |
 * | `/fleet/history?since=24h&points=96` | `{ t, synced, outOfSync, unknown, error, source }`: clusters per sync status over time (at most 30 days back, 10..500 points) |
 * | `/clusters/{name}/resources` | `{ revision, resources: [{ key, group, kind, namespace, name, state, health?, paths, changes? }] }`: the last comparison's resources with their drift, changed values (Secret values as digests) and health; 404 before the first comparison |
 * | `/clusters/{name}/sync-changes?since=24h` | `{ changes }`: the cluster's sync status changes (Synced / OutOfSync / Unknown / Error), oldest first |
 * | `/clusters/{name}` | `{ name, spec, status, nextDueAt, createdAt }`, 404 when unknown |
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
import { matchesSelector, parseSelector, SelectorError, type Selector } from "../cluster/selector.js";
import type { ClusterStore } from "../store/clusters.js";
import type { EventStore } from "../store/events.js";
import { InvalidCursorError, isOperationId, type OperationStore, type OperationSummary } from "../store/operations.js";
import type { SnapshotStore } from "../store/snapshots.js";
import { FLEET_SORTS, FleetView, storeFleet, SYNC_STATUSES, type FleetSort } from "./fleet.js";
import type { SyncStatus } from "../model.js";

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

function selectorOf(q: Record<string, string | undefined>): Selector | undefined {
  if (!q.selector) return undefined;
  try {
    return parseSelector(q.selector);
  } catch (err) {
    if (err instanceof SelectorError) throw new BadRequest(`selector: ${err.message}`);
    throw err;
  }
}

/** An integer query parameter from `min` to `max`, or `dflt` when absent. */
function intParam(q: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number): number {
  const v = q[name] === undefined || q[name] === "" ? dflt : Number(q[name]);
  if (!Number.isInteger(v) || v < min || v > max) throw new BadRequest(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/** A comma-separated list parameter whose every item is one of `allowed`. */
function listParam<T extends string>(q: Record<string, string | undefined>, name: string, allowed: readonly T[]): T[] | undefined {
  if (!q[name]) return undefined;
  const items = q[name]!.split(",").filter(Boolean);
  const bad = items.find((i) => !allowed.includes(i as T));
  if (bad !== undefined) throw new BadRequest(`${name}: "${bad}" is not one of ${allowed.join(", ")}`);
  return items as T[];
}

/** What the query layer reads. `snapshots` serves `/clusters/{name}/resources`; `fleet` defaults to one kept per cluster store (see `fleet.ts`). */
export interface QueryDeps {
  clusters: ClusterStore;
  events: EventStore;
  operations: OperationStore;
  snapshots?: Pick<SnapshotStore, "getObserved">;
  fleet?: FleetView;
}

const fleets = new WeakMap<object, FleetView>();

/** The fleet view of `deps`: theirs, or one kept per cluster store (rows read with the store's paging). */
function fleetOf(deps: QueryDeps): FleetView {
  if (deps.fleet) return deps.fleet;
  let f = fleets.get(deps.clusters);
  if (!f) {
    f = new FleetView(() => storeFleet(deps.clusters));
    fleets.set(deps.clusters, f);
  }
  return f;
}

/** The last operation of each named cluster (16 Queries in flight), by cluster name. */
async function lastOperations(operations: OperationStore, names: string[]): Promise<Map<string, OperationSummary>> {
  const out = new Map<string, OperationSummary>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const op = (await operations.summaries(names[i]!, { limit: 1 })).operations[0];
      if (op) out.set(names[i]!, op);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, names.length) }, worker));
  return out;
}

/** Answers one request. Throws only when DynamoDB fails (the handler answers 500). */
export async function handleQuery(req: QueryRequest, deps: QueryDeps): Promise<QueryResponse> {
  if (req.method !== "GET") return { statusCode: 405, body: { error: "only GET is served" } };
  const parts = req.path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts.length === 1 && parts[0] === "clusters") {
      const limit = Number(req.query.limit ?? 100);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequest("limit must be an integer from 1 to 500");
      const selector = selectorOf(req.query);
      let page: Awaited<ReturnType<typeof deps.clusters.list>>;
      try {
        page = await deps.clusters.list({ limit, cursor: req.query.cursor });
      } catch (err) {
        if (req.query.cursor) throw new BadRequest("invalid cursor");
        throw err;
      }
      const clusters = selector ? page.clusters.filter((c) => matchesSelector(selector, c.spec.labels)) : page.clusters;
      return { statusCode: 200, body: { clusters: clusters.map((c) => ({ name: c.name, spec: c.spec, status: c.status })), ...(page.cursor ? { cursor: page.cursor } : {}) } };
    }
    if (parts.length === 1 && parts[0] === "fleet") {
      const page = await fleetOf(deps).page({
        sync: listParam<SyncStatus>(req.query, "sync", SYNC_STATUSES),
        health: listParam(req.query, "health", ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown", "None"]),
        selector: selectorOf(req.query),
        text: req.query.q,
        sort: (listParam<FleetSort>(req.query, "sort", FLEET_SORTS) ?? [])[0],
        order: (listParam(req.query, "order", ["asc", "desc"] as const) ?? [])[0],
        offset: intParam(req.query, "offset", 0, 0, 10_000_000),
        limit: intParam(req.query, "limit", 50, 1, 500),
      });
      return { statusCode: 200, body: page };
    }
    if (parts.length === 2 && parts[0] === "fleet" && parts[1] === "operations") {
      const names = (req.query.names ?? "").split(",").filter(Boolean);
      if (names.length > 200) throw new BadRequest("names: at most 200 clusters");
      const bad = names.find((n) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n));
      if (bad !== undefined) throw new BadRequest(`names: "${bad}" is not a cluster name`);
      return { statusCode: 200, body: { operations: Object.fromEntries(await lastOperations(deps.operations, names)) } };
    }
    if (parts.length === 2 && parts[0] === "fleet" && parts[1] === "history") {
      const now = Date.now();
      const from = since(req.query, "24h", 30 * 86400, now);
      const points = intParam(req.query, "points", 96, 10, 500);
      return { statusCode: 200, body: await fleetOf(deps).series(await deps.events.fleetSyncChanges(from), Date.parse(from), now, points) };
    }
    if (parts[0] === "clusters" && parts.length === 3 && parts[2] === "resources") {
      if (!deps.snapshots) return { statusCode: 501, body: { error: "this deployment does not serve resources (no snapshots table configured)" } };
      const observed = await deps.snapshots.getObserved(parts[1]!);
      if (!observed) return { statusCode: 404, body: { error: `cluster "${parts[1]}" has no comparison recorded yet` } };
      const keys = new Set([...Object.keys(observed.inventory ?? {}), ...Object.keys(observed.resources)]);
      const resources = [...keys].sort().map((key) => {
        const [group = "", kind = "", namespace = "", name = ""] = key.split("/");
        const drift = observed.resources[key];
        const health = observed.inventory?.[key];
        return {
          key,
          group,
          kind,
          ...(namespace ? { namespace } : {}),
          name,
          state: drift?.state ?? "Synced",
          ...(health ? { health } : {}),
          paths: drift?.paths ?? [],
          ...(drift?.changes ? { changes: drift.changes } : {}),
        };
      });
      return { statusCode: 200, body: { revision: observed.revision, complete: observed.inventory !== undefined, resources } };
    }
    if (parts[0] === "clusters" && parts.length === 3 && parts[2] === "sync-changes") {
      return { statusCode: 200, body: { changes: await deps.events.syncChanges(parts[1]!, since(req.query, "24h")) } };
    }
    if (parts[0] === "clusters" && parts.length === 2) {
      const c = await deps.clusters.get(parts[1]!);
      if (!c) return { statusCode: 404, body: { error: `cluster "${parts[1]}" not found` } };
      return { statusCode: 200, body: { name: c.name, spec: c.spec, status: c.status, nextDueAt: new Date(c.nextDueAt).toISOString(), createdAt: c.createdAt } };
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
