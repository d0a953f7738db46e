/**
 * The store read behind a notification: the clusters that may be in an alarm's state, read from
 * the clusters table with a filter that lets only candidates leave DynamoDB; `inAlarm`
 * (`./message.ts`) then decides exactly.
 *
 * Why a Scan: no index of the clusters table projects the status (`byCadence` and `byDueAt`
 * carry scheduling keys only, so status writes stay cheap; shared/store/schema.ts), so "which
 * clusters are OutOfSync" has no key to query; a Query of those indexes followed by item reads
 * would read every item too. The Scan runs in `SEGMENTS` parallel segments, filtered and
 * projected, and only when a per-cluster alarm enters ALARM.
 *
 * Cost, stated and bounded: a Scan bills every item it evaluates, filter or not. At about 1.5 KB
 * per cluster item, one read of a 10,000-cluster fleet is about 15 MB = about 1,900 read request
 * units (eventually consistent: 0.5 per 4 KB) = about $0.00024 at $0.125 per million (on-demand,
 * us-east-1; https://aws.amazon.com/dynamodb/pricing/on-demand/). The three per-cluster alarms
 * change state at most once per 5-minute period each, so even alarms flapping all month cost at
 * most 3 x 8,640 reads = about $6 at 10,000 clusters (about $0.60 at 1,000); a few
 * notifications a day cost cents. Nothing is read while every alarm is OK.
 */
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AlarmThresholds } from "../metrics/signals.js";
import { SnapshotStore } from "../store/snapshots.js";
import { type ClusterAlarmKind, type ClusterView, type DriftedResource, inAlarm } from "./message.js";

/**
 * The shortest reconcile interval, seconds: `MIN_INTERVAL_SECONDS` of shared/cluster/spec.ts,
 * restated so the notify bundle does not carry the registration schema (zod); a test keeps the two equal.
 */
export const SHORTEST_INTERVAL_SECONDS = 30;

/** Parallel Scan segments (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan). */
export const SEGMENTS = 4;

/** Reads the clusters of one table that are in an alarm's state, and their drifted resources from the snapshots table. */
export class AlarmStateReader {
  private readonly snapshots?: SnapshotStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    snapshotsTable?: string,
  ) {
    if (snapshotsTable) this.snapshots = new SnapshotStore(db, snapshotsTable);
  }

  /**
   * The drifted resources of each of `names` (one observed-state read each, in parallel: a
   * message names at most its cap of clusters), most changed first; a cluster without an observed
   * state, or a reader built without the snapshots table, has none.
   */
  async drifted(names: string[]): Promise<Map<string, DriftedResource[]>> {
    const store = this.snapshots;
    if (!store) return new Map();
    const states = await Promise.all(names.map(async (n) => [n, await store.getObserved(n)] as const));
    return new Map(
      states.map(([n, o]) => [
        n,
        Object.entries(o?.resources ?? {})
          .map(([key, r]) => ({ key, state: r.state, paths: r.paths }))
          .sort((a, b) => b.paths.length - a.paths.length || a.key.localeCompare(b.key)),
      ]),
    );
  }

  /**
   * The clusters that may be in the state of `kind` at `now`: every cluster the filter lets
   * through is checked again by `inAlarm` (the stale filter is a superset: it knows only the
   * shortest interval). Items that are not clusters (no `status`) never pass.
   */
  async candidates(kind: ClusterAlarmKind, now: number, t: AlarmThresholds): Promise<ClusterView[]> {
    const names = { "#n": "name", "#st": "status", "#sp": "spec" };
    const filter =
      kind === "diverged"
        ? {
            FilterExpression: "#st.#sync = :oos AND #st.outOfSyncSince <= :cut",
            ExpressionAttributeNames: { ...names, "#sync": "sync" },
            ExpressionAttributeValues: { ":oos": "OutOfSync", ":cut": new Date(now - t.divergedMinutes * 60_000).toISOString() },
          }
        : kind === "failing"
          ? {
              FilterExpression: "#st.#sync IN (:err, :unk) AND #st.failingSince <= :cut",
              ExpressionAttributeNames: { ...names, "#sync": "sync" },
              ExpressionAttributeValues: { ":err": "Error", ":unk": "Unknown", ":cut": new Date(now - t.failingMinutes * 60_000).toISOString() },
            }
          : {
              FilterExpression: "attribute_exists(#st) AND ((attribute_not_exists(#st.lastSuccessAt) AND createdAt <= :cut) OR #st.lastSuccessAt <= :cut)",
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ":cut": new Date(now - t.staleIntervals * SHORTEST_INTERVAL_SECONDS * 1000).toISOString() },
            };
    const segments = await Promise.all(
      Array.from({ length: SEGMENTS }, async (_, segment) => {
        const items: ClusterView[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const out = await this.db.send(
            new ScanCommand({
              TableName: this.table,
              Segment: segment,
              TotalSegments: SEGMENTS,
              ProjectionExpression: "#n, createdAt, #sp.intervalSeconds, #st",
              ...filter,
              ExclusiveStartKey: start,
            }),
          );
          items.push(...((out.Items ?? []) as ClusterView[]));
          start = out.LastEvaluatedKey;
        } while (start);
        return items;
      }),
    );
    return segments.flat();
  }

  /** The clusters in the state of `kind` at `now`, longest first. */
  async inAlarm(kind: ClusterAlarmKind, now: number, t: AlarmThresholds): Promise<{ cluster: ClusterView; since: string }[]> {
    return inAlarm(kind, await this.candidates(kind, now, t), now, t);
  }
}
