/**
 * The events of a reconcile (shared/events/transitions.ts): each detail type from the status
 * before and after and the operation records, once per transition, none on a quiet reconcile;
 * `Cluster Diverged` once per divergence, across an outage; `Push Received`; and the EventBridge
 * publisher's entries: batches of 10, size trimming, the retry of entries PutEvents reports
 * failed, through a real SDK client talking to a local HTTP server that answers in PutEvents'
 * documented shape (test/fixtures/eventbridge/README.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { initialStatus, type ClusterStatus } from "../../shared/cluster/status.js";
import type { ResourceDrift } from "../../shared/model.js";
import type { OperationRecord } from "../../shared/store/operations.js";
import { clusterTransitions, divergedMinutes, type TransitionInput } from "../../shared/events/transitions.js";
import { pushReceivedEvent } from "../../shared/events/push.js";
import { BATCH_ENTRIES, batchesOf, ENTRY_MAX_BYTES, entryOf, entrySize, EventBridgePublisher } from "../../shared/events/publisher.js";
import { DETAIL_TYPES, type ConvergeEvent } from "../../shared/events/schema.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "eventbridge");
const SHA = "0d521c6e049889134f3122eb32d7ed342f43ca0d";
const T0 = Date.parse("2026-11-23T10:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const counts = (modified = 0) => ({ resources: 3, synced: 3 - modified, modified, missing: 0, extra: 0 });

/** A status as `finish` writes it at minute `m`. */
function status(m: number, fields: Partial<ClusterStatus>): ClusterStatus {
  return { sync: "Synced", revision: SHA, health: "Healthy", counts: counts(), lastReconcileAt: at(m), lastSuccessAt: at(m), ...fields };
}

function input(before: ClusterStatus, after: ClusterStatus, extra: Partial<TransitionInput> = {}): TransitionInput {
  return {
    cluster: { name: "prod-eu-1", repository: "https://github.com/argoproj/argocd-example-apps.git", branch: "master" },
    before,
    after,
    operations: [],
    drift: [],
    divergedMinutes: 15,
    ...extra,
  };
}

const types = (events: ConvergeEvent[]) => events.map((e) => e.detailType);

function op(phase: OperationRecord["phase"], resources: OperationRecord["resources"] = []): OperationRecord {
  return {
    id: "2026-11-23T10:00:00.000Z-3f9a1c",
    cluster: "prod-eu-1",
    revision: SHA,
    trigger: { type: "push", deliveryId: "72d3162e-cc78-11e3-81ab-4c9367dc0958" },
    phase,
    startedAt: at(0),
    ...(phase === "Running" ? {} : { finishedAt: at(1) }),
    retryCount: 0,
    resources,
    counts: {},
    updatedAt: at(1),
  };
}

test("a quiet reconcile (same sync, health, no operation) yields no event", () => {
  const before = status(0, {});
  assert.deepEqual(clusterTransitions(input(before, status(5, {}))), []);
  const outOfSync = status(0, { sync: "OutOfSync", counts: counts(1), outOfSyncSince: at(0) });
  assert.deepEqual(clusterTransitions(input(outOfSync, { ...outOfSync, lastReconcileAt: at(5), lastSuccessAt: at(5) })), []);
});

test("a drift yields one Cluster Sync Status Changed with from, to, revision, counts and where to look", () => {
  const after = status(5, { sync: "OutOfSync", counts: counts(1), outOfSyncSince: at(5) });
  const events = clusterTransitions(input(status(0, {}), after, { uiUrl: "https://converge.example.com/" }));
  assert.deepEqual(types(events), [DETAIL_TYPES.syncStatusChanged]);
  const d = events[0]!.detail as { from: string; to: string; revision: string; time: string; cluster: string; command: string; url: string; counts: unknown; eventId: string };
  assert.equal(d.from, "Synced");
  assert.equal(d.to, "OutOfSync");
  assert.equal(d.revision, SHA);
  assert.equal(d.time, at(5));
  assert.equal(d.cluster, "prod-eu-1");
  assert.equal(d.command, "converge cluster get prod-eu-1");
  assert.equal(d.url, "https://converge.example.com/#/clusters/prod-eu-1");
  assert.deepEqual(d.counts, counts(1));
  assert.equal((d as unknown as { summary: string }).summary, "prod-eu-1: Synced → OutOfSync at 0d521c6e0498");
  assert.match(d.eventId, /^[0-9a-f]{32}$/);
  // the same transition computed again (a racing reconcile) has the same id; reading the written status back, none
  assert.equal((clusterTransitions(input(status(0, {}), after))[0]!.detail as { eventId: string }).eventId, d.eventId);
  assert.deepEqual(clusterTransitions(input(after, { ...after, lastReconcileAt: at(6) })), []);
});

test("the first reconcile of a new cluster announces its status and health", () => {
  const events = clusterTransitions(input({ ...initialStatus() }, status(0, {})));
  assert.deepEqual(types(events), [DETAIL_TYPES.syncStatusChanged, DETAIL_TYPES.healthChanged]);
  assert.equal((events[1]!.detail as { from?: string }).from, undefined);
});

test("Cluster Health Changed lists the Degraded resources with their messages", () => {
  const degraded: ResourceDrift = {
    key: "apps/Deployment/guestbook/guestbook-ui",
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: "guestbook",
    name: "guestbook-ui",
    state: "Synced",
    changes: [],
    health: { status: "Degraded", message: 'Deployment "guestbook-ui" exceeded its progress deadline' },
  };
  const events = clusterTransitions(input(status(0, {}), status(5, { health: "Degraded" }), { drift: [degraded] }));
  assert.deepEqual(types(events), [DETAIL_TYPES.healthChanged]);
  const d = events[0]!.detail as { from: string; to: string; degraded: unknown[]; degradedTotal: number };
  assert.deepEqual([d.from, d.to, d.degradedTotal], ["Healthy", "Degraded", 1]);
  assert.deepEqual(d.degraded, [{ key: degraded.key, message: degraded.health!.message }]);
});

test("an operation started and finished in one reconcile yields Started then Succeeded; a failure yields Failed without a Secret's message", () => {
  const ok = clusterTransitions(
    input(status(0, {}), status(1, {}), {
      operations: [op("Running"), op("Succeeded", [{ key: "/Service/guestbook/guestbook-ui", kind: "Service", name: "guestbook-ui", action: "apply", status: "Synced" }])],
    }),
  );
  assert.deepEqual(types(ok), [DETAIL_TYPES.operationStarted, DETAIL_TYPES.operationSucceeded]);
  const started = ok[0]!.detail as { operationId: string; triggerText: string; time: string; phase: string };
  assert.deepEqual([started.operationId, started.triggerText, started.time, started.phase], [op("Running").id, "push", at(0), "Running"]);
  assert.deepEqual((ok[1]!.detail as { results: unknown }).results, { total: 1, counts: {}, failed: [] });
  const failed = op("Failed", [
    { key: "/Secret/guestbook/db", kind: "Secret", name: "db", action: "apply", status: "SyncFailed", message: 'Secret "db" is invalid: data[password]: Invalid value: "hunter2"' },
    { key: "batch/Job/guestbook/migrate", kind: "Job", name: "migrate", action: "hook", phase: "PreSync", status: "Failed", message: "BackoffLimitExceeded" },
  ]);
  const events = clusterTransitions(
    input(status(0, {}), status(1, { sync: "OutOfSync", counts: counts(1), outOfSyncSince: at(1) }), { operations: [{ ...failed, message: "one or more objects failed to apply" }] }),
  );
  assert.deepEqual(types(events), [DETAIL_TYPES.syncStatusChanged, DETAIL_TYPES.operationFailed]);
  const d = events[1]!.detail as { phase: string; results: { failed: { key: string; message?: string }[] } };
  assert.equal(d.phase, "Failed");
  assert.deepEqual(d.results.failed, [
    { key: "/Secret/guestbook/db", status: "SyncFailed" },
    { key: "batch/Job/guestbook/migrate", status: "Failed", message: "BackoffLimitExceeded" },
  ]);
  assert.doesNotMatch(JSON.stringify(events), /hunter2/);
  const error = clusterTransitions(input(status(0, {}), status(1, {}), { operations: [op("Error")] }));
  assert.deepEqual(types(error), [DETAIL_TYPES.operationFailed], "an operation in phase Error is a failed one");
});

test("Cluster Diverged: once at the reconcile crossing N minutes, not again until Synced in between, also across an outage", () => {
  const oos = (m: number, since: number, last = m) => status(m, { sync: "OutOfSync", counts: counts(1), outOfSyncSince: at(since), lastSuccessAt: at(last) });
  const seen: number[] = [];
  let before = oos(0, 0);
  for (const m of [5, 10, 14, 15, 20, 25]) {
    const after = oos(m, 0);
    if (types(clusterTransitions(input(before, after))).includes(DETAIL_TYPES.diverged)) seen.push(m);
    before = after;
  }
  assert.deepEqual(seen, [15], "once, at the first reconcile 15 minutes or more after outOfSyncSince");
  const d = clusterTransitions(input(oos(14, 0), oos(16, 0))).find((e) => e.detailType === DETAIL_TYPES.diverged)!.detail as {
    minutes: number;
    thresholdMinutes: number;
    outOfSyncSince: string;
    command: string;
  };
  assert.deepEqual([d.minutes, d.thresholdMinutes, d.outOfSyncSince, d.command], [16, 15, at(0), "converge diff --cluster prod-eu-1"]);
  // crossed while unreachable: the next OutOfSync reconcile announces it; once announced, an outage does not repeat it
  const unknownFrom5 = { ...oos(20, 0, 5), sync: "Unknown" as const };
  assert.equal(divergedMinutes(unknownFrom5, oos(22, 0), 15), 22);
  const unknownFrom16 = { ...oos(20, 0, 16), sync: "Unknown" as const };
  assert.equal(divergedMinutes(unknownFrom16, oos(22, 0), 15), undefined);
  assert.equal(divergedMinutes(oos(20, 0), { ...oos(21, 0), sync: "Unknown" }, 15), undefined, "not while Unknown");
  // Synced in between: a new divergence, announced again
  assert.equal(divergedMinutes(status(30, {}), oos(31, 31), 15), undefined);
  assert.equal(divergedMinutes(oos(40, 31), oos(46, 31), 15), 15);
});

test("Push Received carries the push, the delivery and the clusters enqueued", () => {
  const e = pushReceivedEvent(
    { host: "github.com", repository: "https://github.com/argoproj/argocd-example-apps.git", branch: "master", revision: SHA, delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", clusters: ["a", "b"] },
    T0,
  );
  assert.equal(e.detailType, DETAIL_TYPES.pushReceived);
  assert.deepEqual(
    { ...e.detail, eventId: undefined },
    {
      eventId: undefined,
      repository: "https://github.com/argoproj/argocd-example-apps.git",
      branch: "master",
      revision: SHA,
      time: at(0),
      summary: "push master 0d521c6e0498 to https://github.com/argoproj/argocd-example-apps.git: 2 cluster(s) enqueued",
      command: "converge status",
      host: "github.com",
      delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      clustersEnqueued: 2,
      clusters: ["a", "b"],
    },
  );
});

test("PutEvents entries: source converge, batches of 10, a large detail trimmed under 256 KB", () => {
  const events = Array.from({ length: 23 }, (_, i) => pushReceivedEvent({ host: "github.com", repository: "https://github.com/a/b.git", branch: "main", revision: SHA, clusters: [`c${i}`] }, T0));
  const entries = events.map((e) => entryOf(e, "converge-bus"));
  assert.deepEqual(
    batchesOf(entries).map((b) => b.length),
    [BATCH_ENTRIES, BATCH_ENTRIES, 3],
  );
  assert.deepEqual([entries[0]!.Source, entries[0]!.DetailType, entries[0]!.EventBusName, entries[0]!.Time?.toISOString()], ["converge", "Push Received", "converge-bus", at(0)]);
  const huge = clusterTransitions(
    input(status(0, {}), status(1, { sync: "Error", message: "x".repeat(5000) }), {
      operations: [
        op(
          "Failed",
          Array.from({ length: 3000 }, (_, i) => ({
            key: `/ConfigMap/ns/cm-${i}`,
            kind: "ConfigMap",
            name: `cm-${i}`,
            action: "apply" as const,
            status: "SyncFailed" as const,
            message: "y".repeat(290),
          })),
        ),
      ],
    }),
  );
  const bigEntries = huge.map((e) => entryOf(e, "default"));
  for (const e of bigEntries) assert.ok(entrySize(e) <= ENTRY_MAX_BYTES, `${e.DetailType}: ${entrySize(e)} bytes`);
  const failed = JSON.parse(bigEntries[1]!.Detail!) as { results: { total: number; failed: unknown[] }; trimmed?: boolean };
  assert.equal(failed.results.total, 3000, "counts survive trimming");
  assert.ok(failed.results.failed.length <= 50);
  const big = entryOf({ detailType: "Push Received", detail: { ...events[0]!.detail, clusters: Array.from({ length: 40_000 }, (_, i) => `cluster-${i}`) } } as ConvergeEvent, "default");
  assert.ok(entrySize(big) <= ENTRY_MAX_BYTES);
  assert.equal((JSON.parse(big.Detail!) as { trimmed?: boolean }).trimmed, true);
  const near = entryOf({ detailType: "Push Received", detail: { ...events[0]!.detail, host: "h".repeat(200_000) } } as ConvergeEvent, "default");
  assert.equal((JSON.parse(near.Detail!) as { trimmed?: boolean }).trimmed, undefined, "an entry under the limit is kept whole");
  assert.deepEqual(
    batchesOf([near, near, entries[0]!]).map((b) => b.length),
    [1, 2],
    "a request holds 256 KB of entries at most",
  );
});

test("the EventBridge publisher sends failed entries with a retryable code once more and logs the rest, never throwing", async () => {
  const answers = JSON.parse(readFileSync(join(fixtures, "put-events-responses.json"), "utf8")) as { failed: unknown; ok: unknown };
  const requests: { Entries: { DetailType: string; Detail: string }[] }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      assert.equal(req.headers["x-amz-target"], "AWSEvents.PutEvents");
      requests.push(JSON.parse(body) as (typeof requests)[number]);
      const n = requests.at(-1)!.Entries.length;
      const answer = requests.length === 1 ? answers.failed : { ...(answers.ok as object), Entries: Array.from({ length: n }, (_, i) => ({ EventId: `retried-${i}` })) };
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const warnings: Record<string, unknown>[] = [];
  try {
    const client = new EventBridgeClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const log = { info() {}, error() {}, warn: (_m: string, extra: Record<string, unknown>) => void warnings.push(extra) };
    const events = ["a", "b", "c"].map((c) => pushReceivedEvent({ host: "github.com", repository: "https://github.com/a/b.git", branch: "main", revision: SHA, clusters: [c] }, T0));
    await new EventBridgePublisher(client, "default", log).publish(events);
  } finally {
    server.close();
  }
  assert.equal(requests.length, 2, "one request, then one retry");
  assert.deepEqual(
    requests[1]!.Entries.map((e) => (JSON.parse(e.Detail) as { clusters: string[] }).clusters[0]),
    ["b"],
    "only the entry failed with InternalFailure is sent again",
  );
  assert.deepEqual(
    warnings.map((w) => w.errorCode),
    ["AccessDeniedException"],
  );
});
