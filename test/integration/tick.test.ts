/** The tick function on real DynamoDB Local and ElasticMQ: only clusters whose interval elapsed are enqueued, once. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { isolated, type Isolated } from "../support/stack.js";
import { localContext } from "../../tools/local/lambda.js";
import { sqsClient } from "../../shared/queue/tasks.js";

let iso: Isolated;
let handler: (event: unknown, context: unknown) => Promise<{ due: number; enqueued: number; clusters: string[] }>;

const spec = (name: string, intervalSeconds: number) => ({
  name,
  source: { repoUrl: "https://git.example/o/r.git", branch: "main", path: name },
  namespace: "default",
  access: { type: "server", server: "https://127.0.0.1:1" },
  intervalSeconds,
});

before(async () => {
  iso = await isolated("tick");
  Object.assign(process.env, iso.env);
  const now = Date.now();
  await iso.services.clusters.add(spec("due-a", 30), now - 60_000);
  await iso.services.clusters.add(spec("due-b", 3600), now - 1_000);
  await iso.services.clusters.add(spec("later", 300), now + 60_000);
  // enough clusters that every byDue shard holds some
  for (let i = 0; i < 12; i++) await iso.services.clusters.add(spec(`idle-${i}`, 300), now + 120_000);
  handler = (await import("../../functions/tick/index.js")).handler as unknown as typeof handler;
});

test("the tick enqueues exactly the due clusters and moves them one interval ahead; it reports how stale each is", async () => {
  const before = Date.now();
  const { captureStdout } = await import("../support/stack.js");
  const { result: r, lines } = await captureStdout(() => handler({}, localContext("converge-tick")));
  const emf = lines.filter((l) => l.includes('{"_aws"')).map((l) => JSON.parse(l.slice(l.indexOf('{"_aws"'))) as Record<string, number | string>);
  const dueA = emf.find((m) => m.Cluster === "due-a")!;
  assert.ok(Number(dueA.IntervalsSinceSuccess) >= 2, "never reconciled: 60 s since registration at a 30 s interval");
  assert.ok(Number(dueA.SecondsSinceLastSuccess) >= 60);
  assert.equal(
    emf.some((m) => m.Cluster === "later"),
    false,
    "only due clusters",
  );
  assert.equal(r.due, 2);
  assert.equal(r.enqueued, 2);
  assert.deepEqual(r.clusters, ["due-a", "due-b"]);
  const a = await iso.services.clusters.get("due-a");
  const b = await iso.services.clusters.get("due-b");
  assert.ok(a!.nextDueAt >= before + 30_000 && a!.nextDueAt <= Date.now() + 30_000);
  assert.ok(b!.nextDueAt >= before + 3_600_000);
  const out = await sqsClient(iso.services.config).send(new ReceiveMessageCommand({ QueueUrl: iso.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["MessageGroupId"] }));
  const bodies = (out.Messages ?? []).map((m) => ({ group: m.Attributes?.MessageGroupId, task: JSON.parse(m.Body!) as { cluster: string; reason: string; revision?: string } }));
  assert.deepEqual(bodies.map((b) => b.task.cluster).sort(), ["due-a", "due-b"]);
  for (const b of bodies) {
    assert.equal(b.group, b.task.cluster, "MessageGroupId is the cluster");
    assert.equal(b.task.reason, "tick");
    assert.equal(b.task.revision, undefined, "a tick reconciles the branch head");
  }
});

test("a second tick right after finds nothing due", async () => {
  const r = await handler({}, localContext("converge-tick"));
  assert.equal(r.due, 0);
  assert.equal(r.enqueued, 0);
});

test("due() reads every shard of the byDue index, bounded by the due time", async () => {
  const due = await iso.services.clusters.due(Date.now() + 90_000);
  assert.deepEqual(due.map((c) => c.name).sort(), ["due-a", "later"], "due-a's next run is 30 s ahead");
  const all = await iso.services.clusters.due(Date.now() + 10 * 3600_000);
  assert.equal(all.length, 15);
});

test("two overlapping ticks enqueue a due cluster once: the first claims the window, the other finds it claimed", async () => {
  const { tick } = await import("../../shared/schedule/tick.js");
  await iso.services.clusters.add(spec("burst", 300));
  const t = Date.now() + 1_000;
  const deps = { clusters: iso.services.clusters, queue: iso.services.queue!, publishStaleness: () => {} };
  const [a, b] = await Promise.all([tick(deps, t), tick(deps, t + 1)]);
  assert.equal([...a.clusters, ...b.clusters].filter((c) => c === "burst").length, 1);
});

test("a cluster whose reconcile lags is enqueued again when its cadence comes round, not at every tick", async () => {
  const { tick } = await import("../../shared/schedule/tick.js");
  const deps = { clusters: iso.services.clusters, queue: iso.services.queue!, publishStaleness: () => {} };
  const t0 = Date.now() + 10_000;
  await iso.services.clusters.add(spec("lagging", 300), t0 - 1_000); // registered after the last tick's window (the ticks above ran ahead of the clock)
  const seen: number[] = [];
  // no reconcile runs: its status never moves; ticks a minute apart for 11 minutes
  for (let m = 0; m <= 11; m++) if ((await tick(deps, t0 + m * 60_000)).clusters.includes("lagging")) seen.push(m);
  assert.deepEqual(seen, [0, 5, 10], "at registration, then once per 5-minute interval");
});
