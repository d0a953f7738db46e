/**
 * The fleet view of the query API: every cluster's row (sync, health, revision, drift counts,
 * last reconcile, labels, message), filtered by sync status, health, label selector and text,
 * sorted and paged on the server, with summary counts; and the fleet's OutOfSync / Error /
 * Unknown series over time.
 *
 * Rows come from one projected, parallel Scan of the clusters table (about 250 bytes per
 * cluster returned instead of the whole registration; read units are still counted on whole
 * items: about 1,250 for 10,000 clusters of 1 KB), kept in memory and refreshed in the
 * background once older than `maxAgeMs` or five times the last Scan's duration, whichever is
 * longer (stale while revalidating). So polling pages cost at most one Scan per that period
 * whatever the number of viewers, the table is never scanned more than a fifth of the time,
 * and a page of 10,000 clusters is served from memory. A page lags the table by up to that
 * period plus one Scan.
 *
 * The series is rebuilt from what the reconciles stored when it happened: each cluster's
 * current sync status (the rows) walked back through the sync status changes of every
 * cluster since the start of the window (`EventStore.fleetSyncChanges`, one Query), clusters
 * counted from their registration.
 */
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ClusterStore } from "../store/clusters.js";
import type { SyncChange } from "../store/events.js";
import type { SyncStatus } from "../model.js";
import type { ResourceCounts } from "../cluster/status.js";
import { matchesSelector, type Selector } from "../cluster/selector.js";

/** One cluster as the fleet page lists it. */
export interface FleetRow {
  name: string;
  labels: Record<string, string>;
  sync: SyncStatus;
  health?: string;
  /** Commit SHA last reconciled. */
  revision?: string;
  counts: ResourceCounts;
  /** Modified + Missing + Extra; absent before the first reconcile that computed drift. */
  drifted?: number;
  lastReconcileAt?: string;
  message?: string;
  outOfSyncSince?: string;
  failingSince?: string;
  /** Id of the sync operation running now. */
  runningOperation?: string;
  syncPolicy: string;
  repoUrl: string;
  branch: string;
  ref?: string;
  path: string;
  /** Rolled back (automated sync paused) to this revision. */
  rolledBackTo?: string;
  createdAt: string;
}

/** The sync statuses, in the order summaries list them. */
export const SYNC_STATUSES: readonly SyncStatus[] = ["Synced", "OutOfSync", "Unknown", "Error"];

/** Sort keys of the fleet list. */
export const FLEET_SORTS = ["name", "sync", "health", "revision", "drifted", "lastReconcile", "outOfSyncSince"] as const;
/** One of `FLEET_SORTS`. */
export type FleetSort = (typeof FLEET_SORTS)[number];

/** What to list: filters (all must hold), order and page. */
export interface FleetQuery {
  /** Only these sync statuses (empty: all). */
  sync?: SyncStatus[];
  /** Only these health statuses (empty: all); `None` = no health yet. */
  health?: string[];
  selector?: Selector;
  /** Case-insensitive text found in the name, a label, the repository, path, revision or message. */
  text?: string;
  sort?: FleetSort;
  order?: "asc" | "desc";
  offset?: number;
  limit?: number;
}

/** A page of the fleet. */
export interface FleetPage {
  /** Clusters registered. */
  total: number;
  /** Clusters matching every filter. */
  matched: number;
  /** Per sync status and per health, over the clusters matching the selector and text (the status and health filters left out, so each count says what choosing it would show). */
  counts: { sync: Record<string, number>; health: Record<string, number> };
  offset: number;
  limit: number;
  clusters: FleetRow[];
  /** ISO time the rows were read from the table. */
  readAt: string;
}

/** The fleet's sync statuses over time: `t` in epoch ms, one count per status per point. */
export interface FleetSeries {
  t: number[];
  synced: number[];
  outOfSync: number[];
  unknown: number[];
  error: number[];
  /** What the series is built from, for the page to say. */
  source: string;
}

type Item = Record<string, unknown> & { name: string; spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** The row of a stored cluster item (projected or whole). */
export function fleetRow(item: Item): FleetRow {
  const spec = (item.spec ?? {}) as Record<string, unknown>;
  const source = (spec.source ?? {}) as Record<string, unknown>;
  const status = (item.status ?? {}) as Record<string, unknown>;
  const counts = (status.counts ?? { resources: 0, synced: 0, modified: 0, missing: 0, extra: 0 }) as ResourceCounts;
  const rollback = spec.rollback as { to?: string } | undefined;
  const op = status.operation as { id?: string } | undefined;
  return {
    name: item.name,
    labels: (spec.labels ?? {}) as Record<string, string>,
    sync: (status.sync ?? "Unknown") as SyncStatus,
    ...(status.health ? { health: status.health as string } : {}),
    ...(status.revision ? { revision: status.revision as string } : {}),
    counts,
    ...(status.lastSuccessAt ? { drifted: counts.modified + counts.missing + counts.extra } : {}),
    ...(status.lastReconcileAt ? { lastReconcileAt: status.lastReconcileAt as string } : {}),
    ...(status.message ? { message: status.message as string } : {}),
    ...(status.outOfSyncSince ? { outOfSyncSince: status.outOfSyncSince as string } : {}),
    ...(status.failingSince ? { failingSince: status.failingSince as string } : {}),
    ...(op?.id ? { runningOperation: op.id } : {}),
    syncPolicy: (spec.syncPolicy ?? "detect") as string,
    repoUrl: (source.repoUrl ?? "") as string,
    branch: (source.branch ?? "") as string,
    ...(source.ref ? { ref: source.ref as string } : {}),
    path: (source.path ?? "") as string,
    ...(rollback?.to ? { rolledBackTo: rollback.to } : {}),
    createdAt: (item.createdAt ?? "") as string,
  };
}

/** The attributes a row needs: `ProjectionExpression` of the fleet Scan. */
const PROJECTION = {
  expression:
    "#n, createdAt, spec.labels, spec.syncPolicy, spec.#src.repoUrl, spec.#src.branch, spec.#src.#ref, spec.#src.#path, spec.#rb.#to, " +
    "#st.#sync, #st.health, #st.revision, #st.counts, #st.lastReconcileAt, #st.lastSuccessAt, #st.#msg, #st.outOfSyncSince, #st.failingSince, #st.#op.id",
  names: { "#n": "name", "#src": "source", "#ref": "ref", "#path": "path", "#rb": "rollback", "#to": "to", "#st": "status", "#sync": "sync", "#msg": "message", "#op": "operation" },
};

/**
 * Reads every cluster's row with a parallel Scan (`segments` in flight), projected to what a
 * row shows; the tick's `#schedule` item is left out.
 */
export async function scanFleet(db: DynamoDBDocumentClient, table: string, segments = 4): Promise<FleetRow[]> {
  const parts = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const rows: FleetRow[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await db.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: PROJECTION.expression,
            ExpressionAttributeNames: PROJECTION.names,
            FilterExpression: "attribute_exists(spec)",
            ExclusiveStartKey: start,
          }),
        );
        for (const i of (out.Items ?? []) as Item[]) rows.push(fleetRow(i));
        start = out.LastEvaluatedKey;
      } while (start);
      return rows;
    }),
  );
  return parts.flat();
}

/** Rows from the cluster store's own paging (whole items): for callers that have only a `ClusterStore`. */
export async function storeFleet(clusters: Pick<ClusterStore, "listAll">): Promise<FleetRow[]> {
  return (await clusters.listAll()).map((c) => fleetRow(c as unknown as Item));
}

interface Snapshot {
  rows: FleetRow[];
  /** Epoch ms the read started. */
  at: number;
  /** How long the read took, ms. */
  readMs: number;
}

const HEALTH_RANK: Record<string, number> = { Healthy: 0, Suspended: 1, Progressing: 2, Missing: 3, Degraded: 4, Unknown: 5 };
const SYNC_RANK: Record<string, number> = { Synced: 0, OutOfSync: 1, Unknown: 2, Error: 3 };

const byName = (a: FleetRow, b: FleetRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The order of `sort` (ties left at 0: the caller breaks them by name, ascending either way). */
function compare(sort: FleetSort): (a: FleetRow, b: FleetRow) => number {
  const num = (f: (r: FleetRow) => number | undefined) => (a: FleetRow, b: FleetRow) => (f(a) ?? -1) - (f(b) ?? -1);
  const str = (f: (r: FleetRow) => string | undefined) => (a: FleetRow, b: FleetRow) => (f(a) ?? "").localeCompare(f(b) ?? "");
  switch (sort) {
    case "name":
      return byName;
    case "sync":
      return num((r) => SYNC_RANK[r.sync]);
    case "health":
      return num((r) => (r.health ? HEALTH_RANK[r.health] : undefined));
    case "revision":
      return str((r) => r.revision);
    case "drifted":
      return num((r) => r.drifted);
    case "lastReconcile":
      return str((r) => r.lastReconcileAt);
    case "outOfSyncSince":
      return str((r) => r.outOfSyncSince);
  }
}

/** Whether `row` holds `text` (lower case) in its name, labels, source, revision or message. */
function holds(row: FleetRow, text: string): boolean {
  if (row.name.includes(text)) return true;
  for (const [k, v] of Object.entries(row.labels)) if (`${k}=${v}`.toLowerCase().includes(text)) return true;
  return [row.repoUrl, row.path, row.revision, row.message].some((s) => s?.toLowerCase().includes(text));
}

/**
 * The fleet, read once and kept for `maxAgeMs` (see the module doc). One instance per process
 * (a warm Lambda keeps it between invocations).
 */
export class FleetView {
  private snap?: Snapshot;
  private loading?: Promise<Snapshot>;

  constructor(
    private readonly load: () => Promise<FleetRow[]>,
    readonly maxAgeMs = 5_000,
  ) {}

  /** Reads the table now (one read at a time: concurrent callers share it). */
  refresh(): Promise<Snapshot> {
    this.loading ??= (async () => {
      const at = Date.now();
      try {
        const rows = await this.load();
        this.snap = { rows, at, readMs: Date.now() - at };
        return this.snap;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** The rows: the kept ones (refreshed in the background once older than `maxAgeMs` or five Scan durations), or a first read. */
  async rows(now = Date.now()): Promise<Snapshot> {
    if (!this.snap) return this.refresh();
    if (now - this.snap.at > Math.max(this.maxAgeMs, 5 * this.snap.readMs)) this.refresh().catch(() => {}); // the next caller gets the new rows; a failed read is tried again then
    return this.snap;
  }

  /** One page of the fleet, filtered and sorted (see `FleetQuery`). */
  async page(q: FleetQuery): Promise<FleetPage> {
    const snap = await this.rows();
    const text = q.text?.trim().toLowerCase();
    const base = snap.rows.filter((r) => (!q.selector?.length || matchesSelector(q.selector, r.labels)) && (!text || holds(r, text)));
    const counts = { sync: Object.fromEntries(SYNC_STATUSES.map((s) => [s, 0])) as Record<string, number>, health: {} as Record<string, number> };
    const matched: FleetRow[] = [];
    for (const r of base) {
      const health = r.health ?? "None";
      const syncOk = !q.sync?.length || q.sync.includes(r.sync);
      const healthOk = !q.health?.length || q.health.includes(health);
      if (healthOk) counts.sync[r.sync] = (counts.sync[r.sync] ?? 0) + 1;
      if (syncOk) counts.health[health] = (counts.health[health] ?? 0) + 1;
      if (syncOk && healthOk) matched.push(r);
    }
    const cmp = compare(q.sort ?? "name");
    const dir = q.order === "desc" ? -1 : 1;
    matched.sort((a, b) => dir * cmp(a, b) || byName(a, b));
    const offset = Math.max(0, q.offset ?? 0);
    const limit = q.limit ?? 50;
    return { total: snap.rows.length, matched: matched.length, counts, offset, limit, clusters: matched.slice(offset, offset + limit), readAt: new Date(snap.at).toISOString() };
  }

  /** The fleet's sync statuses at `points` + 1 times from `since` to `now` (epoch ms), from the current rows and the sync changes since `since`. */
  async series(changes: SyncChange[], since: number, now = Date.now(), points = 96): Promise<FleetSeries> {
    return fleetSeries((await this.rows()).rows, changes, since, now, points);
  }
}

/**
 * The clusters per sync status at `points` + 1 evenly spaced times from `since` to `now`: each
 * cluster's status now, walked back through `changes` (a change at `at` means the cluster was
 * in `from` before it), a cluster counted only from its registration. Each point after the
 * first is the most clusters in that status at any time since the previous point, so an
 * episode shorter than the step still shows. Changes of clusters no longer registered are
 * left out.
 */
export function fleetSeries(rows: FleetRow[], changes: SyncChange[], since: number, now: number, points: number): FleetSeries {
  const state = new Map<string, SyncStatus>();
  const count: Record<SyncStatus, number> = { Synced: 0, OutOfSync: 0, Unknown: 0, Error: 0 };
  for (const r of rows) {
    state.set(r.name, r.sync);
    count[r.sync]++;
  }
  // what happened, newest first: a sync change (undone walking back) or a registration (the cluster leaves the count)
  type Step = { at: number; change?: SyncChange; created?: string };
  const steps = [
    ...changes.filter((c) => state.has(c.cluster)).map((c): Step => ({ at: Date.parse(c.at), change: c })),
    ...rows.map((r): Step => ({ at: Date.parse(r.createdAt) || 0, created: r.name })),
  ]
    .filter((x) => x.at > since)
    .sort((a, b) => b.at - a.at || (a.change ? -1 : 1) - (b.change ? -1 : 1));
  const gone = new Set<string>();
  let next = 0;
  const walkBackTo = (t: number, peak?: Record<SyncStatus, number>) => {
    for (; next < steps.length && steps[next]!.at > t; next++) {
      const { change, created } = steps[next]!;
      const name = change?.cluster ?? created!;
      if (gone.has(name)) continue;
      count[state.get(name)!]--;
      if (change) {
        state.set(name, change.from);
        count[change.from]++;
      } else gone.add(name);
      if (peak) for (const s of SYNC_STATUSES) peak[s] = Math.max(peak[s], count[s]);
    }
  };
  walkBackTo(now); // changes stamped after `now` (clock skew) are not shown
  const step = (now - since) / points;
  const values: Record<SyncStatus, number>[] = [];
  for (let i = points; i >= 1; i--) {
    const peak = { ...count };
    walkBackTo(since + (i - 1) * step, peak);
    values.push(peak);
  }
  values.push({ ...count });
  values.reverse();
  return {
    t: values.map((_, i) => Math.round(since + i * step)),
    synced: values.map((v) => v.Synced),
    outOfSync: values.map((v) => v.OutOfSync),
    unknown: values.map((v) => v.Unknown),
    error: values.map((v) => v.Error),
    source: "each cluster's sync status now, walked back through the sync status changes its reconciles recorded; each point is the most clusters in that status since the previous point",
  };
}
