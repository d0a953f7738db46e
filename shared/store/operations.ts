/**
 * The record of sync operations (design brief, access pattern 7: "sync operations by cluster
 * and time, every one, failures included, and the running one"), in the `operations` table.
 *
 * An operation is one sync of one cluster: automatic (a push or a tick found a new revision),
 * self-heal (live drift put back), manual (CLI, with the caller's identity), rollback, retry.
 * Every operation is kept, whatever its outcome; history is unlimited unless
 * `CONVERGE_OPERATIONS_TTL_DAYS` is set (default: none), then items expire that many days
 * after their start through DynamoDB TTL (`expiresAt`, epoch seconds; deletion is lazy, usually
 * within days: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
 *
 * Items of one cluster's partition (`cluster`), by sort key `sk` (see `schema.ts`):
 * - `op#<id>`: one operation. `id` = `<ISO start time>-<6 hex>`, so the partition sorts by
 *   start time and `history` is one Query (newest first, `since` is a key condition).
 * - `running`: the pointer to the one Running operation. `start` writes it with
 *   `attribute_not_exists`, `finish` deletes it, both in one TransactWriteItems with the
 *   operation, so at most one operation per cluster is Running.
 * - `succeeded`, `succeeded#<revision>`: pointers to the latest Succeeded (non dry-run)
 *   operation, overall and at that revision, written by `finish`: `lastSucceeded` is two
 *   GetItems whatever the number of failures since.
 * - `res#<id>#<version>#<part>`: the per-resource results of an operation too large to stay
 *   inline (see `INLINE_RESOURCE_BYTES`).
 */
import { randomBytes, createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { batchWriteAll, queryAll } from "./client.js";

/** What started an operation. `caller` is the identity of a person (IAM ARN, `user@host`). */
export type OperationTrigger =
  | { type: "push"; deliveryId?: string }
  | { type: "tick" }
  | { type: "self-heal"; attempt: number }
  | { type: "manual"; caller: string }
  | { type: "rollback"; caller: string /** Revision (commit SHA) rolled back to. */; to: string }
  | { type: "retry" /** Id of the operation retried. */; of: string; attempt: number }
  | ImageUpdateTrigger;

/**
 * An image update (shared/images): the commit written to Git when a registry event or scan
 * moved marked image tags. `source` says what reported the images: `registry` (a
 * distribution notification), `ecr` (Amazon ECR's EventBridge event), `scan` (the scheduled
 * tag listing). `commit` is the commit written (also the operation's `revision`); absent when
 * nothing was written (phase Error: the branch did not render with the change, or the push was
 * refused every time), the operation's `revision` then being the head the change was made on.
 * With `branch` and `pullRequest` the commit was proposed, not pushed to the tracked branch
 * (phase Error with `commit` set: pushed to `branch`, but the pull request was not opened).
 */
export interface ImageUpdateTrigger {
  type: "image-update";
  source: "registry" | "ecr" | "scan";
  /** The event's id (a notification's or EventBridge's), when it has one. */
  eventId?: string;
  images: { policy: string; image: string; from: string; to: string; file: string; line: number }[];
  commit?: string;
  /** The branch the commit went to when not the tracked one (a policy file's `push.branch`). */
  branch?: string;
  /** The pull request proposing the commit into the tracked branch: merging it rolls the images out. */
  pullRequest?: { number: number; url: string };
}

/**
 * Running while it syncs; Succeeded: every resource synced; Failed: the sync ran and some
 * resource (or hook) failed; Error: the sync could not run (render error, cluster unreachable,
 * or abandoned: its process stopped without finishing it, see `OperationStoreOptions`).
 */
export type OperationPhase = "Running" | "Succeeded" | "Failed" | "Error";

/** The final phases. */
export const FINAL_PHASES: readonly OperationPhase[] = ["Succeeded", "Failed", "Error"];

/** Result of one resource: apply (Synced, SyncFailed), prune (Pruned, PruneSkipped), hook (Running, Succeeded, Failed). */
export type ResultStatus = "Synced" | "SyncFailed" | "Pruned" | "PruneSkipped" | "Running" | "Succeeded" | "Failed";

/** Every result status, in the order tables list them. */
export const RESULT_STATUSES: readonly ResultStatus[] = ["Synced", "SyncFailed", "Pruned", "PruneSkipped", "Running", "Succeeded", "Failed"];

/** One resource's result in an operation. */
export interface ResourceResult {
  /** Resource key, `<group>/<kind>/<namespace>/<name>` (see `resourceKey`). */
  key: string;
  kind: string;
  namespace?: string;
  name: string;
  action: "apply" | "prune" | "hook";
  /** The sync phase it ran in (hooks; resources are in Sync). */
  phase?: "PreSync" | "Sync" | "PostSync" | "SyncFail";
  /** Sync wave (`argocd.argoproj.io/sync-wave`). */
  wave?: number;
  status: ResultStatus;
  /** Why, for failures and skips; at most `MAX_RESOURCE_MESSAGE` characters are stored. */
  message?: string;
}

/** One sync of one cluster. */
export interface Operation {
  /** `<ISO start time>-<6 hex>` (see `newOperationId`): sorts by start time. */
  id: string;
  cluster: string;
  /** Revision synced (commit SHA). */
  revision: string;
  trigger: OperationTrigger;
  phase: OperationPhase;
  /** ISO times. */
  startedAt: string;
  finishedAt?: string;
  /** Outcome or error, at most `MAX_MESSAGE` characters stored. */
  message?: string;
  /** Retries of resources done inside this operation. */
  retryCount: number;
  dryRun?: boolean;
  prune?: boolean;
  resources: ResourceResult[];
}

/** Number of resource results by status (absent statuses are 0). */
export type ResultCounts = Partial<Record<ResultStatus, number>>;

/** An operation as read back: with its result counts and the time of its last write (ISO). */
export interface OperationRecord extends Operation {
  counts: ResultCounts;
  updatedAt: string;
}

/** An operation without its per-resource results (what history tables and the list API show). */
export interface OperationSummary extends Omit<OperationRecord, "resources"> {
  /** Number of resource results. */
  resourceTotal: number;
}

/** What `start` takes: the operation's fields; id, start time, phase (Running) and counters default. */
export type NewOperation = Omit<Operation, "id" | "phase" | "startedAt" | "finishedAt" | "retryCount" | "resources"> & Partial<Pick<Operation, "id" | "startedAt" | "retryCount" | "resources">>;

/** A reference to one operation (an `Operation` is one). */
export type OperationRef = Pick<Operation, "cluster" | "id">;

/** One page of history, newest first, and the opaque cursor of the next page (absent on the last). */
export interface OperationPage<T> {
  operations: T[];
  cursor?: string;
}

/** History options: `since` (ISO, inclusive, on the start time), page size, cursor of a previous page. */
export interface HistoryOptions {
  since?: string;
  /** 1..1000, default 50. */
  limit?: number;
  cursor?: string;
}

/** Store options. */
export interface OperationStoreOptions {
  /** Days an operation is kept after its start (DynamoDB TTL); undefined: forever (the default). */
  ttlDays?: number;
  /**
   * Seconds without a write (`update`, `heartbeat`) after which a Running operation counts as
   * abandoned: the next `start` marks it Error and takes its place. Default 900 (a Lambda
   * invocation cannot run longer), so a crashed sync never blocks its cluster for good.
   */
  staleAfterSeconds?: number;
}

/** Resource results of at most this many bytes of JSON stay in the operation item; larger lists go to parts. */
export const INLINE_RESOURCE_BYTES = 256 * 1024;
/** Bytes of gzip-compressed resource results per part item (item limit 400 KB, as in `blobs.ts`). */
export const RESOURCE_PART_BYTES = 350_000;
/** Stored length of an operation's message (characters). */
export const MAX_MESSAGE = 4096;
/** Stored length of a resource result's message (characters). */
export const MAX_RESOURCE_MESSAGE = 2048;

const ID_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z-[0-9a-z]{1,32}$/;

/** A new operation id: the ISO start time and 6 random hex digits, e.g. `2026-11-23T10:00:00.000Z-3f9a1c`. */
export function newOperationId(startedAt: string): string {
  return `${startedAt}-${randomBytes(3).toString("hex")}`;
}

/** True for a well-formed operation id. */
export function isOperationId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Thrown by `start` when another operation of the cluster is Running (and not stale). */
export class OperationInProgressError extends Error {
  constructor(
    readonly cluster: string,
    readonly running: { id: string; startedAt: string; trigger?: OperationTrigger; updatedAt?: string },
  ) {
    super(`an operation is already running on cluster "${cluster}": ${running.id}${running.trigger ? ` (${describeTrigger(running.trigger)})` : ""}, started ${running.startedAt}`);
    this.name = "OperationInProgressError";
  }
}

/** Thrown when an operation that must exist does not. */
export class OperationNotFoundError extends Error {
  constructor(cluster: string, id: string) {
    super(`operation ${id} of cluster "${cluster}" not found`);
    this.name = "OperationNotFoundError";
  }
}

/** Thrown by `update`, `heartbeat` and `finish` when the operation is no longer Running. */
export class OperationNotRunningError extends Error {
  constructor(
    cluster: string,
    id: string,
    readonly phase: OperationPhase,
  ) {
    super(`operation ${id} of cluster "${cluster}" is ${phase}, not Running`);
    this.name = "OperationNotRunningError";
  }
}

/** Thrown by `history` for a cursor it did not hand out. */
export class InvalidCursorError extends Error {
  constructor() {
    super("invalid cursor");
    this.name = "InvalidCursorError";
  }
}

/** A trigger in words: `push`, `tick`, `self-heal #2`, `manual by alice`, `rollback to 1a2b3c4d5e6f by alice`, `retry #1 of <id>`. */
export function describeTrigger(t: OperationTrigger): string {
  switch (t.type) {
    case "push":
      return "push";
    case "tick":
      return "tick";
    case "self-heal":
      return `self-heal #${t.attempt}`;
    case "manual":
      return `manual by ${t.caller}`;
    case "rollback":
      return `rollback to ${t.to.slice(0, 12)} by ${t.caller}`;
    case "retry":
      return `retry #${t.attempt} of ${t.of}`;
    case "image-update":
      return `image update (${t.source}): ${t.images.map((i) => `${i.policy} ${i.from} → ${i.to}`).join(", ")}${t.pullRequest ? `, pull request #${t.pullRequest.number}` : ""}`;
  }
}

/** Result counts by status. */
export function countResults(resources: ResourceResult[]): ResultCounts {
  const counts: ResultCounts = {};
  for (const r of resources) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

const CUT = "… (truncated)";

/** `s` cut to at most `max` characters, ending in `… (truncated)` when cut. */
function truncate(s: string | undefined, max: number): string | undefined {
  return s === undefined || s.length <= max ? s : `${s.slice(0, max - CUT.length)}${CUT}`;
}

const opSk = (id: string) => `op#${id}`;
const RUNNING = "running";
const SUCCEEDED = "succeeded";
const partSk = (id: string, version: string, i: number) => `res#${id}#${version}#${String(i).padStart(4, "0")}`;

/** Where offloaded resource results are: version of the parts, their count, digest and size. */
interface PartsRef {
  version: string;
  parts: number;
  sha256: string;
  bytes: number;
}

/** The `running` pointer item. */
interface RunningPointer {
  operationId: string;
  startedAt: string;
  revision: string;
  trigger: OperationTrigger;
  updatedAt: string;
}

/** Attribute names of a summary (no resources), for ProjectionExpression. */
const SUMMARY_ATTRS = ["id", "cluster", "revision", "trigger", "phase", "startedAt", "finishedAt", "message", "retryCount", "dryRun", "prune", "counts", "resourceTotal", "updatedAt"] as const;

function cancelled(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === "TransactionCanceledException";
}

/**
 * Data access for the `operations` table. Writes are conditional so that concurrent reconciles
 * of one cluster cannot both run a sync, and a finished operation cannot be changed.
 *
 * Size: an item holds at most 400 KB. Messages are cut to `MAX_MESSAGE` /
 * `MAX_RESOURCE_MESSAGE` characters. Resource results whose JSON exceeds
 * `INLINE_RESOURCE_BYTES` (256 KiB, some 1,000 results) are stored gzip-compressed in part
 * items `res#<id>#<version>#0000`... of the same partition (350,000 bytes each, any number),
 * written before the operation item that points at them, with the same TTL; `get` and
 * `history` read them back transparently; the operation item keeps `counts` and
 * `resourceTotal`, so summaries never read parts.
 */
export class OperationStore {
  private readonly ttlDays?: number;
  private readonly staleMs: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    opts: OperationStoreOptions = {},
  ) {
    this.ttlDays = opts.ttlDays && opts.ttlDays > 0 ? opts.ttlDays : undefined;
    this.staleMs = (opts.staleAfterSeconds ?? 900) * 1000;
  }

  /**
   * Records the start of an operation (phase Running) and makes it its cluster's running one:
   * one TransactWriteItems of the operation item and the `running` pointer (written only if
   * absent). A Running operation not written for `staleAfterSeconds` is taken over: it is set
   * to Error ("abandoned") in the same transaction.
   * @param now epoch ms, the default start time.
   * @returns the stored operation.
   * @throws OperationInProgressError naming the running operation (nothing written);
   *   Error on a malformed id or an empty cluster name.
   */
  async start(input: NewOperation, now = Date.now()): Promise<OperationRecord> {
    if (!input.cluster) throw new Error("operation: cluster is required");
    const startedAt = input.startedAt ?? (input.id && isOperationId(input.id) ? input.id.slice(0, input.id.lastIndexOf("-")) : new Date(now).toISOString());
    const id = input.id ?? newOperationId(startedAt);
    if (!isOperationId(id)) throw new Error(`operation id "${id}" is not <ISO start time>-<suffix>`);
    const op: Operation = { ...input, id, startedAt, phase: "Running", retryCount: input.retryCount ?? 0, resources: input.resources ?? [] };
    delete op.finishedAt;
    const at = new Date(now).toISOString();
    const pointer: RunningPointer = { operationId: id, startedAt, revision: op.revision, trigger: op.trigger, updatedAt: at };
    let prepared: Awaited<ReturnType<OperationStore["prepare"]>> | undefined;
    for (let attempt = 0; ; attempt++) {
      const current = await this.pointer(op.cluster);
      if (current && (now - Date.parse(current.updatedAt) < this.staleMs || attempt >= 3)) {
        throw new OperationInProgressError(op.cluster, { id: current.operationId, startedAt: current.startedAt, trigger: current.trigger, updatedAt: current.updatedAt });
      }
      prepared ??= await this.prepare(op, at);
      const writes: object[] = [{ Put: { TableName: this.table, Item: prepared.item, ConditionExpression: "attribute_not_exists(sk)" } }];
      if (!current) {
        writes.push({ Put: { TableName: this.table, Item: { cluster: op.cluster, sk: RUNNING, ...pointer }, ConditionExpression: "attribute_not_exists(sk)" } });
      } else {
        writes.push({
          Put: {
            TableName: this.table,
            Item: { cluster: op.cluster, sk: RUNNING, ...pointer },
            ConditionExpression: "operationId = :old AND updatedAt = :u",
            ExpressionAttributeValues: { ":old": current.operationId, ":u": current.updatedAt },
          },
        });
        const old = await this.rawItem(op.cluster, current.operationId);
        if (old?.phase === "Running") {
          writes.push({
            Update: {
              TableName: this.table,
              Key: { cluster: op.cluster, sk: opSk(current.operationId) },
              UpdateExpression: "SET #p = :e, finishedAt = :t, #m = :m, updatedAt = :t",
              ConditionExpression: "#p = :r",
              ExpressionAttributeNames: { "#p": "phase", "#m": "message" },
              ExpressionAttributeValues: { ":e": "Error", ":r": "Running", ":t": at, ":m": `abandoned: no progress since ${current.updatedAt}; superseded by ${id}` },
            },
          });
        }
      }
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: writes as never }));
        return prepared.record;
      } catch (err) {
        if (!cancelled(err)) throw err;
        if (await this.rawItem(op.cluster, id)) throw new Error(`operation ${id} of cluster "${op.cluster}" already exists`);
        if (attempt >= 5) throw err;
        // another start won the pointer meanwhile: look again
      }
    }
  }

  /**
   * Records an operation that is over when it is known, such as an image update's commit:
   * written once, finished, without taking the cluster's `running` pointer (a sync may be
   * running meanwhile) and without moving its `succeeded` pointers (nothing was synced).
   * @returns the stored operation.
   * @throws Error when an operation of that id already exists.
   */
  async record(input: NewOperation & { phase: OperationPhase; finishedAt: string }, now = Date.now()): Promise<OperationRecord> {
    if (!FINAL_PHASES.includes(input.phase)) throw new Error(`record: phase must be Succeeded, Failed or Error, not ${input.phase}`);
    const startedAt = input.startedAt ?? new Date(now).toISOString();
    const op: Operation = { ...input, id: input.id ?? newOperationId(startedAt), startedAt, retryCount: input.retryCount ?? 0, resources: input.resources ?? [] };
    const { item, record } = await this.prepare(op, new Date(now).toISOString());
    try {
      await this.db.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: "attribute_not_exists(sk)" }));
    } catch (err) {
      if ((err as { name?: string }).name === "ConditionalCheckFailedException") throw new Error(`operation ${op.id} of cluster "${op.cluster}" already exists`);
      throw err;
    }
    return record;
  }

  /**
   * Rewrites a Running operation: its resources, message, retry count, dry-run and prune flags
   * (id, cluster, revision, trigger and start time are kept), and refreshes the `running` pointer's
   * heartbeat, in one transaction. With a final `op.phase` it also finishes it, as `finish`.
   * @throws OperationNotFoundError; OperationNotRunningError when it already finished (or was
   *   taken over as abandoned).
   */
  async update(op: Operation, now = Date.now()): Promise<OperationRecord> {
    const current = await this.rawItem(op.cluster, op.id);
    if (!current) throw new OperationNotFoundError(op.cluster, op.id);
    if (current.phase !== "Running") throw new OperationNotRunningError(op.cluster, op.id, current.phase as OperationPhase);
    const at = new Date(now).toISOString();
    const final = FINAL_PHASES.includes(op.phase);
    const next: Operation = { ...op, revision: current.revision as string, trigger: current.trigger as OperationTrigger, startedAt: current.startedAt as string, phase: final ? op.phase : "Running" };
    if (final) next.finishedAt = op.finishedAt ?? at;
    else delete next.finishedAt;
    const { item, record, version } = await this.prepare(next, at);
    const put = { Put: { TableName: this.table, Item: item, ConditionExpression: "#p = :r", ExpressionAttributeNames: { "#p": "phase" }, ExpressionAttributeValues: { ":r": "Running" } } };
    await this.transition(op.cluster, op.id, put, final ? next : undefined, at);
    if (version || current.resourceParts) await this.dropOldParts(op.cluster, op.id, version);
    return record;
  }

  /** Refreshes the heartbeat of a Running operation (long hooks) without rewriting it. @throws as `update`. */
  async heartbeat(ref: OperationRef, now = Date.now()): Promise<void> {
    const at = new Date(now).toISOString();
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { cluster: ref.cluster, sk: opSk(ref.id) },
                UpdateExpression: "SET updatedAt = :t",
                ConditionExpression: "#p = :r",
                ExpressionAttributeNames: { "#p": "phase" },
                ExpressionAttributeValues: { ":t": at, ":r": "Running" },
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: { cluster: ref.cluster, sk: RUNNING },
                UpdateExpression: "SET updatedAt = :t",
                ConditionExpression: "operationId = :id",
                ExpressionAttributeValues: { ":t": at, ":id": ref.id },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (cancelled(err)) throw await this.notRunning(ref);
      throw err;
    }
  }

  /**
   * Ends a Running operation: sets `phase` (Succeeded, Failed or Error), `finishedAt` and the
   * message (kept when not given), deletes the `running` pointer and, when Succeeded and not a
   * dry run, points `succeeded` and `succeeded#<revision>` at it: one TransactWriteItems.
   * Finishing again with the same phase returns the stored operation (a redelivered message).
   * @throws Error on a non-final phase; OperationNotFoundError; OperationNotRunningError.
   */
  async finish(ref: OperationRef, phase: OperationPhase, message?: string, now = Date.now()): Promise<OperationRecord> {
    if (!FINAL_PHASES.includes(phase)) throw new Error(`finish: phase must be Succeeded, Failed or Error, not ${phase}`);
    const current = await this.get(ref.cluster, ref.id);
    if (!current) throw new OperationNotFoundError(ref.cluster, ref.id);
    if (current.phase === phase) return current;
    if (current.phase !== "Running") throw new OperationNotRunningError(ref.cluster, ref.id, current.phase);
    const at = new Date(now).toISOString();
    const msg = truncate(message, MAX_MESSAGE);
    await this.transition(
      ref.cluster,
      ref.id,
      {
        Update: {
          TableName: this.table,
          Key: { cluster: ref.cluster, sk: opSk(ref.id) },
          UpdateExpression: `SET #p = :f, finishedAt = :t, updatedAt = :t${msg !== undefined ? ", #m = :m" : ""}`,
          ConditionExpression: "#p = :r",
          ExpressionAttributeNames: { "#p": "phase", ...(msg !== undefined ? { "#m": "message" } : {}) },
          ExpressionAttributeValues: { ":f": phase, ":t": at, ":r": "Running", ...(msg !== undefined ? { ":m": msg } : {}) },
        },
      },
      { ...current, phase },
      at,
    );
    return { ...current, phase, finishedAt: at, updatedAt: at, ...(msg !== undefined ? { message: msg } : {}) };
  }

  /** One operation with its resource results, or undefined. Strongly consistent. */
  async get(cluster: string, id: string): Promise<OperationRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      const item = await this.rawItem(cluster, id);
      if (!item) return undefined;
      try {
        return await this.fromItem(item);
      } catch (err) {
        // parts replaced by a concurrent update between the two reads: read again
        if (attempt >= 2) throw err;
      }
    }
  }

  /** The Running operation of `cluster` (with its resources), or undefined. */
  async running(cluster: string): Promise<OperationRecord | undefined> {
    const p = await this.pointer(cluster);
    return p ? this.get(cluster, p.operationId) : undefined;
  }

  /**
   * The latest Succeeded operation of `cluster` (dry runs excluded), or with `revision` the
   * latest Succeeded one at that revision: what a rollback goes back to. Two GetItems.
   */
  async lastSucceeded(cluster: string, opts: { revision?: string } = {}): Promise<OperationRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { cluster, sk: opts.revision ? `${SUCCEEDED}#${opts.revision}` : SUCCEEDED }, ConsistentRead: true }));
    return out.Item ? this.get(cluster, out.Item.operationId as string) : undefined;
  }

  /**
   * One page of `cluster`'s operations, newest first, with their resource results: one Query
   * (plus the parts of offloaded results).
   * @throws InvalidCursorError; RangeError on a limit outside 1..1000.
   */
  async history(cluster: string, opts: HistoryOptions = {}): Promise<OperationPage<OperationRecord>> {
    const page = await this.page(cluster, opts, false);
    return { ...page, operations: await Promise.all(page.operations.map((i) => this.fromItemRetrying(cluster, i))) };
  }

  /** As `history`, without the per-resource results (never reads parts): for tables and the list API. */
  async summaries(cluster: string, opts: HistoryOptions = {}): Promise<OperationPage<OperationSummary>> {
    const page = await this.page(cluster, opts, true);
    return { ...page, operations: page.operations.map((i) => ({ ...i, counts: i.counts ?? {}, resourceTotal: i.resourceTotal ?? 0 }) as unknown as OperationSummary) };
  }

  // ---------------------------------------------------------------------------------------

  /** Builds the item of `op` (writing its resource parts first when too large to stay inline). */
  private async prepare(op: Operation, at: string): Promise<{ item: Record<string, unknown>; record: OperationRecord; version?: string }> {
    const resources = op.resources.map((r) => (r.message && r.message.length > MAX_RESOURCE_MESSAGE ? { ...r, message: truncate(r.message, MAX_RESOURCE_MESSAGE) } : r));
    const record: OperationRecord = { ...op, message: truncate(op.message, MAX_MESSAGE), resources, counts: countResults(resources), updatedAt: at };
    if (record.message === undefined) delete record.message;
    const expiresAt = this.ttlDays ? Math.floor(Date.parse(op.startedAt) / 1000) + this.ttlDays * 86400 : undefined;
    const { resources: _r, ...rest } = record;
    const item: Record<string, unknown> = { ...rest, sk: opSk(op.id), resourceTotal: resources.length, expiresAt };
    const json = Buffer.from(JSON.stringify(resources));
    if (json.length <= INLINE_RESOURCE_BYTES) return { item: { ...item, resources }, record };
    const version = randomBytes(4).toString("hex");
    const gz = gzipSync(json);
    const chunks: Buffer[] = [];
    for (let off = 0; off < gz.length; off += RESOURCE_PART_BYTES) chunks.push(gz.subarray(off, off + RESOURCE_PART_BYTES));
    await batchWriteAll(
      this.db,
      this.table,
      chunks.map((data, i) => ({ PutRequest: { Item: { cluster: op.cluster, sk: partSk(op.id, version, i), data, expiresAt } } })),
    );
    const parts: PartsRef = { version, parts: chunks.length, sha256: createHash("sha256").update(json).digest("hex"), bytes: json.length };
    return { item: { ...item, resourceParts: parts }, record, version };
  }

  /**
   * The transaction of `update` / `finish`: the operation write (`opWrite`, conditioned on
   * Running) and the pointer: refreshed while Running, deleted when `finished`
   * is given, plus the `succeeded` pointers when it Succeeded (not a dry run).
   */
  private async transition(cluster: string, id: string, opWrite: object, finished: Operation | undefined, at: string): Promise<void> {
    const writes: object[] = [opWrite];
    if (!finished) {
      writes.push({
        Update: {
          TableName: this.table,
          Key: { cluster, sk: RUNNING },
          UpdateExpression: "SET updatedAt = :t",
          ConditionExpression: "operationId = :id",
          ExpressionAttributeValues: { ":t": at, ":id": id },
        },
      });
    } else {
      writes.push({
        Delete: { TableName: this.table, Key: { cluster, sk: RUNNING }, ConditionExpression: "attribute_not_exists(operationId) OR operationId = :id", ExpressionAttributeValues: { ":id": id } },
      });
      if (finished.phase === "Succeeded" && !finished.dryRun) {
        const expiresAt = this.ttlDays ? Math.floor(Date.parse(finished.startedAt) / 1000) + this.ttlDays * 86400 : undefined;
        const pointer = { operationId: id, revision: finished.revision, startedAt: finished.startedAt, finishedAt: at, ...(expiresAt ? { expiresAt } : {}) };
        writes.push({ Put: { TableName: this.table, Item: { cluster, sk: SUCCEEDED, ...pointer } } });
        writes.push({ Put: { TableName: this.table, Item: { cluster, sk: `${SUCCEEDED}#${finished.revision}`, ...pointer } } });
      }
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: writes as never }));
    } catch (err) {
      if (cancelled(err)) throw await this.notRunning({ cluster, id });
      throw err;
    }
  }

  /** The error explaining why a write conditioned on Running failed. */
  private async notRunning(ref: OperationRef): Promise<Error> {
    const item = await this.rawItem(ref.cluster, ref.id);
    if (!item) return new OperationNotFoundError(ref.cluster, ref.id);
    return new OperationNotRunningError(ref.cluster, ref.id, item.phase === "Running" ? "Error" : (item.phase as OperationPhase));
  }

  /** Deletes resource parts of `id` other than `keep` (left by earlier updates). Best effort. */
  private async dropOldParts(cluster: string, id: string, keep: string | undefined): Promise<void> {
    try {
      const keys = await queryAll<{ cluster: string; sk: string }>(this.db, {
        TableName: this.table,
        KeyConditionExpression: "#c = :c AND begins_with(sk, :p)",
        ExpressionAttributeNames: { "#c": "cluster" },
        ExpressionAttributeValues: { ":c": cluster, ":p": `res#${id}#` },
        ProjectionExpression: "#c, sk",
      });
      const stale = keys.filter((k) => !keep || !k.sk.startsWith(`res#${id}#${keep}#`));
      await batchWriteAll(
        this.db,
        this.table,
        stale.map((k) => ({ DeleteRequest: { Key: { cluster: k.cluster, sk: k.sk } } })),
      );
    } catch {
      // orphaned parts are only storage: they expire with the operation's TTL, if any
    }
  }

  private async pointer(cluster: string): Promise<RunningPointer | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { cluster, sk: RUNNING }, ConsistentRead: true }));
    return out.Item as RunningPointer | undefined;
  }

  private async rawItem(cluster: string, id: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { cluster, sk: opSk(id) }, ConsistentRead: true }));
    return out.Item;
  }

  private async fromItemRetrying(cluster: string, item: Record<string, unknown>): Promise<OperationRecord> {
    try {
      return await this.fromItem(item);
    } catch (err) {
      const again = await this.get(cluster, item.id as string);
      if (!again) throw err;
      return again;
    }
  }

  /** The operation of an item, reading its resource parts when offloaded. @throws Error on missing parts or a digest mismatch. */
  private async fromItem(item: Record<string, unknown>): Promise<OperationRecord> {
    const { sk: _sk, expiresAt: _e, resourceTotal: _t, resourceParts, ...rest } = item;
    const op = rest as unknown as OperationRecord;
    op.counts ??= {};
    if (!resourceParts) return { ...op, resources: (op.resources ?? []) as ResourceResult[] };
    const ref = resourceParts as PartsRef;
    const items = await queryAll<{ data: Uint8Array }>(this.db, {
      TableName: this.table,
      KeyConditionExpression: "#c = :c AND begins_with(sk, :p)",
      ExpressionAttributeNames: { "#c": "cluster" },
      ExpressionAttributeValues: { ":c": op.cluster, ":p": `res#${op.id}#${ref.version}#` },
      ConsistentRead: true,
    });
    if (items.length < ref.parts) throw new Error(`operation ${op.id}: ${items.length} of ${ref.parts} resource parts found`);
    const json = gunzipSync(Buffer.concat(items.slice(0, ref.parts).map((i) => Buffer.from(i.data))));
    if (createHash("sha256").update(json).digest("hex") !== ref.sha256) throw new Error(`operation ${op.id}: resource parts digest mismatch`);
    return { ...op, resources: JSON.parse(json.toString("utf8")) as ResourceResult[] };
  }

  /** One page of raw operation items, newest first, `limit` at most, filling across DynamoDB's 1 MB pages. */
  private async page(cluster: string, opts: HistoryOptions, summary: boolean): Promise<{ operations: Record<string, unknown>[]; cursor?: string }> {
    const limit = opts.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RangeError("limit must be an integer from 1 to 1000");
    let start: Record<string, unknown> | undefined;
    if (opts.cursor) {
      let sk: unknown;
      try {
        sk = (JSON.parse(Buffer.from(opts.cursor, "base64url").toString("utf8")) as { sk?: unknown }).sk;
      } catch {
        throw new InvalidCursorError();
      }
      if (typeof sk !== "string" || !sk.startsWith("op#") || !isOperationId(sk.slice(3))) throw new InvalidCursorError();
      start = { cluster, sk };
    }
    const input: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: "#c = :c AND sk BETWEEN :lo AND :hi",
      ExpressionAttributeNames: { "#c": "cluster" },
      ExpressionAttributeValues: { ":c": cluster, ":lo": opSk(opts.since ?? ""), ":hi": "op$" },
      ScanIndexForward: false,
      ConsistentRead: true,
    };
    if (summary) {
      const names = Object.fromEntries(SUMMARY_ATTRS.map((a, i) => [`#a${i}`, a]));
      input.ProjectionExpression = Object.keys(names).join(", ");
      input.ExpressionAttributeNames = { ...input.ExpressionAttributeNames, ...names };
    }
    const items: Record<string, unknown>[] = [];
    // ask for one more than needed: when it comes, there is a next page and the cursor is the last item kept
    for (;;) {
      const out = await this.db.send(new QueryCommand({ ...input, Limit: limit - items.length + 1, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (items.length > limit) {
        const kept = items.slice(0, limit);
        return { operations: kept, cursor: Buffer.from(JSON.stringify({ sk: opSk(kept[limit - 1]!.id as string) })).toString("base64url") };
      }
      if (!start) return { operations: items };
    }
  }
}
