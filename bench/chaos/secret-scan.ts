/**
 * What an isolated installation (test/support/stack.ts `isolated`) holds, as text to search for
 * secret values (the check "secrets", `secrets.ts`): every item of its five DynamoDB tables
 * (Scan, every page) as JSON, plus what its binary and encoded attributes hold once decoded —
 * the gzip-compressed JSON the snapshot store cuts into `part#NNNN` items (shared/store/blobs.ts)
 * and the operations store into `res#<id>#<version>#NNNN` items, reassembled in order and
 * gunzipped, any other binary gunzipped when it is gzip, and every string that reads as base64
 * decoded (and gunzipped when gzip) — and the bodies of the messages waiting in its queues
 * (the FIFO queue, its dead-letter queue and the resume queue), received and left there.
 */
import { gunzipSync } from "node:zlib";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Isolated } from "../../test/support/stack.js";
import { loadConfig } from "../../shared/config.js";
import { dynamo } from "../../shared/compose/stores.js";
import { sqsClient } from "../../shared/queue/tasks.js";

/** A text to search, and where it comes from (for the report). */
export interface Haystack {
  place: string;
  text: string;
}

type Item = Record<string, unknown>;

/** Items of `table`, every page. */
async function scanAll(iso: Isolated, table: string): Promise<Item[]> {
  const db = dynamo(loadConfig(iso.env));
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const isGzip = (b: Uint8Array) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The text of bytes: gunzipped when gzip (a truncated part yields what it can), else as UTF-8. */
function bytesText(b: Uint8Array): string {
  if (!isGzip(b)) return Buffer.from(b).toString("utf8");
  try {
    return gunzipSync(b).toString("utf8");
  } catch {
    return "";
  }
}

const BASE64ISH = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;

/** Every binary and every base64-looking string under `v`, decoded. */
function decodedLeaves(v: unknown, out: string[]): void {
  if (v instanceof Uint8Array) out.push(bytesText(v));
  else if (typeof v === "string" && BASE64ISH.test(v)) out.push(bytesText(Buffer.from(v, "base64")));
  else if (Array.isArray(v)) for (const x of v) decodedLeaves(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) decodedLeaves(x, out);
}

/** The blobs cut into numbered part items (`<prefix>#NNNN` sort keys with a binary `data`), reassembled and gunzipped. */
function reassembled(items: Item[]): string[] {
  const groups = new Map<string, { sk: string; data: Uint8Array }[]>();
  for (const item of items) {
    const sk = typeof item.sk === "string" ? item.sk : "";
    const m = /^(.*)#\d{4}$/.exec(sk);
    if (!m || !(item.data instanceof Uint8Array)) continue;
    const key = `${String(item.pk ?? item.cluster)}|${m[1]}`;
    groups.set(key, [...(groups.get(key) ?? []), { sk, data: item.data }]);
  }
  return [...groups.values()].map((parts) => bytesText(Buffer.concat(parts.sort((a, b) => (a.sk < b.sk ? -1 : 1)).map((p) => p.data))));
}

/** Bodies of the messages visible in `queueUrl` (received, not deleted: they come back when their visibility ends). */
async function queueBodies(iso: Isolated, queueUrl: string): Promise<string[]> {
  const sqs = sqsClient(loadConfig(iso.env));
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    const msgs = out.Messages ?? [];
    if (msgs.length === 0) return bodies;
    bodies.push(...msgs.map((m) => m.Body ?? ""));
  }
}

/** JSON of an item, binaries as their UTF-8 text. */
const itemJson = (item: Item) => JSON.stringify(item, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("utf8") : v));

/**
 * Everything `iso` stores and queues, as texts to search (see the module doc).
 * @returns the texts, and the tables, items and messages read.
 * @throws AWS SDK errors.
 */
export async function secretHaystacks(iso: Isolated): Promise<{ haystacks: Haystack[]; tables: number; items: number; messages: number }> {
  const tables = Object.entries(loadConfig(iso.env).tables);
  const haystacks: Haystack[] = [];
  let items = 0;
  for (const [name, table] of tables) {
    const all = await scanAll(iso, table);
    items += all.length;
    for (const item of all) {
      haystacks.push({ place: `${name} table`, text: itemJson(item) });
      const decoded: string[] = [];
      decodedLeaves(item, decoded);
      haystacks.push(...decoded.map((text) => ({ place: `${name} table (decoded)`, text })));
    }
    haystacks.push(...reassembled(all).map((text) => ({ place: `${name} table (reassembled blob)`, text })));
  }
  const queues = [iso.queueUrl, iso.queueUrl.replace(/\.fifo$/, "-dlq.fifo"), iso.env.CONVERGE_RESUME_QUEUE_URL!];
  let messages = 0;
  for (const q of queues) {
    const bodies = await queueBodies(iso, q);
    messages += bodies.length;
    haystacks.push(...bodies.map((text) => ({ place: `queue ${q.split("/").pop()}`, text })));
  }
  return { haystacks, tables: tables.length, items, messages };
}
