/**
 * Desired snapshots (content-addressed: one per repository, commit, path and render options,
 * written once however many clusters track it) and the observed drift state of each cluster
 * (rewritten only when some resource's drift changes), both in the `snapshots` table as
 * split blobs (see `blobs.ts`).
 */
import { createHash } from "node:crypto";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "./client.js";
import { decodeBlob, getBlob, getBlobBytes, putBlob, type StoredBlob } from "./blobs.js";
import { normalizeRepoUrl } from "../git/url.js";
import type { DesiredObject, DriftState, FieldChange } from "../model.js";
import type { SchemaCache } from "../kube/openapi.js";
import type { SchemaSet } from "../schema/types.js";

/** What a desired snapshot is rendered from; its hash is the snapshot's identity. */
export interface SnapshotKeyInput {
  repoUrl: string;
  /** Commit SHA. */
  revision: string;
  path: string;
  /** Render options (source type, recursion, ...), serialized with sorted keys. */
  options: Record<string, unknown>;
}

/** A rendered desired state. Secret values are stored redacted (`sha256:` digests). */
export interface DesiredSnapshot {
  key: string;
  repoUrl: string;
  revision: string;
  path: string;
  /** The resources: what is compared and synced. */
  objects: DesiredObject[];
  /** Hooks and `Skip` objects of the revision (see shared/sync/annotations.ts): run by a sync, never compared. Absent in snapshots written before hooks were split off. */
  hooks?: DesiredObject[];
  warnings: string[];
  renderedAt: string;
  /**
   * The repository paths the render read (shared/render/inputs.ts: files, folders, `p/*`, `.`),
   * sorted: what a push must touch to change this snapshot. Absent in snapshots written before
   * inputs were recorded (a cluster using one is concerned by every push).
   */
  inputs?: string[];
}

/** Why a desired state could not be rendered: the cluster's Error message and where. */
export interface RenderFailure {
  message: string;
  file?: string;
  line?: number;
}

/**
 * The per-resource drift of a cluster, keyed by resource key; Synced resources are absent.
 * `changes`: the field changes of a Modified resource (desired / live values, Secret values as
 * digests, at most 50). `inventory`: every desired resource of the comparison, Synced ones
 * included, with its health when its kind has a health check (null otherwise): the cluster
 * page's resource table. Both are absent in states written before they were recorded.
 */
export interface ObservedState {
  revision: string;
  resources: Record<string, { state: Exclude<DriftState, "Synced">; paths: string[]; changes?: FieldChange[] }>;
  inventory?: Record<string, { status: string; message?: string } | null>;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Whether two JSON-like values are equal as DynamoDB stores them: key order and `undefined` members ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  const plain = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  return stableJson(plain(a)) === stableJson(plain(b));
}

/** `desired#<sha256 hex>` of the normalized repo URL, revision, path and options. */
export function snapshotKey(k: SnapshotKeyInput): string {
  const h = createHash("sha256").update(stableJson({ repo: normalizeRepoUrl(k.repoUrl), rev: k.revision, path: k.path, options: k.options }));
  return `desired#${h.digest("hex")}`;
}

/** Bytes of compressed desired snapshots kept in memory per process (see `SnapshotStore.getDesired`). */
export const DESIRED_CACHE_BYTES = 16 * 1024 * 1024;

/** Compressed desired snapshots by `<table>|<key>`, least recently used first. */
const desiredCache = new Map<string, StoredBlob>();
let desiredCacheBytes = 0;

function rememberDesired(id: string, blob: StoredBlob): void {
  if (blob.gz.length > DESIRED_CACHE_BYTES / 4) return; // one huge snapshot does not evict everything
  desiredCache.set(id, blob);
  desiredCacheBytes += blob.gz.length;
  for (const [k, b] of desiredCache) {
    if (desiredCacheBytes <= DESIRED_CACHE_BYTES) break;
    desiredCache.delete(k);
    desiredCacheBytes -= b.gz.length;
  }
}

/** Digest of an observed state (stable over key order), to detect "nothing changed" cheaply: drift, changed values and health. */
export function observedDigest(o: ObservedState): string {
  return createHash("sha256")
    .update(stableJson(o.inventory ? { resources: o.resources, inventory: o.inventory } : o.resources))
    .digest("hex")
    .slice(0, 32);
}

/**
 * Data access for the `snapshots` table. Also the fleet's cache of cluster schemas: the
 * compact form of an OpenAPI v3 document under `schema#<group-version path>@<hash>`,
 * written once, so a fleet of clusters on one Kubernetes version fetches each document once.
 */
export class SnapshotStore implements SchemaCache {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Writes a desired snapshot unless it exists: the conditional write decides who renders
   * first; later writers get false and nothing is written.
   */
  async putDesired(s: DesiredSnapshot): Promise<boolean> {
    return putBlob(this.db, this.table, s.key, s, { ifAbsent: true, attributes: { revision: s.revision } });
  }

  /**
   * Claims the rendering of snapshot `key`: one conditional PutItem of `sk = claim`, true for
   * the first caller (or when an earlier claim is older than `ttlSeconds`, its renderer gone).
   * Everyone else waits for the snapshot (`waitForDesired`) instead of rendering it again.
   */
  async claimRender(key: string, ttlSeconds = 60, now = Date.now()): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: key, sk: "claim", claimedAt: now },
          ConditionExpression: "attribute_not_exists(pk) OR claimedAt < :stale",
          ExpressionAttributeValues: { ":stale": now - ttlSeconds * 1000 },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Records on the claim that rendering `key` failed, so the clusters waiting for it stop waiting. */
  async failRender(key: string, failure: RenderFailure): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: key, sk: "claim", claimedAt: Date.now(), failure } }));
  }

  /**
   * Polls for snapshot `key` (or a recorded render failure) every `intervalMs` until
   * `timeoutMs`; undefined when neither came (the caller renders itself).
   */
  async waitForDesired(key: string, timeoutMs = 30_000, intervalMs = 200): Promise<DesiredSnapshot | RenderFailure | undefined> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      const s = await this.getDesired(key);
      if (s) return s;
      const claim = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: key, sk: "claim" }, ConsistentRead: true }));
      if (claim.Item?.failure) return claim.Item.failure as RenderFailure;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return undefined;
  }

  /**
   * A desired snapshot by key, or undefined. Snapshots are immutable (content-addressed), so
   * the ones this process read are kept in memory, compressed (`DESIRED_CACHE_BYTES`
   * at most, least recently used dropped first): a warm Lambda reconciling a cluster whose
   * revision did not change reads nothing from DynamoDB for it. Each call returns a fresh copy.
   */
  async getDesired(key: string): Promise<DesiredSnapshot | undefined> {
    const id = `${this.table}|${key}`;
    let blob = desiredCache.get(id);
    if (blob) {
      desiredCache.delete(id); // most recently used last
      desiredCache.set(id, blob);
    } else {
      blob = await getBlobBytes(this.db, this.table, key);
      if (!blob) return undefined;
      rememberDesired(id, blob);
    }
    return decodeBlob<DesiredSnapshot>(key, blob);
  }

  /** The observed drift state of `cluster`, or undefined before its first reconcile. */
  async getObserved(cluster: string): Promise<ObservedState | undefined> {
    return getBlob<ObservedState>(this.db, this.table, `observed#${cluster}`);
  }

  /** Replaces the observed drift state of `cluster`. */
  async putObserved(cluster: string, o: ObservedState): Promise<void> {
    await putBlob(this.db, this.table, `observed#${cluster}`, o);
  }

  /** A cached compact schema by document key (`apis/apps/v1@<hash>`), or undefined. */
  async getSchema(key: string): Promise<SchemaSet | undefined> {
    return getBlob<SchemaSet>(this.db, this.table, `schema#${key}`);
  }

  /** Caches a compact schema (content-addressed: written once, later writers skip). */
  async putSchema(key: string, set: SchemaSet): Promise<void> {
    await putBlob(this.db, this.table, `schema#${key}`, set, { ifAbsent: true });
  }
}
