/**
 * The cluster registry: registration (spec) and status of every cluster, in the `clusters`
 * table (see `schema.ts` for the keys and the `byRepo` / `byDue` indexes).
 */
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, type QueryCommandInput, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
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
  /** `byRepo` key: normalized repo URL + `#` + branch. */
  repoKey: string;
  /** `byDue` partition, derived from the name. */
  dueShard: string;
  /** Epoch ms at which the next tick reconcile is due. */
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

/** The `byDue` shard of a cluster name: `due#<0..DUE_SHARDS-1>`, stable. */
export function dueShardOf(name: string): string {
  return `due#${createHash("sha256").update(name).digest()[0]! % DUE_SHARDS}`;
}

/** One page of clusters and the opaque cursor of the next page (absent on the last page). */
export interface ClusterPage {
  clusters: ClusterRecord[];
  cursor?: string;
}

/** Data access for the `clusters` table. Every method is one or a few DynamoDB requests. */
export class ClusterStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Registers a cluster (validated again here), due for a reconcile at once.
   * @throws Error on an invalid spec; ClusterExistsError when the name is taken (nothing written).
   */
  async add(input: unknown, now = Date.now()): Promise<ClusterRecord> {
    const spec = parseClusterSpec(input);
    const at = new Date(now).toISOString();
    const record: ClusterRecord = {
      name: spec.name,
      spec,
      status: initialStatus(),
      repoKey: repoKey(spec.source.repoUrl, spec.source.branch),
      dueShard: dueShardOf(spec.name),
      nextDueAt: now,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: record, ConditionExpression: "attribute_not_exists(#n)", ExpressionAttributeNames: { "#n": "name" } }));
    } catch (err) {
      if (isConditionFailed(err)) throw new ClusterExistsError(spec.name);
      throw err;
    }
    return record;
  }

  /**
   * Changes a registration: `change` gets the current spec and returns the new one, which is
   * validated as a whole; the name cannot change. The cluster becomes due at once. One
   * conditional UpdateItem on `updatedAt`, so two concurrent updates cannot both win.
   * @throws ClusterNotFoundError; ValidationError (nothing written); Error when another update won.
   */
  async update(name: string, change: (spec: ClusterSpec) => unknown, now = Date.now()): Promise<ClusterRecord> {
    const rec = await this.get(name);
    if (!rec) throw new ClusterNotFoundError(name);
    const spec = parseClusterSpec({ ...(change(structuredClone(rec.spec)) as object), name });
    const at = new Date(now).toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET spec = :s, repoKey = :r, nextDueAt = :n, updatedAt = :u",
          ConditionExpression: "updatedAt = :prev",
          ExpressionAttributeValues: { ":s": spec, ":r": repoKey(spec.source.repoUrl, spec.source.branch), ":n": now, ":u": at, ":prev": rec.updatedAt },
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new Error(`cluster "${name}" was changed meanwhile; try again`);
      throw err;
    }
    return { ...rec, spec, repoKey: repoKey(spec.source.repoUrl, spec.source.branch), nextDueAt: now, updatedAt: at };
  }

  /** The cluster `name`, or undefined. Strongly consistent. */
  async get(name: string): Promise<ClusterRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }));
    return out.Item as ClusterRecord | undefined;
  }

  /**
   * Deletes a cluster registration.
   * @throws ClusterNotFoundError when absent.
   */
  async remove(name: string): Promise<void> {
    try {
      await this.db.send(new DeleteCommand({ TableName: this.table, Key: { name }, ConditionExpression: "attribute_exists(#n)", ExpressionAttributeNames: { "#n": "name" } }));
    } catch (err) {
      if (isConditionFailed(err)) throw new ClusterNotFoundError(name);
      throw err;
    }
  }

  /**
   * One page of all clusters (the central view), `limit` items at most (default 100),
   * continuing from `cursor`. A Scan is the access pattern here: every row is wanted.
   */
  async list(opts: { limit?: number; cursor?: string } = {}): Promise<ClusterPage> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        Limit: opts.limit ?? 100,
        ExclusiveStartKey: opts.cursor ? (JSON.parse(Buffer.from(opts.cursor, "base64url").toString()) as Record<string, unknown>) : undefined,
      }),
    );
    return {
      clusters: (out.Items ?? []) as ClusterRecord[],
      cursor: out.LastEvaluatedKey ? Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString("base64url") : undefined,
    };
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

  /** Clusters tracking `repoUrl` (any URL form) at `branch`, through the `byRepo` index. */
  async trackingRepo(repoUrl: string, branch: string): Promise<ClusterRecord[]> {
    return this.queryAll({
      IndexName: "byRepo",
      KeyConditionExpression: "repoKey = :k",
      ExpressionAttributeValues: { ":k": repoKey(repoUrl, branch) },
    });
  }

  /** Clusters whose `nextDueAt` is at or before `now` (epoch ms): one `byDue` Query per shard. */
  async due(now = Date.now()): Promise<ClusterRecord[]> {
    const shards = Array.from({ length: DUE_SHARDS }, (_, i) => `due#${i}`);
    const pages = await Promise.all(
      shards.map((s) =>
        this.queryAll({
          IndexName: "byDue",
          KeyConditionExpression: "dueShard = :s AND nextDueAt <= :now",
          ExpressionAttributeValues: { ":s": s, ":now": now },
        }),
      ),
    );
    return pages.flat();
  }

  /**
   * Moves `nextDueAt` forward after a tick enqueued the cluster, only if it still holds
   * `expected` (another tick may have done it): returns false then.
   */
  async reschedule(name: string, expected: number, nextDueAt: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET nextDueAt = :n",
          ConditionExpression: "nextDueAt = :e",
          ExpressionAttributeValues: { ":n": nextDueAt, ":e": expected },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Writes the status of a reconcile and the next due time: one small UpdateItem, the only
   * write of an unchanged reconcile. A cluster removed meanwhile is left removed.
   * @returns false when the cluster no longer exists.
   */
  async setStatus(name: string, status: ClusterStatus, nextDueAt: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { name },
          UpdateExpression: "SET #s = :s, nextDueAt = :n, updatedAt = :u",
          ConditionExpression: "attribute_exists(#n)",
          ExpressionAttributeNames: { "#s": "status", "#n": "name" },
          ExpressionAttributeValues: { ":s": status, ":n": nextDueAt, ":u": new Date().toISOString() },
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
          ConditionExpression: "attribute_exists(#n) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :o)",
          ExpressionAttributeNames: { "#n": "name" },
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

  private queryAll(input: Omit<QueryCommandInput, "TableName">): Promise<ClusterRecord[]> {
    return queryAll<ClusterRecord>(this.db, { ...input, TableName: this.table });
  }
}
