/**
 * The cluster registry: registration (spec) and status of every cluster, in the `clusters`
 * table (see `schema.ts` for the keys and the `byRepoWithInputs` / `byCadence` / `byDueAt` indexes).
 *
 * Scheduling without a write per cluster per interval. A cluster is reconciled on a fixed
 * cadence: every `intervalSeconds` from its anchor time (`dueAnchor`). The anchor is set when
 * the cluster is registered or updated and moved again only by the tick that first enqueues it
 * after that (so the cadence starts when the tick sees it), never by a reconcile. The index
 * entries that find a cluster (`cadence`, `phase` = anchor mod interval) therefore do not
 * change while it is reconciled: a status write costs the cluster item alone, and a tick
 * reads only the clusters whose cadence fell in its window, with no write per cluster.
 * One-off due times (`dueAt`, the sparse `byDueAt` index) say "reconcile at once" (a new or
 * changed registration) or "come back early" (a waiting sync, a backoff shorter than the
 * interval); the tick clears them when it enqueues them.
 *
 * The tick's window: the item `#schedule` holds the time of the last tick (`tickedAt`) and the
 * intervals in use. A tick claims the window (last tick, now] with one conditional write, so
 * two overlapping ticks never enqueue the same window (a one-off due time belongs to the window
 * it falls in, see `ONE_OFF_GRACE_MS`), and a cluster whose reconcile lags is enqueued again
 * only when its cadence comes round again (once per interval), not every minute.
 */
import { createHash } from "node:crypto";
import {
  BatchExecuteStatementCommand,
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { isConditionFailed, queryAll } from "./client.js";
import { DUE_SHARDS } from "./schema.js";
import { repoKey } from "../git/url.js";
import { parseClusterSpec, type ClusterSpec } from "../cluster/spec.js";
import { initialStatus, type ClusterStatus } from "../cluster/status.js";

/** A cluster as stored: its registration, its status and its scheduling attributes. */
export interface ClusterRecord {
  name: string;
  spec: ClusterSpec;
  status: ClusterStatus;
  /** `byRepoWithInputs` key: normalized repo URL + `#` + branch. */
  repoKey: string;
  /**
   * The repository paths its last desired state was rendered from (shared/render/inputs.ts),
   * projected into the `byRepoWithInputs` index for the push filter (shared/webhook/concerned.ts).
   * Absent before the first render, and after a render failed (every push concerns it then).
   */
  inputs?: string[];
  /** `byDueAt` partition (`due#<shard>`), derived from the name. */
  dueShard: string;
  /**
   * Epoch ms of the next tick reconcile: the pending one-off due time if any, else the next
   * time of the cadence at or after the time of reading. Computed, not stored.
   */
  nextDueAt: number;
  createdAt: string;
  updatedAt: string;
}

/** Thrown by `add` when the name is taken. */
export class ClusterExistsError extends Error {
  constructor(name: string) {
    super(`cluster "${name}" already exists`);
    this.name = "ClusterExistsError";
  }
}

/** Thrown when a cluster that must exist does not. */
export class ClusterNotFoundError extends Error {
  constructor(name: string) {
    super(`cluster "${name}" not found`);
    this.name = "ClusterNotFoundError";
  }
}

/** The shard (`0..DUE_SHARDS-1`) of a cluster name, stable. */
function shardOf(name: string): number {
  return createHash("sha256").update(name).digest()[0]! % DUE_SHARDS;
}

/** The `byDueAt` shard of a cluster name: `due#<0..DUE_SHARDS-1>`, stable. */
export function dueShardOf(name: string): string {
  return `due#${shardOf(name)}`;
}

/** The `byCadence` partition of a cluster: `<intervalSeconds>#<shard>`. */
export function cadenceOf(name: string, intervalSeconds: number): string {
  return `${intervalSeconds}#${shardOf(name)}`;
}

/** One page of clusters and the opaque cursor of the next page (absent on the last page). */
export interface ClusterPage {
  clusters: ClusterRecord[];
  cursor?: string;
}

/** The scheduling attributes of a stored cluster item (besides `dueShard`). */
interface ScheduleAttributes {
  /** `byCadence` partition: `<intervalSeconds>#<shard>`. */
  cadence?: string;
  /** `byCadence` sort key: `dueAnchor` mod the interval (ms). */
  phase?: number;
  /** Epoch ms the cadence counts from: due at `dueAnchor + k * interval`, k >= 0. */
  dueAnchor?: number;
  /** Epoch ms of a one-off due time (`byDueAt`, sparse). */
  dueAt?: number;
}

type StoredCluster = Omit<ClusterRecord, "nextDueAt"> & ScheduleAttributes & { leaseOwner?: string; leaseUntil?: number; nextDueAt?: number; imageUpdates?: string };

/** The `byImageUpdate` partition: the one value of `imageUpdates`, on clusters with image updates only. */
const IMAGE_UPDATES_KEY = "images";

/** Name of the item holding the tick's state; never a cluster name (those are DNS labels). */
export const SCHEDULE_ITEM = "#schedule";

/** The tick's state: the end of the last window claimed and the intervals (seconds) in use. */
interface ScheduleState {
  tickedAt?: number;
  intervals: number[];
}

/** A cluster found due in a tick's window. */
export interface DueEntry {
  name: string;
  /** The one-off due time the tick clears once the task is sent (absent: due by its cadence). */
  dueAt?: number;
  /** The cluster's interval, seconds. */
  intervalSeconds: number;
}

/** A window (`from`, `to`] claimed by one tick and what is due in it (see `ClusterStore.claimDue`). */
export interface DueClaim {
  /** End of the previous claimed window; undefined for the first tick of an installation. */
  from?: number;
  to: number;
  due: DueEntry[];
}

/** The next time of a cadence at or after `now`: the anchor while it is ahead, else the first later multiple of the interval. */
export function nextCadenceTime(anchor: number, intervalMs: number, now: number): number {
  return anchor >= now ? anchor : anchor + Math.ceil((now - anchor) / intervalMs) * intervalMs;
}

/** Whether the cadence (`anchor`, `intervalMs`) has a time in (`from`, `to`] (from undefined: any time up to `to`). */
export function cadenceHits(anchor: number, intervalMs: number, from: number | undefined, to: number): boolean {
  if (to < anchor) return false;
  const last = anchor + Math.floor((to - anchor) / intervalMs) * intervalMs;
  return from === undefined || last > from;
}

/**
 * How long a one-off due time in an earlier tick's window is left to that tick (it enqueues it,
 * then clears it) before a later tick takes it as missed: longer than a tick takes.
 */
export const ONE_OFF_GRACE_MS = 5 * 60_000;

/** Clusters per page of `forEachTracking` (keys and inputs: at most 1 MB, a Query page's limit). */
export const TRACKING_PAGE = 1000;

/** A cluster tracking a repository and branch, as the `byRepoWithInputs` index holds it. */
export interface TrackedCluster {
  name: string;
  /** See `ClusterRecord.inputs`; absent: never rendered, or its render failed. */
  inputs?: string[];
}

/** Concurrent requests the store sends at most for one bulk call (BatchGetItem pages, one-off clearing). */
const BULK_CONCURRENCY = 16;

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Data access for the `clusters` table. Every method is one or a few DynamoDB requests. */
export class ClusterStore {
  /** Intervals known to be in the `#schedule` item already (this process wrote or read them). */
  private readonly knownIntervals = new Set<number>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Registers a cluster (validated again here), due for a reconcile at once (a one-off due
   * time `now`; its cadence counts from `now` until the tick that enqueues it moves it).
   * @throws Error on an invalid spec; ClusterExistsError when the name is taken (nothing written but, at most, its interval in `#schedule`).
   */
  async add(input: unknown, now = Date.now()): Promise<ClusterRecord> {
    const spec = parseClusterSpec(input);
    const at = new Date(now).toISOString();
    await this.registerInterval(spec.intervalSeconds);
    const record: StoredCluster = {
      name: spec.name,
      spec,
      status: initialStatus(),
      repoKey: repoKey(spec.source.repoUrl, spec.source.branch),
      dueShard: dueShardOf(spec.name),
      ...(spec.imageUpdate ? { imageUpdates: IMAGE_UPDATES_KEY } : {}),
      ...this.schedule(spec.name, spec.intervalSeconds, now),
      dueAt: now,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: record, ConditionExpression: "attribute_not_exists(#n)", ExpressionAttributeNames: { "#n": "name" } }));
    } catch (err) {
      if (isConditionFailed(err)) throw new ClusterExistsError(spec.name);
      throw err;
    }
    return toRecord(record, now)!;
  }

  /**
   * Changes a registration: `change` gets the current spec and returns the new one, which is
   * validated as a whole; the name cannot change. The cluster becomes due at once (its cadence
   * restarts) and its inputs are dropped (every push concerns it until it renders again). One
   * conditional UpdateItem on `updatedAt`, so two concurrent updates cannot both win.
   * @throws ClusterNotFoundError; ValidationError (nothing written); Error when another update won.
   */
  async update(name: string, change: (spec: ClusterSpec) => unknown, now = Date.now()): Promise<ClusterRecord> {
    const rec = await this.get(name);
    if (!rec) throw new ClusterNotFoundError(name);
    const spec = parseClusterSpec({ ...(change(structuredClone(rec.spec)) as object), name });
    const at = new Date(now).toISOString();
    await this.registerInterval(spec.intervalSeconds);
    const sched = this.schedule(name, spec.intervalSeconds, now);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          // the inputs belong to the old source: every push concerns the cluster until its next render
          // `imageUpdates` keys the sparse byImageUpdate index: present only with image updates
          UpdateExpression: `SET spec = :s, repoKey = :r, cadence = :c, phase = :p, dueAnchor = :a, dueAt = :n, updatedAt = :u${spec.imageUpdate ? ", imageUpdates = :i REMOVE inputs" : " REMOVE inputs, imageUpdates"}`,
          ConditionExpression: "updatedAt = :prev",
          ExpressionAttributeValues: {
            ...(spec.imageUpdate ? { ":i": IMAGE_UPDATES_KEY } : {}),
            ":s": spec,
            ":r": repoKey(spec.source.repoUrl, spec.source.branch),
            ":c": sched.cadence,
            ":p": sched.phase,
            ":a": sched.dueAnchor,
            ":n": now,
            ":u": at,
            ":prev": rec.updatedAt,
          },
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new Error(`cluster "${name}" was changed meanwhile; try again`);
      throw err;
    }
    const { inputs: _old, ...kept } = rec;
    return { ...kept, spec, repoKey: repoKey(spec.source.repoUrl, spec.source.branch), nextDueAt: now, updatedAt: at };
  }

  /** The cluster `name`, or undefined. Strongly consistent (one GetItem). */
  async get(name: string, now = Date.now()): Promise<ClusterRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }));
    return toRecord(out.Item as StoredCluster | undefined, now);
  }

  /**
   * The clusters named `names` that exist, in no particular order: BatchGetItem pages of 100
   * keys (its limit), 16 in flight, unprocessed keys retried with backoff. Eventually consistent
   * (half the read units of a strongly consistent read) unless `consistent`.
   */
  async getMany(names: string[], now = Date.now(), consistent = false): Promise<ClusterRecord[]> {
    const pages: string[][] = [];
    for (let i = 0; i < names.length; i += 100) pages.push(names.slice(i, i + 100));
    const found: ClusterRecord[] = [];
    await forEachLimited(pages, BULK_CONCURRENCY, async (page) => {
      let keys: Record<string, unknown>[] = page.map((name) => ({ name }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: consistent } } }));
        for (const item of out.Responses?.[this.table] ?? []) {
          const rec = toRecord(item as StoredCluster, now);
          if (rec) found.push(rec);
        }
        keys = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    });
    return found;
  }

  /**
   * Deletes a cluster registration.
   * @throws ClusterNotFoundError when absent.
   */
  async remove(name: string): Promise<void> {
    try {
      await this.db.send(new DeleteCommand({ TableName: this.table, Key: { name }, ConditionExpression: "attribute_exists(spec)" }));
    } catch (err) {
      if (isConditionFailed(err)) throw new ClusterNotFoundError(name);
      throw err;
    }
  }

  /**
   * One page of all clusters (the central view), `limit` items at most (default 100),
   * continuing from `cursor`. A Scan is the access pattern here: every row is wanted. The
   * `#schedule` item is skipped (one more item is read so a page stays full).
   */
  async list(opts: { limit?: number; cursor?: string } = {}, now = Date.now()): Promise<ClusterPage> {
    const limit = opts.limit ?? 100;
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        Limit: limit + 1,
        FilterExpression: "attribute_exists(spec)",
        ExclusiveStartKey: opts.cursor ? (JSON.parse(Buffer.from(opts.cursor, "base64url").toString()) as Record<string, unknown>) : undefined,
      }),
    );
    let items = (out.Items ?? []) as StoredCluster[];
    let last = out.LastEvaluatedKey;
    if (items.length > limit) {
      items = items.slice(0, limit);
      last = { name: items[limit - 1]!.name };
    }
    return {
      clusters: items.map((i) => toRecord(i, now)!),
      cursor: last ? Buffer.from(JSON.stringify(last)).toString("base64url") : undefined,
    };
  }

  /**
   * The clusters whose spec has `imageUpdate`, sorted by name: name and spec only, from the
   * sparse `byImageUpdate` index (one Query, eventually consistent: a registration shows
   * within about a second).
   */
  async listWithImageUpdates(): Promise<Pick<ClusterRecord, "name" | "spec">[]> {
    const items = await this.queryAll<{ name: string; spec: ClusterSpec }>({
      IndexName: "byImageUpdate",
      KeyConditionExpression: "imageUpdates = :i",
      ExpressionAttributeValues: { ":i": IMAGE_UPDATES_KEY },
    });
    return items.map((i) => ({ name: i.name, spec: i.spec }));
  }

  /** Every cluster, sorted by name (pages through `list`). */
  async listAll(): Promise<ClusterRecord[]> {
    const all: ClusterRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list({ limit: 500, cursor });
      all.push(...page.clusters);
      cursor = page.cursor;
    } while (cursor);
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Names of the clusters tracking `repoUrl` (any URL form) at `branch`, through the
   * `byRepoWithInputs` index (keys and inputs: a few hundred bytes per cluster).
   */
  async trackingRepo(repoUrl: string, branch: string): Promise<{ name: string }[]> {
    const all: { name: string }[] = [];
    await this.forEachTracking(repoUrl, branch, (page) => void all.push(...page.map((c) => ({ name: c.name }))));
    return all;
  }

  /**
   * The clusters tracking `repoUrl` (any URL form) at `branch`, with their statuses: their
   * names from the tracking index (in name order), then strongly consistent BatchGetItems (see
   * `getMany`), so a status written before the call is seen. With `until`, pages of 100 are
   * read one after the other and reading stops after the first page holding a cluster for
   * which it is true (a partial list then): a check that one non-matching cluster settles
   * reads one page instead of the fleet. The fleet of `Revision Converged` and of the commit
   * status rollup (shared/events/announce.ts).
   */
  async trackingStatuses(repoUrl: string, branch: string, until?: (c: ClusterRecord) => boolean, now = Date.now()): Promise<ClusterRecord[]> {
    const names = (await this.trackingRepo(repoUrl, branch)).map((n) => n.name);
    if (!until) return this.getMany(names, now, true);
    const found: ClusterRecord[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const page = await this.getMany(names.slice(i, i + 100), now, true);
      found.push(...page);
      if (page.some(until)) break;
    }
    return found;
  }

  /**
   * The clusters tracking `repoUrl` (any URL form) at `branch` with their inputs, page by page
   * (`TRACKING_PAGE` at most) from the `byRepoWithInputs` index: `onPage` gets each page as
   * soon as it is read and runs while the next one is (the webhook enqueues a page while
   * reading the next). While that index is not readable yet (created by the deploy that added
   * it and still backfilling, or absent from a table created before it), the keys-only
   * `byRepo` index answers instead: names without inputs, so every cluster counts as concerned.
   * Resolves when every page was handled; rejects with the first error.
   */
  async forEachTracking(repoUrl: string, branch: string, onPage: (page: TrackedCluster[]) => Promise<unknown> | undefined): Promise<void> {
    const handled: Promise<unknown>[] = [];
    try {
      await this.queryTracking("byRepoWithInputs", repoUrl, branch, handled, onPage).catch((err: unknown) => {
        // DynamoDB: "Cannot read from backfilling global secondary index" / "The table does not have the specified index"
        if ((err as { name?: string }).name !== "ValidationException" || handled.length > 0 || !/index/i.test((err as Error).message)) throw err;
        return this.queryTracking("byRepo", repoUrl, branch, handled, onPage);
      });
    } finally {
      await Promise.allSettled(handled);
    }
    await Promise.all(handled);
  }

  /** Pages through the clusters of `index` tracking repo+branch, pushing `onPage`'s promise for each page onto `handled`. */
  private async queryTracking(index: string, repoUrl: string, branch: string, handled: Promise<unknown>[], onPage: (page: TrackedCluster[]) => Promise<unknown> | undefined): Promise<void> {
    const withInputs = index === "byRepoWithInputs";
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: index,
          KeyConditionExpression: "repoKey = :k",
          ExpressionAttributeValues: { ":k": repoKey(repoUrl, branch) },
          ProjectionExpression: withInputs ? "#n, inputs" : "#n",
          ExpressionAttributeNames: { "#n": "name" },
          Limit: TRACKING_PAGE,
          ExclusiveStartKey: start,
        }),
      );
      const page = (out.Items ?? []).map((i) => (withInputs && Array.isArray(i.inputs) ? { name: i.name as string, inputs: i.inputs as string[] } : { name: i.name as string }));
      if (page.length > 0) handled.push(Promise.resolve(onPage(page)));
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Records the inputs of the cluster's desired state (`undefined` removes them: every push
   * concerns it). One UpdateItem, which also rewrites its `byRepoWithInputs` index entry, so
   * the reconcile calls it only when they changed. A cluster removed meanwhile is left removed.
   * @returns false when the cluster no longer exists.
   */
  async setInputs(name: string, inputs: string[] | undefined): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: inputs ? "SET inputs = :i" : "REMOVE inputs",
          ConditionExpression: "attribute_exists(spec)",
          ...(inputs ? { ExpressionAttributeValues: { ":i": inputs } } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * The clusters due at or before `now` that the next tick would enqueue: cadence times and
   * one-off due times after the last tick and up to `now` (and one-off times missed by earlier
   * ticks). Read-only (the tick claims its window with `claimDue`).
   */
  async due(now = Date.now()): Promise<ClusterRecord[]> {
    const state = await this.readSchedule();
    const due = (await Promise.all(Array.from({ length: DUE_SHARDS }, (_, shard) => this.findDue(state, now, shard)))).flat();
    return this.getMany(
      due.map((d) => d.name),
      now,
    );
  }

  /**
   * Claims the tick window (last tick, `now`] with one conditional write of `#schedule` and
   * finds what is due in it: clusters whose cadence has a time in the window, and one-off due
   * times in the window (or older than `ONE_OFF_GRACE_MS` and still pending). A concurrent tick that claimed first wins: this one then
   * claims what is left after its window, or nothing. Reads: `#schedule`, then per shard (in
   * parallel) one or two Queries per interval in use (keys and anchor only) and one Query of
   * `byDueAt`. No write per cluster.
   * @param onShard called with each shard's due clusters as soon as they are known (the tick
   *   sends their tasks while other shards are still read); if it throws, the window is given
   *   back (`releaseClaim`) and the error rethrown.
   * @returns undefined when another tick already claimed up to `now` or later.
   */
  async claimDue(now = Date.now(), onShard?: (due: DueEntry[]) => Promise<unknown>): Promise<DueClaim | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = await this.readSchedule();
      if (state.tickedAt !== undefined && state.tickedAt >= now) return undefined;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { name: SCHEDULE_ITEM },
            UpdateExpression: "SET tickedAt = :t",
            ConditionExpression: state.tickedAt === undefined ? "attribute_not_exists(tickedAt)" : "tickedAt = :p",
            ExpressionAttributeValues: { ":t": now, ...(state.tickedAt === undefined ? {} : { ":p": state.tickedAt }) },
          }),
        );
      } catch (err) {
        if (isConditionFailed(err)) continue; // another tick claimed meanwhile: read again
        throw err;
      }
      const claim: DueClaim = { from: state.tickedAt, to: now, due: [] };
      const results = await Promise.allSettled(
        Array.from({ length: DUE_SHARDS }, async (_, shard) => {
          const due = await this.findDue(state, now, shard);
          claim.due.push(...due);
          if (onShard && due.length > 0) await onShard(due);
        }),
      );
      const failed = results.find((r) => r.status === "rejected");
      if (failed) {
        await this.releaseClaim(claim);
        throw failed.reason;
      }
      return claim;
    }
    throw new Error("could not claim the tick window: ticks keep overlapping");
  }

  /**
   * Gives a claimed window back (its tasks could not be sent), if no later tick claimed after
   * it, so the next tick enqueues it again.
   */
  async releaseClaim(claim: DueClaim): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name: SCHEDULE_ITEM },
          UpdateExpression: claim.from === undefined ? "REMOVE tickedAt" : "SET tickedAt = :p",
          ConditionExpression: "tickedAt = :t",
          ExpressionAttributeValues: { ":t": claim.to, ...(claim.from === undefined ? {} : { ":p": claim.from }) },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /**
   * After the tick sent the claim's tasks: clears each one-off due time it enqueued and starts
   * that cluster's cadence at `at` (the tick's time), skipped when the due time changed
   * meanwhile (a newer registration update or early return stays pending). Conditional PartiQL
   * UPDATEs, 25 per BatchExecuteStatement request (its limit; each billed as the UpdateItem it
   * is, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.multiplestatements.batching.html),
   * 16 requests in flight. Clusters due by their cadence alone are not written.
   * @returns the number of clusters written.
   * @throws the first error other than a failed condition.
   */
  async settleClaim(claim: DueClaim, at = claim.to): Promise<number> {
    const oneOff = claim.due.filter((d) => d.dueAt !== undefined);
    const pages: DueEntry[][] = [];
    for (let i = 0; i < oneOff.length; i += 25) pages.push(oneOff.slice(i, i + 25));
    let written = 0;
    await forEachLimited(pages, BULK_CONCURRENCY, async (page) => {
      const out = await this.db.send(
        new BatchExecuteStatementCommand({
          Statements: page.map((d) => ({
            Statement: `UPDATE "${this.table}" SET dueAnchor = ? SET phase = ? REMOVE dueAt WHERE "name" = ? AND dueAt = ? AND cadence = ?`,
            Parameters: [at, at % (d.intervalSeconds * 1000), d.name, d.dueAt, cadenceOf(d.name, d.intervalSeconds)],
          })),
        }),
      );
      for (const r of out.Responses ?? []) {
        if (!r.Error) written++;
        else if (r.Error.Code !== "ConditionalCheckFailed") throw new Error(`clearing a one-off due time failed: ${r.Error.Code}: ${r.Error.Message}`);
      }
    });
    return written;
  }

  /**
   * Writes the status of a reconcile and when the cluster is due next: the only write of an
   * unchanged reconcile, one UpdateItem of the item alone (no index is touched). A `nextDueAt`
   * a whole interval ahead (or later) is the cadence's business and changes nothing else; an
   * earlier one (a waiting sync, a backoff) becomes a one-off due time, at the cost of a second
   * request (the first one's condition tells the two apart). A cluster removed meanwhile is
   * left removed.
   * @param nextDueAt epoch ms the reconcile asks to come back at.
   * @returns false when the cluster no longer exists.
   */
  async setStatus(name: string, status: ClusterStatus, nextDueAt: number): Promise<boolean> {
    const updatedAt = new Date().toISOString();
    // 1 s of slack: the caller computed `now + interval` a moment ago
    const leadSeconds = (nextDueAt - Date.now()) / 1000 + 1;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET #s = :s, updatedAt = :u",
          ConditionExpression: "attribute_exists(spec) AND spec.intervalSeconds <= :lead",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":s": status, ":u": updatedAt, ":lead": leadSeconds },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET #s = :s, updatedAt = :u, dueAt = :n",
          ConditionExpression: "attribute_exists(spec)",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":s": status, ":u": updatedAt, ":n": Math.floor(nextDueAt) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Takes the cluster's sync lease for `ttlMs` (a conditional UpdateItem): free, expired, or
   * already held by `owner`. A tick, a push and a CLI sync of one cluster take it before they
   * sync, so they never sync it together; an expired lease (its holder died) is taken over.
   * @returns false when another owner holds it.
   */
  async acquireLease(name: string, owner: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET leaseOwner = :o, leaseUntil = :u",
          ConditionExpression: "attribute_exists(spec) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :o)",
          ExpressionAttributeValues: { ":o": owner, ":u": now + ttlMs, ":now": now },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Gives the lease back if `owner` still holds it (else nothing: it expired and was taken over). */
  async releaseLease(name: string, owner: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "REMOVE leaseOwner, leaseUntil",
          ConditionExpression: "leaseOwner = :o",
          ExpressionAttributeValues: { ":o": owner },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /** The cadence attributes of a cluster whose cadence counts from `anchor` (epoch ms). */
  private schedule(name: string, intervalSeconds: number, anchor: number): Required<Pick<ScheduleAttributes, "cadence" | "phase" | "dueAnchor">> {
    const a = Math.floor(anchor);
    return { cadence: cadenceOf(name, intervalSeconds), phase: a % (intervalSeconds * 1000), dueAnchor: a };
  }

  /** Adds `intervalSeconds` to the intervals the tick queries (once per process and interval; the set only grows). */
  private async registerInterval(intervalSeconds: number): Promise<void> {
    if (this.knownIntervals.has(intervalSeconds)) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { name: SCHEDULE_ITEM },
        UpdateExpression: "ADD intervals :i",
        ExpressionAttributeValues: { ":i": new Set([intervalSeconds]) },
      }),
    );
    this.knownIntervals.add(intervalSeconds);
  }

  /** The tick's state (strongly consistent). */
  private async readSchedule(): Promise<ScheduleState> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { name: SCHEDULE_ITEM }, ConsistentRead: true }));
    const intervals = [...((out.Item?.intervals as Set<number> | undefined) ?? [])].map(Number);
    for (const i of intervals) this.knownIntervals.add(i);
    return { tickedAt: out.Item?.tickedAt as number | undefined, intervals };
  }

  /** What is due in shard `shard` in (state.tickedAt, now]: cadence times and one-off due times in the window, and one-off due times missed by earlier ticks. */
  private async findDue(state: ScheduleState, now: number, shard: number): Promise<DueEntry[]> {
    const from = state.tickedAt;
    const queries: Omit<QueryCommandInput, "TableName">[] = [];
    const names = { "#p": "phase" };
    for (const seconds of state.intervals) {
      const ms = seconds * 1000;
      // the phases (anchor mod interval) whose cadence has a time in the window
      let ranges: { cond: string; values: Record<string, number> }[];
      if (from === undefined || now - from >= ms) ranges = [{ cond: "", values: {} }];
      else if (now <= from) ranges = [];
      else {
        const a = from % ms;
        const b = now % ms;
        ranges =
          a < b
            ? [{ cond: " AND #p BETWEEN :a AND :b", values: { ":a": a + 1, ":b": b } }]
            : [
                { cond: " AND #p > :a", values: { ":a": a } },
                { cond: " AND #p <= :b", values: { ":b": b } },
              ];
      }
      for (const r of ranges) {
        queries.push({
          IndexName: "byCadence",
          KeyConditionExpression: `cadence = :c${r.cond}`,
          ExpressionAttributeValues: { ":c": `${seconds}#${shard}`, ...r.values },
          ...(r.cond ? { ExpressionAttributeNames: names } : {}),
        });
      }
    }
    const [byCadence, byDueAt] = await Promise.all([
      Promise.all(queries.map((q) => this.queryAll<StoredCluster>(q))),
      this.queryAll<StoredCluster>({ IndexName: "byDueAt", KeyConditionExpression: "dueShard = :s AND dueAt <= :now", ExpressionAttributeValues: { ":s": `due#${shard}`, ":now": now } }),
    ]);
    const due = new Map<string, DueEntry>();
    for (const item of byCadence.flat()) {
      const seconds = Number(item.cadence!.split("#")[0]);
      if (cadenceHits(item.dueAnchor!, seconds * 1000, from, now)) due.set(item.name, { name: item.name, intervalSeconds: seconds });
    }
    for (const item of byDueAt) {
      if (!item.cadence) continue; // an item written before cadences: scheduled again by its next registration update
      // a one-off time in an earlier window belongs to the tick that claimed it (which may be clearing it right now),
      // unless it is older than the grace period: missed (written after that tick's Query) or never cleared
      const mine = from === undefined || item.dueAt! > from || item.dueAt! <= from - ONE_OFF_GRACE_MS;
      if (mine) due.set(item.name, { name: item.name, dueAt: item.dueAt, intervalSeconds: Number(item.cadence.split("#")[0]) });
    }
    return [...due.values()];
  }

  private queryAll<T = StoredCluster>(input: Omit<QueryCommandInput, "TableName">): Promise<T[]> {
    return queryAll<T>(this.db, { ...input, TableName: this.table });
  }
}

/** The record of a stored item (`nextDueAt` computed at `now`), or undefined for a missing item or the `#schedule` item. */
function toRecord(item: StoredCluster | undefined, now: number): ClusterRecord | undefined {
  if (!item?.spec) return undefined;
  const { cadence: _c, phase: _p, dueAnchor, dueAt, leaseOwner: _o, leaseUntil: _u, nextDueAt: legacy, ...rest } = item;
  const cadenceAt = dueAnchor !== undefined ? nextCadenceTime(dueAnchor, item.spec.intervalSeconds * 1000, now) : (legacy ?? now);
  return { ...rest, nextDueAt: Math.min(cadenceAt, dueAt ?? Number.POSITIVE_INFINITY) };
}
