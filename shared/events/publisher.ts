/**
 * Where events go: an EventBridge bus (PutEvents) in AWS, JSON lines in a file locally.
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `CONVERGE_EVENTS_LOG` | append events to this file (JSON lines) instead of EventBridge | unset |
 * | `CONVERGE_EVENT_BUS` | name or ARN of the EventBridge bus | `default` |
 *
 * With neither set and the local stack's endpoints in use (`CONVERGE_DYNAMODB_ENDPOINT`, as
 * `npm run demo`, the local control plane and the tests set), events go to
 * `.converge/events.log` of the checkout (the local state folder of tools/demo.ts).
 *
 * PutEvents (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html):
 * at most 10 entries per request; an entry's size counts Source, DetailType and Detail in UTF-8
 * bytes plus 14 for Time and must stay under 256 KB
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html), so a
 * detail is trimmed (long strings cut, lists shortened, `trimmed: true`) until it fits, and a
 * request holds 256 KB of entries at most. Entries the answer reports failed
 * (`FailedEntryCount`, an `ErrorCode` per entry) with a retryable code (`InternalFailure`,
 * `ThrottlingException`: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html)
 * are sent once more; what fails again, or for another reason, is logged.
 * A publisher never throws: events are a side channel, a failure must not fail the reconcile.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { instrumented } from "../instrument.js";
import type { Log } from "../reconcile/reconcile.js";
import { EVENT_SOURCE, type ConvergeEvent, type EventPublisher } from "./schema.js";

/** Entries per PutEvents request (the API's limit). */
export const BATCH_ENTRIES = 10;
/** Largest entry, and largest request, in bytes (256 KB). */
export const ENTRY_MAX_BYTES = 256 * 1024;

/** Entry error codes worth sending again (PutEventsResultEntry's retryable errors). */
export const RETRYABLE_CODES: readonly string[] = ["InternalFailure", "ThrottlingException"];

const nullLog: Log = { info() {}, warn() {}, error() {} };

/** PutEvents' size of an entry (see the module doc). */
export function entrySize(e: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, "utf8"));
  return (e.Time ? 14 : 0) + bytes(e.Source) + bytes(e.DetailType) + bytes(e.Detail) + (e.Resources ?? []).reduce((n, r) => n + bytes(r), 0);
}

/** The string and list limits `fitDetail` tries in turn (characters, items). */
const TRIM_STEPS = [
  [1024, 32],
  [256, 8],
  [64, 0],
] as const;

/**
 * `detail` made to fit `maxBytes` of JSON: strings longer than a limit are cut and arrays
 * shortened to a limit, tighter limits in turn until it fits (`trimmed: true` then). Numbers,
 * keys and strings of 64 characters or less (ids, SHAs, names) are kept.
 */
export function fitDetail<T extends object>(detail: T, maxBytes: number): T {
  const size = (o: unknown) => Buffer.byteLength(JSON.stringify(o), "utf8");
  if (size(detail) <= maxBytes) return detail;
  let out = detail;
  for (const [strMax, listMax] of TRIM_STEPS) {
    const cut = (v: unknown): unknown => {
      if (typeof v === "string") return v.length > strMax ? `${v.slice(0, strMax)}…` : v;
      if (Array.isArray(v)) return v.slice(0, listMax).map(cut);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x)]));
      return v;
    };
    out = { ...(cut(detail) as T), trimmed: true };
    if (size(out) <= maxBytes) return out;
  }
  return out;
}

/** The PutEvents entry of an event on `bus`, its detail trimmed to fit the entry limit. */
export function entryOf(event: ConvergeEvent, bus: string): PutEventsRequestEntry {
  const head = { Source: EVENT_SOURCE, DetailType: event.detailType, EventBusName: bus, Time: new Date(event.detail.time) };
  const room = ENTRY_MAX_BYTES - entrySize({ ...head, Detail: "" });
  return { ...head, Detail: JSON.stringify(fitDetail(event.detail, room)) };
}

/** `entries` in PutEvents requests: at most `BATCH_ENTRIES` entries and `ENTRY_MAX_BYTES` per request, in order. */
export function batchesOf(entries: PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = entrySize(e);
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + size > ENTRY_MAX_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Publishes to an EventBridge bus with PutEvents (see the module doc). */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    /** Bus name or ARN. */
    private readonly bus: string,
    private readonly log: Log = nullLog,
  ) {}

  /** Sends `events` in batches; entries failed by the answer with a retryable code are sent once more; every failure is logged, none thrown. */
  async publish(events: ConvergeEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const batch of batchesOf(events.map((e) => entryOf(e, this.bus)))) {
      try {
        const failed = await this.send(batch);
        const retry = failed.filter((f) => RETRYABLE_CODES.includes(f.code ?? ""));
        const still = [...failed.filter((f) => !retry.includes(f)), ...(retry.length > 0 ? await this.send(retry.map((f) => f.entry)) : [])];
        for (const f of still) this.log.warn("event not published", { bus: this.bus, detailType: f.entry.DetailType, errorCode: f.code, error: f.message });
      } catch (err) {
        this.log.warn("events not published", { bus: this.bus, count: batch.length, error: (err as Error).message });
      }
    }
  }

  /** One PutEvents request; the entries its answer reports failed, with their error. */
  private async send(entries: PutEventsRequestEntry[]): Promise<{ entry: PutEventsRequestEntry; code?: string; message?: string }[]> {
    const out = await this.client.send(new PutEventsCommand({ Entries: entries }));
    if (!out.FailedEntryCount) return [];
    return (out.Entries ?? []).flatMap((r, i) => (r.ErrorCode ? [{ entry: entries[i]!, code: r.ErrorCode, message: r.ErrorMessage }] : []));
  }
}

/**
 * Appends events as JSON lines to a file, each line shaped like the event EventBridge delivers
 * to a rule's target (`version`, `id`, `detail-type`, `source`, `time`, `region`, `resources`,
 * `detail`; https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html),
 * `id` being the detail's `eventId`.
 */
export class FileEventSink implements EventPublisher {
  constructor(
    readonly path: string,
    private readonly log: Log = nullLog,
  ) {}

  /** Appends one line per event (the folder is created); a failure is logged, not thrown. */
  async publish(events: ConvergeEvent[]): Promise<void> {
    if (events.length === 0) return;
    const lines = events.map((e) =>
      JSON.stringify({ version: "0", id: e.detail.eventId, "detail-type": e.detailType, source: EVENT_SOURCE, time: e.detail.time, region: "local", resources: [], detail: e.detail }),
    );
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, `${lines.join("\n")}\n`);
    } catch (err) {
      this.log.warn("events not written", { path: this.path, error: (err as Error).message });
    }
  }
}

/** `.converge/events.log` of this checkout (resolved when called: only the local stack uses it). */
export function localEventsLog(): string {
  return join(fileURLToPath(new URL("../..", import.meta.url)), ".converge", "events.log");
}

/** The publisher the environment names (see the module doc). */
export function eventPublisher(env: NodeJS.ProcessEnv = process.env, log: Log = nullLog): EventPublisher {
  if (env.CONVERGE_EVENTS_LOG) return new FileEventSink(env.CONVERGE_EVENTS_LOG, log);
  if (!env.CONVERGE_EVENT_BUS && env.CONVERGE_DYNAMODB_ENDPOINT) return new FileEventSink(localEventsLog(), log);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  return new EventBridgePublisher(instrumented(new EventBridgeClient({ region, maxAttempts: 3 })), env.CONVERGE_EVENT_BUS || "default", log);
}
