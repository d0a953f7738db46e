/**
 * Key schema of Converge's DynamoDB tables: the single source of truth for both the CDK
 * construct (`infra/`) and the local bootstrap against DynamoDB Local (`tools/testbed`).
 *
 * Access patterns (../shared/design.md) and the key serving each:
 * 1. one cluster / all clusters: `clusters` by `name`; the central view pages a Scan of this
 *    small-item table (status only; per-resource drift lives in `snapshots`).
 * 2. clusters tracking repo+branch: GSI `byRepoWithInputs` on `repoKey` = `<normalized repo
 *    URL>#<branch>`, projecting `inputs` (the paths the cluster's render read,
 *    shared/render/inputs.ts): a push reads the names and inputs of the clusters it may concern
 *    and keeps those whose inputs it touches (shared/webhook/concerned.ts), without reading
 *    the cluster items. `inputs` is written only when a reconcile finds them changed. The
 *    keys-only `byRepo` index it replaces is kept for one release (see `CLUSTERS_TABLE`).
 * 3. clusters due for a tick, without a Scan and without a write per cluster per interval: each
 *    cluster has a fixed cadence (its interval from an anchor time), so the index entries that
 *    find it never move while it is reconciled. GSI `byCadence`: partition `cadence` =
 *    `<intervalSeconds>#<shard>` (shard `0..DUE_SHARDS-1`, hash of the name), sort key `phase`
 *    = anchor mod interval (ms), projecting `dueAnchor`: the clusters whose cadence fell in the
 *    tick's window are one or two range Queries per interval and shard. GSI `byDueAt` (sparse):
 *    partition `dueShard` (`due#<shard>`), sort key `dueAt`, projecting `cadence`: one-off due
 *    times (registered or updated, a reconcile asking to come back early). The item
 *    `#schedule` holds the intervals in use and the last tick's time (see `clusters.ts`).
 *    Status writes touch none of the indexes (they project no status), so they cost the item alone.
 * 3b. clusters with image updates (shared/images), read by every image update and every minute's
 *    scan: GSI `byImageUpdate` (sparse): partition `imageUpdates` = `images`, present only when
 *    the spec has `imageUpdate`, sort key `name`, projecting `spec` (written by registrations
 *    only). A Query reads those clusters alone, not a Scan of the fleet.
 * 4. desired snapshots: `snapshots`, `pk` = `desired#<sha256 of repo, commit, path, render
 *    options>`, `sk` = `part#0000`...: content-addressed, split under the 400 KB item limit
 *    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
 *    The observed drift state of a cluster is `pk` = `observed#<cluster>`.
 * 5. drift events: `events` by `cluster` + `sk` = `<ISO time>#<resource key>`; GSI `byResource`
 *    (`resource`, `at`) across clusters; GSI `byTime` (`day` = `YYYY-MM-DD`, `at`) across all
 *    clusters. TTL attribute `expiresAt` (epoch seconds).
 * 6. webhook deliveries: `deliveries` by `id` (X-GitHub-Delivery), TTL `expiresAt`.
 * 7. sync operations by cluster and time (every one, failures included) and the running one:
 *    `operations` by `cluster` + `sk`: `op#<ISO start time>-<suffix>` per operation (one Query,
 *    newest first with `ScanIndexForward: false`, `since` as a key condition), `running` (the
 *    one Running operation: conditional writes in one transaction with the operation),
 *    `succeeded` / `succeeded#<revision>` (the latest Succeeded one, for rollbacks), and
 *    `res#<id>#...` parts of large per-resource results. No index, so grants stay on the table.
 *    TTL attribute `expiresAt`, set only when `CONVERGE_OPERATIONS_TTL_DAYS` is (default: kept).
 */

/** One key attribute: name and DynamoDB scalar type (S = string, N = number). */
export interface KeyAttr {
  name: string;
  type: "S" | "N";
}

/**
 * A global secondary index. `projection`: the attributes copied into it, default ALL. An index
 * costs a write whenever a write changes an attribute it projects (two when its key changes),
 * so indexes on frequently written items project only what their readers need
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes).
 */
export interface IndexSpec {
  name: string;
  partitionKey: KeyAttr;
  sortKey?: KeyAttr;
  projection?: { type: "ALL" } | { type: "KEYS_ONLY" } | { type: "INCLUDE"; attributes: string[] };
}

/** A table's key schema, its indexes and its TTL attribute. */
export interface TableSpec {
  partitionKey: KeyAttr;
  sortKey?: KeyAttr;
  indexes: IndexSpec[];
  ttlAttribute?: string;
}

/** Number of shards of the `byCadence` and `byDueAt` indexes: the tick's Queries run in parallel, one per shard. */
export const DUE_SHARDS = 4;

export const CLUSTERS_TABLE: TableSpec = {
  partitionKey: { name: "name", type: "S" },
  indexes: [
    { name: "byRepoWithInputs", partitionKey: { name: "repoKey", type: "S" }, sortKey: { name: "name", type: "S" }, projection: { type: "INCLUDE", attributes: ["inputs"] } },
    // Retired: read only while `byRepoWithInputs` backfills after the deploy that adds it
    // (ClusterStore.forEachTracking). CloudFormation cannot change an index's projection, nor
    // add one index and delete another in one update
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html#cfn-dynamodb-table-globalsecondaryindexes),
    // so this entry goes in the release after the one adding `byRepoWithInputs`.
    { name: "byRepo", partitionKey: { name: "repoKey", type: "S" }, sortKey: { name: "name", type: "S" }, projection: { type: "KEYS_ONLY" } },
    { name: "byCadence", partitionKey: { name: "cadence", type: "S" }, sortKey: { name: "phase", type: "N" }, projection: { type: "INCLUDE", attributes: ["dueAnchor"] } },
    { name: "byDueAt", partitionKey: { name: "dueShard", type: "S" }, sortKey: { name: "dueAt", type: "N" }, projection: { type: "INCLUDE", attributes: ["cadence"] } },
    { name: "byImageUpdate", partitionKey: { name: "imageUpdates", type: "S" }, sortKey: { name: "name", type: "S" }, projection: { type: "INCLUDE", attributes: ["spec"] } },
  ],
};

export const SNAPSHOTS_TABLE: TableSpec = {
  partitionKey: { name: "pk", type: "S" },
  sortKey: { name: "sk", type: "S" },
  indexes: [],
};

export const EVENTS_TABLE: TableSpec = {
  partitionKey: { name: "cluster", type: "S" },
  sortKey: { name: "sk", type: "S" },
  indexes: [
    { name: "byResource", partitionKey: { name: "resource", type: "S" }, sortKey: { name: "at", type: "S" } },
    { name: "byTime", partitionKey: { name: "day", type: "S" }, sortKey: { name: "at", type: "S" } },
  ],
  ttlAttribute: "expiresAt",
};

export const DELIVERIES_TABLE: TableSpec = {
  partitionKey: { name: "id", type: "S" },
  indexes: [],
  ttlAttribute: "expiresAt",
};

export const OPERATIONS_TABLE: TableSpec = {
  partitionKey: { name: "cluster", type: "S" },
  sortKey: { name: "sk", type: "S" },
  indexes: [],
  ttlAttribute: "expiresAt",
};

/** Every table by its role; the key matches `TableNames` in `shared/config.ts`. */
export const TABLES = {
  clusters: CLUSTERS_TABLE,
  snapshots: SNAPSHOTS_TABLE,
  events: EVENTS_TABLE,
  deliveries: DELIVERIES_TABLE,
  operations: OPERATIONS_TABLE,
} as const;
