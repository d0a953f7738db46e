/**
 * Drift events: one item each time a resource's drift state changes on a cluster
 * (Synced → Modified, Modified → Synced, → Missing, ...), never one per reconcile.
 * Queried by cluster and time, by resource across clusters (`byResource`), and by time across
 * all clusters (`byTime`, partitioned by UTC day). Items expire through DynamoDB TTL.
 */
import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { batchWriteAll, queryAll } from "./client.js";
import type { DriftState, FieldChange } from "../model.js";

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
