/**
 * The record of sync operations (access pattern 7) on DynamoDB Local: one Running operation per
 * cluster, history by cluster and time (failures included) paginated newest first, the last
 * succeeded one for rollbacks, large result lists, `converge sync history` and the query API.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { isolated, type Isolated } from "../support/stack.js";
import { documentClient } from "../../shared/store/client.js";
import {
  INLINE_RESOURCE_BYTES,
  InvalidCursorError,
  MAX_RESOURCE_MESSAGE,
  OperationInProgressError,
  OperationNotRunningError,
  OperationStore,
  type OperationPhase,
  type OperationRecord,
  type ResourceResult,
} from "../../shared/store/operations.js";
import { localContext } from "../../tools/local/lambda.js";
import { runCli as cli } from "../support/cli.js";

let iso: Isolated;
let ops: OperationStore;
const T0 = Date.parse("2026-03-01T00:00:00.000Z");
const sha = (n: number) => n.toString(16).padStart(40, "0");

const result = (i: number, status: ResourceResult["status"] = "Synced", message?: string): ResourceResult => ({
  key: `apps/Deployment/ns-${i % 7}/web-${i}`,
  kind: "Deployment",
  namespace: `ns-${i % 7}`,
  name: `web-${i}`,
  action: "apply",
  phase: "Sync",
  wave: i % 3,
  status,
  ...(message ? { message } : {}),
});

/** 120 operations on `hist`, one a minute from T0: every 7th Failed, every 11th Error, the rest Succeeded. */
const HIST = 120;
const phaseOf = (i: number): OperationPhase => (i % 11 === 10 ? "Error" : i % 7 === 6 ? "Failed" : "Succeeded");

before(async () => {
  iso = await isolated("operations");
  Object.assign(process.env, iso.env);
  ops = iso.services.operations;
  await iso.services.clusters.add({
    name: "hist",
    source: { repoUrl: "https://github.com/acme/deploy", branch: "main", path: "hist" },
    namespace: "default",
    access: { type: "server", server: "https://127.0.0.1:1" },
    intervalSeconds: 300,
  });
  for (let i = 0; i < HIST; i++) {
    const at = T0 + i * 60_000;
    const op = await ops.start(
      {
        cluster: "hist",
        revision: sha(Math.floor(i / 10)),
        trigger: i % 5 === 0 ? { type: "manual", caller: "alice@example.com" } : { type: "push", deliveryId: `d-${i}` },
        resources: [result(1), result(2)],
      },
      at,
    );
    const phase = phaseOf(i);
    if (phase === "Failed") await ops.update({ ...op, resources: [result(1), result(2, "SyncFailed", "admission webhook denied the request")] }, at + 1000);
    await ops.finish(op, phase, phase === "Succeeded" ? undefined : `operation ${i} ${phase}`, at + 5_000 + i * 10);
  }
});

test("one Running operation per cluster: a second start is refused naming the running one; update, finish, start again", async () => {
  const first = await ops.start({ cluster: "one", revision: sha(1), trigger: { type: "manual", caller: "arn:aws:iam::123456789012:user/alice" }, prune: true });
  assert.equal(first.phase, "Running");
  assert.match(first.id, /^\d{4}-\d\d-\d\dT[\d:.]+Z-[0-9a-f]{6}$/);
  assert.equal(first.retryCount, 0);
  assert.deepEqual(first.resources, []);
  const refused = await ops.start({ cluster: "one", revision: sha(2), trigger: { type: "tick" } }).then(
    () => assert.fail("a second start must be refused"),
    (e: unknown) => e,
  );
  assert.ok(refused instanceof OperationInProgressError);
  assert.equal(refused.running.id, first.id);
  assert.match(refused.message, /already running on cluster "one".*manual by arn:aws:iam::123456789012:user\/alice/);
  assert.ok(await ops.start({ cluster: "other", revision: sha(2), trigger: { type: "tick" } }), "other clusters are independent");

  const updated = await ops.update({
    ...first,
    retryCount: 1,
    resources: [result(1), result(2, "Running"), { key: "batch/Job/one/migrate", kind: "Job", namespace: "one", name: "migrate", action: "hook", phase: "PreSync", status: "Succeeded" }],
  });
  assert.deepEqual(updated.counts, { Synced: 1, Running: 1, Succeeded: 1 });
  const running = await ops.running("one");
  assert.equal(running?.id, first.id);
  assert.equal(running?.resources.length, 3);
  assert.equal(running?.retryCount, 1);
  assert.equal(running?.prune, true);

  const done = await ops.finish(first, "Failed", "1 resource failed");
  assert.equal(done.phase, "Failed");
  assert.ok(done.finishedAt);
  assert.equal(await ops.running("one"), undefined, "the pointer is cleared");
  assert.equal((await ops.finish(first, "Failed")).finishedAt, done.finishedAt, "finishing again with the same phase is a no-op");
  await assert.rejects(ops.finish(first, "Succeeded"), OperationNotRunningError);
  await assert.rejects(ops.update({ ...first, resources: [] }), OperationNotRunningError);
  await assert.rejects(ops.heartbeat(first), OperationNotRunningError);
  await assert.rejects(ops.finish(first, "Running"), /must be Succeeded, Failed or Error/);

  const again = await ops.start({ cluster: "one", revision: sha(2), trigger: { type: "retry", of: first.id, attempt: 1 } });
  assert.notEqual(again.id, first.id);
  await ops.heartbeat(again);
  const finished = await ops.update({ ...again, phase: "Succeeded", message: "synced", resources: [result(1), result(2)] });
  assert.equal(finished.phase, "Succeeded", "update with a final phase finishes");
  assert.equal(await ops.running("one"), undefined);
  assert.equal((await ops.get("one", again.id))?.message, "synced");
});

test("a Running operation nobody writes for staleAfterSeconds is taken over and recorded as Error (abandoned)", async () => {
  const s = new OperationStore(documentClient(iso.services.config), iso.services.config.tables.operations, { staleAfterSeconds: 60 });
  const crashed = await s.start({ cluster: "stale", revision: sha(1), trigger: { type: "tick" } }, T0);
  await assert.rejects(s.start({ cluster: "stale", revision: sha(2), trigger: { type: "tick" } }, T0 + 30_000), OperationInProgressError);
  const next = await s.start({ cluster: "stale", revision: sha(2), trigger: { type: "tick" } }, T0 + 61_000);
  const old = await s.get("stale", crashed.id);
  assert.equal(old?.phase, "Error");
  assert.match(old?.message ?? "", /abandoned.*superseded by/);
  assert.equal((await s.running("stale"))?.id, next.id);
  await assert.rejects(s.finish(crashed, "Succeeded"), OperationNotRunningError, "the crashed process cannot finish it later");
});

test("history: newest first, every operation including failures, paginated over 120 operations, since honoured", async () => {
  const seen: OperationRecord[] = [];
  let cursor: string | undefined;
  const sizes: number[] = [];
  do {
    const page = await ops.history("hist", { limit: 50, cursor });
    sizes.push(page.operations.length);
    seen.push(...page.operations);
    cursor = page.cursor;
  } while (cursor);
  assert.deepEqual(sizes, [50, 50, 20]);
  assert.equal(new Set(seen.map((o) => o.id)).size, HIST);
  const starts = seen.map((o) => o.startedAt);
  assert.deepEqual(starts, [...starts].sort().reverse(), "newest first");
  assert.equal(seen[0]!.startedAt, new Date(T0 + (HIST - 1) * 60_000).toISOString());
  const phases = (p: OperationPhase) => seen.filter((o) => o.phase === p).length;
  const expected = (p: OperationPhase) => Array.from({ length: HIST }, (_, i) => phaseOf(i)).filter((x) => x === p).length;
  for (const p of ["Succeeded", "Failed", "Error"] as const) assert.equal(phases(p), expected(p), p);
  assert.ok(expected("Failed") > 10 && expected("Error") > 5);
  const failed = seen.find((o) => o.phase === "Failed")!;
  assert.deepEqual(failed.counts, { Synced: 1, SyncFailed: 1 });
  assert.equal(failed.resources[1]!.message, "admission webhook denied the request");

  // a page size dividing the total ends without an empty page
  const pages: number[] = [];
  cursor = undefined;
  do {
    const page = await ops.summaries("hist", { limit: 40, cursor });
    pages.push(page.operations.length);
    assert.ok(page.operations.every((o) => !("resources" in o) && o.resourceTotal === 2));
    cursor = page.cursor;
  } while (cursor);
  assert.deepEqual(pages, [40, 40, 40]);

  const recent = await ops.history("hist", { since: new Date(T0 + 100 * 60_000).toISOString(), limit: 1000 });
  assert.equal(recent.operations.length, 20, "operations started at or after since");
  assert.equal(recent.cursor, undefined);
  assert.deepEqual((await ops.history("nobody")).operations, []);
  await assert.rejects(ops.history("hist", { cursor: "garbage" }), InvalidCursorError);
  await assert.rejects(ops.history("hist", { cursor: Buffer.from(JSON.stringify({ sk: "running" })).toString("base64url") }), InvalidCursorError);
  await assert.rejects(ops.history("hist", { limit: 0 }), RangeError);
});

test("lastSucceeded: the latest Succeeded operation, or the latest at a revision; dry runs do not count", async () => {
  const last = await ops.lastSucceeded("hist");
  const lastIndex = [...Array(HIST).keys()].reverse().find((i) => phaseOf(i) === "Succeeded")!;
  assert.equal(last?.startedAt, new Date(T0 + lastIndex * 60_000).toISOString());
  assert.equal(last?.phase, "Succeeded");
  const atRev3 = await ops.lastSucceeded("hist", { revision: sha(3) });
  const rev3Index = [30, 31, 32, 33, 34, 35, 36, 37, 38, 39].reverse().find((i) => phaseOf(i) === "Succeeded")!;
  assert.equal(atRev3?.startedAt, new Date(T0 + rev3Index * 60_000).toISOString());
  assert.equal(atRev3?.revision, sha(3));
  assert.equal(await ops.lastSucceeded("hist", { revision: sha(999) }), undefined);
  assert.equal(await ops.lastSucceeded("nobody"), undefined);

  const dry = await ops.start({ cluster: "dry", revision: sha(7), trigger: { type: "manual", caller: "bob" }, dryRun: true });
  await ops.finish(dry, "Succeeded");
  assert.equal(await ops.lastSucceeded("dry"), undefined, "a dry run is nothing to roll back to");
  const real = await ops.start({ cluster: "dry", revision: sha(7), trigger: { type: "rollback", caller: "bob", to: sha(7) } });
  await ops.finish(real, "Succeeded");
  const failing = await ops.start({ cluster: "dry", revision: sha(8), trigger: { type: "push" } });
  await ops.finish(failing, "Failed", "boom");
  assert.equal((await ops.lastSucceeded("dry"))?.id, real.id, "a later failure does not move it");
});

test("a large list of resource results (over the 400 KB item limit) round-trips; long messages are cut", async () => {
  const big = Array.from({ length: 4000 }, (_, i) => result(i, i % 10 === 0 ? "SyncFailed" : "Synced", i % 10 === 0 ? `denied: ${randomBytes(300).toString("hex")}` : undefined));
  assert.ok(Buffer.byteLength(JSON.stringify(big)) > 2 * INLINE_RESOURCE_BYTES);
  const op = await ops.start({ cluster: "big", revision: sha(1), trigger: { type: "push" }, resources: big });
  assert.deepEqual((await ops.get("big", op.id))?.resources, big);
  const long = "x".repeat(MAX_RESOURCE_MESSAGE * 3);
  const bigger = [...big, ...Array.from({ length: 1000 }, (_, i) => result(4000 + i, "Pruned")), { ...result(9999, "SyncFailed"), message: long }];
  await ops.update({ ...op, resources: bigger });
  const back = await ops.get("big", op.id);
  assert.equal(back?.resources.length, bigger.length);
  assert.deepEqual(back?.resources.slice(0, 5000), bigger.slice(0, 5000));
  assert.equal(back!.resources[5000]!.message!.length, MAX_RESOURCE_MESSAGE);
  assert.match(back!.resources[5000]!.message!, /truncated\)$/);
  assert.deepEqual(back?.counts, { Synced: 3600, SyncFailed: 401, Pruned: 1000 });
  await ops.finish(op, "Failed", "401 resources failed");
  const page = await ops.history("big");
  assert.equal(page.operations[0]!.resources.length, bigger.length, "history reads the parts back too");
  const summary = (await ops.summaries("big")).operations[0]!;
  assert.equal(summary.resourceTotal, bigger.length);
  // one set of parts is left: the first version was removed by the update
  const db = documentClient(iso.services.config);
  const parts = await db.send(
    new QueryCommand({
      TableName: iso.services.config.tables.operations,
      KeyConditionExpression: "#c = :c AND begins_with(sk, :p)",
      ExpressionAttributeNames: { "#c": "cluster" },
      ExpressionAttributeValues: { ":c": "big", ":p": "res#" },
      ProjectionExpression: "sk",
    }),
  );
  const versions = new Set((parts.Items ?? []).map((i) => String(i.sk).split("#")[2]));
  assert.equal(versions.size, 1);
  // back to a small list: inline again, parts dropped
  const small = await ops.start({ cluster: "big", revision: sha(2), trigger: { type: "push" }, resources: big });
  await ops.update({ ...small, resources: [result(1)] });
  assert.deepEqual((await ops.get("big", small.id))?.resources, [result(1)]);
  const left = await db.send(
    new QueryCommand({
      TableName: iso.services.config.tables.operations,
      KeyConditionExpression: "#c = :c AND begins_with(sk, :p)",
      ExpressionAttributeNames: { "#c": "cluster" },
      ExpressionAttributeValues: { ":c": "big", ":p": `res#${small.id}#` },
    }),
  );
  assert.equal(left.Items?.length, 0);
  await ops.finish(small, "Succeeded");
});

test("a TTL is set only when configured", async () => {
  const db = documentClient(iso.services.config);
  const table = iso.services.config.tables.operations;
  const expiring = new OperationStore(db, table, { ttlDays: 3650 });
  const op = await expiring.start({ cluster: "ttl", revision: sha(1), trigger: { type: "tick" } }, T0);
  await expiring.finish(op, "Succeeded", undefined, T0 + 1000);
  const items = await db.send(new QueryCommand({ TableName: table, KeyConditionExpression: "#c = :c", ExpressionAttributeNames: { "#c": "cluster" }, ExpressionAttributeValues: { ":c": "ttl" } }));
  const op0 = items.Items!.find((i) => i.sk === `op#${op.id}`)!;
  assert.equal(op0.expiresAt, T0 / 1000 + 3650 * 86400);
  assert.equal(items.Items!.find((i) => i.sk === "succeeded")!.expiresAt, T0 / 1000 + 3650 * 86400);
  const kept = await db.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: "#c = :c", ExpressionAttributeNames: { "#c": "cluster" }, ExpressionAttributeValues: { ":c": "hist" }, Limit: 5 }),
  );
  assert.ok(
    kept.Items!.every((i) => i.expiresAt === undefined),
    "default: kept forever",
  );
});

test("converge sync history: a table newest first with counts, -o json, exit 2 on bad input", async () => {
  const t = await cli("sync", "history", "--cluster", "hist", "--limit", "5");
  assert.equal(t.code, 0, t.err);
  const lines = t.out.trim().split("\n");
  assert.match(lines[0]!, /^ID\s+TRIGGER\s+REVISION\s+PHASE\s+STARTED\s+DURATION\s+RESULTS\s+MESSAGE$/);
  assert.equal(lines.length, 6);
  const newest = HIST - 1;
  assert.ok(lines[1]!.startsWith(new Date(T0 + newest * 60_000).toISOString()), lines[1]);
  assert.match(t.out, /manual by alice@example\.com/);
  assert.match(t.out, /2 Synced/);
  assert.match(t.out, /1 Synced, 1 SyncFailed/);
  assert.match(t.out, /Failed\s+2026-03-01 \d\d:\d\d:\d\dZ\s+\d+s\s+1 Synced, 1 SyncFailed\s+operation \d+ Failed/);
  assert.match(t.err, /newest 5 shown/);

  const j = await cli("sync", "history", "--cluster", "hist", "--since", "3650d", "-o", "json", "--limit", "1000");
  assert.equal(j.code, 0, j.err);
  const parsed = JSON.parse(j.out) as OperationRecord[];
  assert.equal(parsed.length, HIST);
  assert.equal(parsed[0]!.resources.length, 2);
  assert.equal(parsed[0]!.startedAt, new Date(T0 + newest * 60_000).toISOString());

  const running = await ops.start({ cluster: "hist", revision: sha(99), trigger: { type: "self-heal", attempt: 2 }, dryRun: true });
  const r = await cli("sync", "history", "--cluster", "hist", "--limit", "1");
  assert.match(r.out, /self-heal #2 \(dry run\)\s+0{12}\s+Running\s+.*running \d+s/);
  await ops.finish(running, "Error", "cluster unreachable");

  for (const [args, msg] of [
    [["--limit", "0"], /--limit must be an integer from 1 to 1000/],
    [["--limit", "ten"], /--limit must be an integer/],
    [["--since", "yesterday"], /--since: invalid duration/],
  ] as const) {
    const bad = await cli("sync", "history", "--cluster", "hist", ...args);
    assert.equal(bad.code, 2);
    assert.match(bad.err, msg);
  }
  assert.equal((await cli("sync", "history")).code, 2, "--cluster is required");
  const unknown = await cli("sync", "history", "--cluster", "never-registered");
  assert.equal(unknown.code, 0);
  assert.match(unknown.err, /not registered/);
});

test("query API: GET /clusters/{name}/operations paginated, /operations/{id}, /operations/running; 4xx with reasons", async () => {
  const { handler } = (await import("../../functions/api/index.js")) as unknown as { handler: (e: APIGatewayProxyEventV2, c: unknown) => Promise<{ statusCode: number; body: string }> };
  const get = async (path: string, query: Record<string, string> = {}) => {
    const event = { version: "2.0", rawPath: path, queryStringParameters: query, requestContext: { http: { method: "GET", path } }, headers: {} } as unknown as APIGatewayProxyEventV2;
    const res = await handler(event, localContext("converge-api"));
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
  };
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await get("/clusters/hist/operations", { limit: "50", ...(cursor ? { cursor } : {}) });
    assert.equal(page.status, 200);
    const list = page.body.operations as { id: string; resources?: unknown; counts: Record<string, number>; resourceTotal: number }[];
    assert.ok(list.every((o) => o.resources === undefined && o.resourceTotal >= 0 && o.counts));
    ids.push(...list.map((o) => o.id));
    cursor = page.body.cursor as string | undefined;
    pages++;
  } while (cursor);
  assert.equal(ids.length, HIST + 1, "120 plus the self-heal of the CLI test");
  assert.deepEqual(ids, [...ids].sort().reverse());
  assert.equal(pages, 3);
  const since = await get("/clusters/hist/operations", { since: "1h" });
  assert.equal((since.body.operations as unknown[]).length, 1, "only the one started just now");

  const one = await get(`/clusters/hist/operations/${encodeURIComponent(ids[5]!)}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.id, ids[5]);
  assert.equal((one.body.resources as unknown[]).length, 2);
  assert.equal((await get(`/clusters/hist/operations/${ids[5]!}`)).body.id, ids[5], "unencoded colons work too");

  assert.equal((await get("/clusters/hist/operations/running")).status, 404);
  const live = await ops.start({ cluster: "api-live", revision: sha(5), trigger: { type: "tick" } });
  const running = await get("/clusters/api-live/operations/running");
  assert.equal(running.status, 200);
  assert.equal(running.body.id, live.id);
  await ops.finish(live, "Succeeded");

  const missing = await get("/clusters/hist/operations/2020-01-01T00:00:00.000Z-000000");
  assert.equal(missing.status, 404);
  assert.match(String(missing.body.error), /not found/);
  for (const [path, query, reason] of [
    ["/clusters/hist/operations/not-an-id", {}, /invalid operation id/],
    ["/clusters/hist/operations", { limit: "0" }, /limit/],
    ["/clusters/hist/operations", { cursor: "garbage" }, /invalid cursor/],
    ["/clusters/hist/operations", { since: "soon" }, /since/],
  ] as const) {
    const r = await get(path, query);
    assert.equal(r.status, 400, path);
    assert.match(String(r.body.error), reason);
  }
});
