/**
 * The walking skeleton end to end on real components: DynamoDB Local, ElasticMQ, the Git
 * smart-HTTP server, two real kube-apiservers. A signed push of a real commit of the example
 * repository fans out to the clusters tracking it, they are applied and Synced; a kubectl edit
 * becomes exactly one Modified event, its revert one event back to Synced; malformed YAML puts
 * one cluster in Error with file and line while the other stays Synced.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { captureStdout, exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { deliver, pushPayload } from "../support/github.js";
import { drain, serveFunctionUrl } from "../../tools/local/lambda.js";
import { sqsClient } from "../../shared/queue/tasks.js";
import { tick } from "../../shared/schedule/tick.js";
import { runCli as cli } from "../support/cli.js";

const SECRET = "loop-test-secret";
const REAL_COMMIT = "0d521c6e049889134f3122eb32d7ed342f43ca0d"; // "chore: modernize ingress annotations and nodeSelector label (#402)"
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let webhookUrl: string;
let closeWebhook: () => Promise<void>;
let reconcileHandler: Parameters<typeof drain>[2];
let parent: string;
const stack = stackEnv();
const [k1, k2] = stack.clusters;

async function runQueue() {
  return captureStdout(() => drain(sqsClient(iso.services.config), iso.queueUrl, reconcileHandler));
}

before(async () => {
  assert.ok(k1 && k2, "the test bed runs two clusters");
  iso = await isolated("loop");
  Object.assign(process.env, iso.env, { CONVERGE_WEBHOOK_SECRET: SECRET });
  repo = exampleRepo(`loop-${Date.now()}`);
  parent = repo.git("rev-parse", `${REAL_COMMIT}^`);
  // the served master starts one commit before the real push we replay
  repo.git("push", "-q", "--force", "origin", `${parent}:refs/heads/master`);
  for (const [c, ns] of [
    [k1, "loop-gb"],
    [k2, "loop-ss"],
  ] as const)
    kubectl(c, "create", "namespace", ns);
  const webhook = await import("../../functions/webhook/index.js");
  const reconcile = await import("../../functions/reconcile/index.js");
  reconcileHandler = reconcile.handler as typeof reconcileHandler;
  const served = await serveFunctionUrl(webhook.handler as Parameters<typeof serveFunctionUrl>[0]);
  webhookUrl = served.url;
  closeWebhook = served.close;
});

after(async () => {
  await closeWebhook?.();
});

test("cluster add rejects bad input and writes nothing", async () => {
  const base = ["cluster", "add", "x", "--repo", repo.url, "--branch", "master", "--path", "guestbook", "--namespace", "loop-gb"];
  const bad: [string[], RegExp][] = [
    [[...base, "--kubeconfig", k1!.kubeconfig, "--server", "https://1.2.3.4"], /cannot be combined/],
    [[...base, "--eks", "prod"], /--eks needs --region/],
    [[...base, "--eks", "prod", "--region", "mars-1"], /invalid AWS region/],
    [[...base], /--kubeconfig <file>.*--eks <name>/],
    [[...base, "--server", "https://1.2.3.4", "--context", "c"], /--context needs --kubeconfig/],
    [[...base, "--kubeconfig", k1!.kubeconfig, "--interval", "10s"], /below the minimum of 30s/],
    [[...base, "--kubeconfig", k1!.kubeconfig, "--interval", "soon"], /invalid duration/],
    [["cluster", "add", "x", "--repo", "not a url", "--kubeconfig", k1!.kubeconfig], /invalid repository URL/],
    [["cluster", "add", "Bad_Name", "--repo", repo.url, "--kubeconfig", k1!.kubeconfig], /DNS label/],
    [[...base, "--kubeconfig", k1!.kubeconfig, "--sync", "sometimes"], /--sync must be detect or apply/],
    [[...base, "--kubeconfig", k1!.kubeconfig, "--path", "../etc"], /inside the repository/],
  ];
  for (const [args, message] of bad) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(" ")} should fail`);
    assert.match(r.err, message);
  }
  assert.equal((await iso.services.clusters.listAll()).length, 0, "nothing was written");

  const add = (name: string, c: typeof k1, path: string, ns: string, branch = "master", url = repo.url) =>
    cli("cluster", "add", name, "--repo", url, "--branch", branch, "--path", path, "--namespace", ns, "--kubeconfig", c!.kubeconfig, "--context", c!.context, "--interval", "30s", "--sync", "apply");
  for (const r of [
    await add("guestbook", k1, "guestbook", "loop-gb"),
    await add("sockshop", k2, "sock-shop/base", "loop-ss"),
    await add("other-branch", k1, "guestbook", "loop-gb", "dev"),
    await add("other-repo", k1, "guestbook", "loop-gb", "master", `${stack.gitBase}/another.git`),
  ]) {
    assert.equal(r.code, 0, r.err);
  }
  const dup = await add("guestbook", k1, "guestbook", "loop-gb");
  assert.equal(dup.code, 2);
  assert.match(dup.err, /already exists/);
  const list = await cli("cluster", "list");
  assert.match(list.out, /guestbook .*master +guestbook +30s +apply/);
  assert.equal((await iso.services.clusters.listAll()).length, 4);
});

test("a forged or missing signature enqueues nothing", async () => {
  const payload = pushPayload(repo.url, "master", parent, REAL_COMMIT);
  const forged = await deliver(webhookUrl, payload, { secret: "not-the-secret" });
  assert.equal(forged.status, 401);
  const missing = await deliver(webhookUrl, payload, { secret: SECRET, signature: null });
  assert.equal(missing.status, 401);
  assert.equal(await iso.queueDepth(), 0);
});

test("a push of a real commit enqueues exactly the clusters tracking that repository and branch", async () => {
  repo.git("fetch", "-q", "origin");
  repo.git("push", "-q", "origin", `${REAL_COMMIT}:refs/heads/master`);
  const r = await deliver(webhookUrl, pushPayload(repo.url, "master", parent, REAL_COMMIT), { secret: SECRET, delivery: "delivery-real-push" });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.enqueued, 2);
  assert.deepEqual(r.body.clusters, ["guestbook", "sockshop"]);
  assert.equal(await iso.queueDepth(), 2);
});

test("a replayed delivery enqueues nothing", async () => {
  const r = await deliver(webhookUrl, pushPayload(repo.url, "master", parent, REAL_COMMIT), { secret: SECRET, delivery: "delivery-real-push" });
  assert.equal(r.status, 200);
  assert.equal(r.body.duplicate, true);
  assert.equal(r.body.enqueued, 0);
  assert.equal(await iso.queueDepth(), 2);
});

test("reconcile applies the pushed revision; both clusters are Synced; EMF metrics per cluster when opted in", async () => {
  // per-cluster metrics are opt-in (ConvergeProps.perClusterMetrics); the default writes fleet metrics only (test/integration/alarms.test.ts)
  process.env.CONVERGE_PER_CLUSTER_METRICS = "true";
  const { result, lines } = await runQueue().finally(() => delete process.env.CONVERGE_PER_CLUSTER_METRICS);
  assert.deepEqual(result, { received: 2, failed: 0 });
  const gb = await iso.services.clusters.get("guestbook");
  const ss = await iso.services.clusters.get("sockshop");
  assert.equal(gb?.status.sync, "Synced", JSON.stringify(gb?.status));
  assert.equal(gb?.status.revision, REAL_COMMIT);
  assert.deepEqual(gb?.status.counts, { resources: 2, synced: 2, modified: 0, missing: 0, extra: 0 });
  assert.equal(ss?.status.sync, "Synced", JSON.stringify(ss?.status));
  assert.equal(ss?.status.counts.resources, 29);
  assert.match(kubectl(k1!, "get", "deployment", "guestbook-ui", "-n", "loop-gb", "-o", "name"), /guestbook-ui/);
  assert.match(kubectl(k2!, "get", "deployment", "carts", "-n", "loop-ss", "-o", "jsonpath={.metadata.managedFields[*].manager}"), /converge/);
  // the test runner's own protocol bytes share stdout: take each EMF document from where it starts
  const emf = lines.filter((l) => l.includes('{"_aws"')).map((l) => JSON.parse(l.slice(l.indexOf('{"_aws"'))) as Record<string, unknown>);
  const gbMetrics = emf.find((m) => m.Cluster === "guestbook");
  assert.ok(gbMetrics, "an EMF document for guestbook");
  assert.equal(gbMetrics.DriftedResources, 0);
  assert.equal(gbMetrics.OutOfSync, 0);
  assert.equal(gbMetrics.ReconcileErrors, 0);
  assert.equal(typeof gbMetrics.Health, "number");
  assert.equal(gbMetrics.DegradedResources, 0);
  assert.equal(typeof gbMetrics.ReconcileDuration, "number");
  const meta = (gbMetrics._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }).CloudWatchMetrics[0]!;
  assert.equal(meta.Namespace, "Converge");
  assert.ok(meta.Dimensions.some((d) => d.includes("Cluster")));
  assert.equal(gbMetrics.IntervalsSinceSuccess, 0, "the stale-cluster alarm's metric");
  assert.equal(gbMetrics.SecondsSinceLastSuccess, 0);
  assert.equal(gbMetrics.MissingResources, 0);
  // the fleet document is written as well, without the Cluster dimension
  const fleet = emf.filter((m) => m.Cluster === undefined);
  assert.ok(fleet.length >= 2, "one fleet document per reconcile");
  for (const m of fleet) assert.deepEqual((m._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions, [["service"]]);
  // every metric the per-cluster graphs query (infra/constructs/dashboard.ts) is in the EMF, under the dimensions they group by
  const { METRIC } = await import("../../shared/metrics/emf.js");
  for (const m of [METRIC.outOfSync, METRIC.errors, METRIC.staleIntervals, METRIC.drifted, METRIC.health, METRIC.duration]) {
    assert.ok(
      meta.Dimensions.some((d) => d.includes("Cluster") && d.includes("service")),
      "dimensions Cluster and service",
    );
    assert.ok(
      (gbMetrics._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!.Metrics.some((x) => x.Name === m),
      m,
    );
  }

  assert.deepEqual(await iso.services.events.byCluster("guestbook"), [], "applying a revision is not drift");
});

/**
 * What the scheduled tick does `seconds` from now. Real ticks run a minute apart, so each
 * simulated one is in its own one-minute deduplication window (see `dedupId`).
 */
async function tickLater(seconds: number) {
  const t = await tick({ clusters: iso.services.clusters, queue: iso.services.queue! }, Date.now() + seconds * 1000);
  assert.ok(t.clusters.includes("guestbook"), `guestbook is due at +${seconds}s`);
  const r = await runQueue();
  assert.equal(r.result.received, t.due, "every due cluster was reconciled");
  return r;
}

test("a kubectl edit becomes exactly one Modified event (no self-heal), other clusters untouched", async () => {
  kubectl(k1!, "-n", "loop-gb", "set", "image", "deployment/guestbook-ui", "guestbook-ui=registry.example/edited:1");
  const { result } = await tickLater(31);
  assert.equal(result.failed, 0);
  const events = await iso.services.events.byCluster("guestbook");
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0]!.from, "Synced");
  assert.equal(events[0]!.to, "Modified");
  assert.equal(events[0]!.kind, "Deployment");
  assert.deepEqual(events[0]!.paths, ["spec.template.spec.containers[name=guestbook-ui].image"]);
  assert.equal(events[0]!.changes?.[0]?.live, "registry.example/edited:1");
  const gb = await iso.services.clusters.get("guestbook");
  assert.equal(gb?.status.sync, "OutOfSync");
  assert.equal(gb?.status.counts.modified, 1);
  assert.match(kubectl(k1!, "-n", "loop-gb", "get", "deployment/guestbook-ui", "-o", "jsonpath={.spec.template.spec.containers[0].image}"), /edited/, "detected, not reverted");
  assert.deepEqual(await iso.services.events.byCluster("sockshop"), []);

  // a further tick with nothing changed records nothing new
  await tickLater(91);
  assert.equal((await iso.services.events.byCluster("guestbook")).length, 1);
});

test("reverting the edit becomes one event back to Synced", async () => {
  const desiredImage = repo.git("show", `${REAL_COMMIT}:guestbook/guestbook-ui-deployment.yaml`).match(/image:\s*(\S+)/)![1]!;
  kubectl(k1!, "-n", "loop-gb", "set", "image", "deployment/guestbook-ui", `guestbook-ui=${desiredImage}`);
  await tickLater(151);
  const events = await iso.services.events.byCluster("guestbook");
  assert.equal(events.length, 2, JSON.stringify(events));
  assert.equal(events[1]!.from, "Modified");
  assert.equal(events[1]!.to, "Synced");
  assert.equal((await iso.services.clusters.get("guestbook"))?.status.sync, "Synced");
});

test("malformed YAML puts that cluster in Error with file and line; its last good snapshot stays; the other cluster is unaffected", async () => {
  const good = (await iso.services.clusters.get("guestbook"))!.status.snapshotKey;
  repo.git("checkout", "-q", REAL_COMMIT);
  writeFileSync(join(repo.work, "guestbook", "broken.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n data: [unclosed\n");
  repo.git("add", "guestbook/broken.yaml");
  repo.git("commit", "-q", "-m", "break guestbook");
  const head = repo.push();
  const r = await deliver(webhookUrl, pushPayload(repo.url, "master", REAL_COMMIT, head), { secret: SECRET });
  // the push changed guestbook/ only (from Git: the payload lists no files): the sockshop cluster is not enqueued
  assert.deepEqual(r.body.clusters, ["guestbook"]);
  const { result } = await runQueue();
  assert.deepEqual(result, { received: 1, failed: 0 });
  const gb = (await iso.services.clusters.get("guestbook"))!;
  assert.equal(gb.status.sync, "Error");
  assert.equal(gb.status.revision, head);
  assert.equal(gb.status.errorSource?.file, "guestbook/broken.yaml");
  assert.equal(gb.status.errorSource?.line, 5);
  assert.match(gb.status.message ?? "", /guestbook\/broken\.yaml:5/);
  assert.equal(gb.status.snapshotKey, good, "last good snapshot kept");
  const ss = (await iso.services.clusters.get("sockshop"))!;
  assert.equal(ss.status.sync, "Synced");
  assert.equal(ss.status.revision, REAL_COMMIT, "not concerned by the push: left at its revision until its interval");
});

test("converge status and drift history show the central view from DynamoDB", async () => {
  const status = await cli("status");
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /^NAME +SYNC +HEALTH +REVISION/m);
  assert.match(status.out, /^guestbook +Error +(Healthy|Progressing) /m, "Error keeps the last known health (the revert may still be rolling out)");
  assert.match(status.out, /^sockshop +Synced +Progressing +[0-9a-f]{12} +29 +0 /m, "the Ingress never gets an address on kwok");
  assert.match(status.out, /^other-branch +Error +- .*branch "dev" not found/m);
  assert.match(status.out, /^other-repo +Error +- .*not found/m);
  const history = await cli("drift", "history", "--cluster", "guestbook", "--since", "1h");
  assert.equal(history.code, 0, history.err);
  const rows = history.out.trim().split("\n");
  assert.equal(rows.length, 3, history.out);
  assert.match(rows[1]!, /Deployment\/loop-gb\/guestbook-ui +Synced +Modified .*containers\[name=guestbook-ui\]\.image/);
  assert.match(rows[2]!, /Deployment\/loop-gb\/guestbook-ui +Modified +Synced/);
  const json = JSON.parse((await cli("drift", "history", "--cluster", "guestbook", "-o", "json")).out) as { to: string }[];
  assert.deepEqual(
    json.map((e) => e.to),
    ["Modified", "Synced"],
  );
});

test("an applied object removed from Git becomes Extra (owned by this cluster's source); nothing is pruned", async () => {
  repo.git("rm", "-q", "guestbook/broken.yaml", "guestbook/guestbook-ui-svc.yaml");
  repo.git("commit", "-q", "-m", "fix guestbook, drop its Service");
  const head = repo.push();
  const r = await deliver(webhookUrl, pushPayload(repo.url, "master", repo.git("rev-parse", "HEAD~1"), head), { secret: SECRET });
  assert.deepEqual(r.body.clusters, ["guestbook"]);
  const { result } = await runQueue();
  assert.deepEqual(result, { received: 1, failed: 0 });
  const gb = (await iso.services.clusters.get("guestbook"))!;
  assert.equal(gb.status.sync, "OutOfSync", JSON.stringify(gb.status));
  assert.equal(gb.status.revision, head);
  assert.deepEqual(gb.status.counts, { resources: 1, synced: 1, modified: 0, missing: 0, extra: 1 });
  const last = (await iso.services.events.byCluster("guestbook")).at(-1)!;
  assert.deepEqual([last.kind, last.name, last.from, last.to], ["Service", "guestbook-ui", "Synced", "Extra"]);
  assert.match(kubectl(k1!, "-n", "loop-gb", "get", "service", "guestbook-ui", "-o", "name"), /guestbook-ui/, "prune comes later: the Service stays");
  const foreign = (await iso.services.clusters.get("sockshop"))!;
  assert.equal(foreign.status.counts.extra, 0, "objects not applied by this source (kube-root-ca.crt, ...) are never Extra");
});
