/**
 * Large values split across DynamoDB items: gzip-compressed JSON cut into parts of at most
 * `PART_BYTES`, stored as `sk = part#0000`, `part#0001`, ... under one partition key.
 * DynamoDB's item limit is 400 KB including attribute names
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items);
 * 350,000 bytes of payload per part leaves room for the keys and the header attributes.
 */
import { gzipSync, gunzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { batchWriteAll, isConditionFailed } from "./client.js";

/** Bytes of compressed payload per item. */
export const PART_BYTES = 350_000;

/** Header stored on part 0: how many parts make the value, its digest, its uncompressed size. */
export interface BlobHeader {
  parts: number;
  sha256: string;
  bytes: number;
}

function partKey(i: number): string {
  return `part#${String(i).padStart(4, "0")}`;
}

/**
 * Writes `value` (any JSON value) under `pk`. With `ifAbsent`, part 0 is written with a
 * conditional put (`attribute_not_exists(pk)`) *last*, after the other parts, so a reader
 * never sees a header whose parts are missing, and returns `false` without writing when
 * another writer already completed the blob (content-addressed values are written once).
 * Parts beyond the new count left from an older, longer value are harmless: readers stop
 * at `parts` from the header.
 * @returns true when this call wrote the blob.
 * @throws AWS SDK errors other than the failed condition.
 */
export async function putBlob(db: DynamoDBDocumentClient, table: string, pk: string, value: unknown, opts: { ifAbsent?: boolean; attributes?: Record<string, unknown> } = {}): Promise<boolean> {
  const json = Buffer.from(JSON.stringify(value));
  const gz = gzipSync(json);
  const chunks: Buffer[] = [];
  for (let off = 0; off < gz.length || chunks.length === 0; off += PART_BYTES) chunks.push(gz.subarray(off, off + PART_BYTES));
  const header: BlobHeader = { parts: chunks.length, sha256: createHash("sha256").update(json).digest("hex"), bytes: json.length };
  await batchWriteAll(
    db,
    table,
    chunks.slice(1).map((data, i) => ({ PutRequest: { Item: { pk, sk: partKey(i + 1), data } } })),
  );
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: { ...opts.attributes, pk, sk: partKey(0), data: chunks[0], ...header },
        ...(opts.ifAbsent ? { ConditionExpression: "attribute_not_exists(pk)" } : {}),
      }),
    );
    return true;
  } catch (err) {
    if (opts.ifAbsent && isConditionFailed(err)) return false;
    throw err;
  }
}

/** True when part 0 of the blob `pk` exists (one consistent GetItem, keys only). */
export async function blobExists(db: DynamoDBDocumentClient, table: string, pk: string): Promise<boolean> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { pk, sk: partKey(0) }, ProjectionExpression: "pk", ConsistentRead: true }));
  return out.Item !== undefined;
}

/** A blob as stored: its gzip-compressed JSON (parts concatenated) and its header. */
export interface StoredBlob {
  gz: Buffer;
  header: BlobHeader;
}

/**
 * The stored bytes of blob `pk` (one consistent Query of its parts), or `undefined` when absent.
 * @throws Error when parts are missing.
 */
export async function getBlobBytes(db: DynamoDBDocumentClient, table: string, pk: string): Promise<StoredBlob | undefined> {
  const parts: Buffer[] = [];
  let header: BlobHeader | undefined;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues: { ":pk": pk, ":p": "part#" },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      if (item.sk === partKey(0)) header = { parts: item.parts, sha256: item.sha256, bytes: item.bytes };
      parts.push(Buffer.from(item.data as Uint8Array));
    }
    start = out.LastEvaluatedKey;
    if (header && parts.length >= header.parts) break;
  } while (start);
  if (!header) return undefined;
  if (parts.length < header.parts) throw new Error(`blob ${pk}: ${parts.length} of ${header.parts} parts found`);
  return { gz: Buffer.concat(parts.slice(0, header.parts)), header };
}

/**
 * The value of a stored blob, checked against its digest.
 * @throws Error when the digest does not match (a torn write).
 */
export function decodeBlob<T>(pk: string, blob: StoredBlob): T {
  const json = gunzipSync(blob.gz);
  if (createHash("sha256").update(json).digest("hex") !== blob.header.sha256) throw new Error(`blob ${pk}: digest mismatch`);
  return JSON.parse(json.toString("utf8")) as T;
}

/**
 * Reads the blob `pk` back exactly as written, or `undefined` when absent.
 * @throws Error when parts are missing or the digest does not match (a torn write).
 */
export async function getBlob<T>(db: DynamoDBDocumentClient, table: string, pk: string): Promise<T | undefined> {
  const blob = await getBlobBytes(db, table, pk);
  return blob && decodeBlob<T>(pk, blob);
}
