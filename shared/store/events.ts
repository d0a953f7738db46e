/**
 * Drift events: one item each time a resource's drift state changes on a cluster
 * (Synced → Modified, Modified → Synced, → Missing, ...), never one per reconcile.
 * Queried by cluster and time, by resource across clusters (`byResource`), and by time across
 * all clusters (`byTime`, partitioned by UTC day). Items expire through DynamoDB TTL.
 */
import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { batchWriteAll, queryAll } from "./client.js";
import type { DriftState, FieldChange, SyncStatus } from "../model.js";

/** A change of one resource's drift state. `changes` values are redacted for Secrets. */
export interface DriftEvent {
  cluster: string;
  /** ISO time the change was detected. */
  at: string;
  /** Resource key, `<group>/<kind>/<namespace>/<name>` (see `resourceKey`). */
  resource: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  from: DriftState;
  to: DriftState;
  /** Changed field paths when `to` is Modified. */
  paths: string[];
  /** Field changes (desired / live values) when `to` is Modified, at most 50. */
  changes?: FieldChange[];
  /** Desired revision (commit SHA) at detection. */
  revision: string;
}

/**
 * A change of a cluster's sync status (Synced / OutOfSync / Unknown / Error), written by the
 * reconcile that saw it: the cluster page's status bands and the fleet chart are built from
 * these, not recomputed.
 */
export interface SyncChange {
  cluster: string;
  /** ISO time the reconcile that changed the status was asked for (its message's first receive: the same on a redelivery, so the change is written once). */
  at: string;
  from: SyncStatus;
  to: SyncStatus;
  /** Revision reconciled (absent when none could be resolved). */
  revision?: string;
  /** The status message (why Error / Unknown), at most 300 characters. */
  message?: string;
}

/**
 * Partition of the sync changes of every cluster in the `byResource` index: one Query reads
 * the fleet's changes since a time (the fleet chart). Never a resource key (those hold `/`).
 */
export const SYNC_CHANGES = "#sync";

/** Partition key of a cluster's sync changes in the table: `sync#<cluster>` (cluster names are DNS labels, never holding `#`). */
const syncPartition = (cluster: string) => `sync#${cluster}`;

/** Writes and reads drift events in the `drift-events` table. */
export class EventStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays = 90,
  ) {}

  /**
   * Writes events in batches of 25 (BatchWriteItem's limit), retrying unprocessed items.
   * Keys are deterministic (`<at>#<resource>`), so a redelivered reconcile that writes the
   * same events again overwrites rather than duplicates them.
   */
  async put(events: DriftEvent[]): Promise<void> {
    const requests = events.map((e) => ({
      PutRequest: {
        Item: {
          ...e,
          sk: `${e.at}#${e.resource}`,
          day: e.at.slice(0, 10),
          expiresAt: Math.floor(Date.parse(e.at) / 1000) + this.ttlDays * 86400,
        },
      },
    }));
    await batchWriteAll(this.db, this.table, requests);
  }

  /**
   * Records sync status changes. Items: `cluster` = `sync#<name>`, `sk` = the time, `resource`
   * = `#sync` (the fleet's partition of `byResource`), no `day` (so `since` and the `byTime`
   * index never see them); same TTL as drift events. Keys are deterministic: a redelivered
   * reconcile overwrites.
   */
  async putSyncChanges(changes: SyncChange[]): Promise<void> {
    const requests = changes.map((c) => ({
      PutRequest: {
        Item: {
          cluster: syncPartition(c.cluster),
          sk: c.at,
          resource: SYNC_CHANGES,
          name: c.cluster,
          at: c.at,
          from: c.from,
          to: c.to,
          ...(c.revision ? { revision: c.revision } : {}),
          ...(c.message ? { message: c.message.slice(0, 300) } : {}),
          expiresAt: Math.floor(Date.parse(c.at) / 1000) + this.ttlDays * 86400,
        },
      },
    }));
    await batchWriteAll(this.db, this.table, requests);
  }

  /** Sync status changes of one cluster at or after `since` (ISO), oldest first. */
  async syncChanges(cluster: string, since = "0000"): Promise<SyncChange[]> {
    const items = await queryAll<Record<string, unknown>>(this.db, {
      TableName: this.table,
      KeyConditionExpression: "#c = :c AND sk >= :s",
      ExpressionAttributeNames: { "#c": "cluster" },
      ExpressionAttributeValues: { ":c": syncPartition(cluster), ":s": since },
    });
    return items.map(toSyncChange);
  }

  /** Sync status changes of every cluster at or after `since` (ISO), oldest first: one Query of the `byResource` index. */
  async fleetSyncChanges(since: string): Promise<SyncChange[]> {
    const items = await queryAll<Record<string, unknown>>(this.db, {
      TableName: this.table,
      IndexName: "byResource",
      KeyConditionExpression: "#r = :r AND #a >= :s",
      ExpressionAttributeNames: { "#r": "resource", "#a": "at", "#n": "name", "#f": "from", "#t": "to" },
      ExpressionAttributeValues: { ":r": SYNC_CHANGES, ":s": since },
      ProjectionExpression: "#n, #a, #f, #t",
    });
    return items.map(toSyncChange);
  }

  /** Events of one cluster at or after `since` (ISO), oldest first. */
  async byCluster(cluster: string, since = "0000"): Promise<DriftEvent[]> {
    return this.queryAll({ KeyConditionExpression: "#c = :c AND sk >= :s", ExpressionAttributeNames: { "#c": "cluster" }, ExpressionAttributeValues: { ":c": cluster, ":s": since } });
  }

  /** Events of one resource (by key) across all clusters at or after `since`, oldest first. */
  async byResource(resource: string, since = "0000"): Promise<DriftEvent[]> {
    return this.queryAll({
      IndexName: "byResource",
      KeyConditionExpression: "#r = :r AND #a >= :s",
      ExpressionAttributeNames: { "#r": "resource", "#a": "at" },
      ExpressionAttributeValues: { ":r": resource, ":s": since },
    });
  }

  /** Events of every cluster at or after `since` (ISO), oldest first: one Query per UTC day. */
  async since(since: string, now = new Date()): Promise<DriftEvent[]> {
    const out: DriftEvent[] = [];
    for (let d = new Date(`${since.slice(0, 10)}T00:00:00Z`); d <= now; d = new Date(d.getTime() + 86400_000)) {
      out.push(
        ...(await this.queryAll({
          IndexName: "byTime",
          KeyConditionExpression: "#d = :d AND #a >= :s",
          ExpressionAttributeNames: { "#d": "day", "#a": "at" },
          ExpressionAttributeValues: { ":d": d.toISOString().slice(0, 10), ":s": since },
        })),
      );
    }
    return out;
  }

  private async queryAll(input: Omit<QueryCommandInput, "TableName">): Promise<DriftEvent[]> {
    return (await queryAll<Record<string, unknown>>(this.db, { ...input, TableName: this.table })).map(({ sk: _sk, day: _day, expiresAt: _exp, ...event }) => event as unknown as DriftEvent);
  }
}

/** A stored sync-change item back as a `SyncChange`. */
function toSyncChange(i: Record<string, unknown>): SyncChange {
  return {
    cluster: i.name as string,
    at: i.at as string,
    from: i.from as SyncStatus,
    to: i.to as SyncStatus,
    ...(i.revision ? { revision: i.revision as string } : {}),
    ...(i.message ? { message: i.message as string } : {}),
  };
}
