/**
 * Converge's events on the real test bed (DynamoDB Local, the Git server, a real
 * kube-apiserver), written by the local sink (`CONVERGE_EVENTS_LOG`, JSON lines) the
 * reconcile's composition picks: two clusters tracking one branch of the example repository's
 * `guestbook` with sync policy apply. A first sync announces Started and Succeeded and, once
 * both clusters are Synced and Healthy, one `Revision Converged`; a quiet reconcile announces
 * nothing; a kubectl edit one `Cluster Sync Status Changed`, and the same task delivered again
 * nothing more; a revision whose apply fails `Sync Operation Failed`.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileDeps } from "../../shared/compose/reconcile.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { DETAIL_TYPES } from "../../shared/events/schema.js";

const [k1] = stackEnv().clusters;
const CLUSTERS = ["ev-a", "ev-b"] as const;
const ns = (c: string) => `events-${c.slice(3)}`;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let log: string;

/** An event line of the log, as EventBridge would deliver it. */
interface Line {
  id: string;
  source: string;
  "detail-type": string;
  detail: Record<string, unknown> & { cluster?: string; revision?: string };
}

const lines = (): Line[] =>
  existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
    : [];
const reconcile = (cluster: string, detectedAt?: string) =>
  reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster, reason: "tick", enqueuedAt: new Date().toISOString() }, detectedAt);

/** Reconciles until no operation runs and the health settled (a sync waiting for health comes back). */
async function settle(cluster: string) {
  for (let i = 0; i < 30; i++) {
    const out = (await reconcile(cluster))!;
    if (!out.status.operation && out.status.health !== "Progressing") return out;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${cluster} did not settle`);
}

/** What `fn` added to the log. */
async function added(fn: () => Promise<unknown>): Promise<Line[]> {
  const n = lines().length;
  await fn();
  return lines().slice(n);
}

const ofType = (all: Line[], type: string, cluster?: string) => all.filter((l) => l["detail-type"] === type && (!cluster || l.detail.cluster === cluster));

before(async () => {
  iso = await isolated("events");
  log = join(iso.env.CONVERGE_WORK_DIR!, "events.log");
  Object.assign(process.env, iso.env, { CONVERGE_EVENTS_LOG: log });
  repo = exampleRepo(`events-${Date.now()}`);
  for (const name of CLUSTERS) {
    await iso.services.clusters.add({
      name,
      source: { repoUrl: repo.url, branch: "master", path: "guestbook" },
      namespace: ns(name),
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
      syncPolicy: "apply",
      syncOptions: { createNamespace: true },
    });
  }
});

test("a first sync announces Started and Succeeded; both clusters Synced and Healthy announce Revision Converged once", async () => {
  const head = repo.git("rev-parse", "HEAD");
  const first = await added(async () => {
    for (const c of CLUSTERS) {
      const out = await settle(c);
      assert.deepEqual([out.status.sync, out.status.health], ["Synced", "Healthy"], `${c}: ${out.status.message ?? ""}`);
    }
  });
  for (const line of first) assert.equal(line.source, "converge");
  for (const c of CLUSTERS) {
    assert.equal(ofType(first, DETAIL_TYPES.operationStarted, c).length, 1, `${c}: one Started`);
    const [ok] = ofType(first, DETAIL_TYPES.operationSucceeded, c);
    assert.equal(ofType(first, DETAIL_TYPES.operationSucceeded, c).length, 1, `${c}: one Succeeded`);
    assert.equal(ok!.detail.revision, head);
    assert.deepEqual((ok!.detail.results as { counts: unknown }).counts, { Synced: 2 });
    const changes = ofType(first, DETAIL_TYPES.syncStatusChanged, c).map((l) => `${l.detail.from}->${l.detail.to}`);
    assert.equal(changes.at(-1)?.endsWith("->Synced"), true, changes.join(", "));
    assert.equal(ofType(first, DETAIL_TYPES.healthChanged, c).at(-1)?.detail.to, "Healthy");
  }
  const converged = ofType(first, DETAIL_TYPES.revisionConverged);
  assert.equal(converged.length, 1, "once, by the reconcile that completed the branch's fleet");
  assert.deepEqual([converged[0]!.detail.revision, converged[0]!.detail.clusters, converged[0]!.detail.branch], [head, [...CLUSTERS], "master"]);
  // a quiet reconcile of each: nothing new, no second Revision Converged
  assert.deepEqual(await added(() => Promise.all(CLUSTERS.map((c) => reconcile(c)))), []);
});

test("a kubectl edit announces one Cluster Sync Status Changed; the same task delivered again announces nothing", async () => {
  // a Service's targetPort: drift that leaves the health as it is
  kubectl(k1!, "-n", ns("ev-a"), "patch", "service", "guestbook-ui", "-p", '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}');
  const detectedAt = new Date().toISOString();
  const drift = await added(() => reconcile("ev-a", detectedAt));
  assert.deepEqual(
    drift.map((l) => `${l["detail-type"]} ${l.detail.from}->${l.detail.to}`),
    ["Cluster Sync Status Changed Synced->OutOfSync"],
  );
  assert.equal(drift[0]!.detail.command, "converge cluster get ev-a");
  assert.equal(drift[0]!.id, drift[0]!.detail.eventId);
  assert.deepEqual(await added(() => reconcile("ev-a", detectedAt)), [], "a redelivery finds the status it wrote: no transition");
  kubectl(k1!, "-n", ns("ev-a"), "patch", "service", "guestbook-ui", "-p", '{"spec":{"ports":[{"port":80,"targetPort":80}]}}');
  const back = await added(() => settle("ev-a"));
  assert.deepEqual(
    ofType(back, DETAIL_TYPES.syncStatusChanged).map((l) => `${l.detail.from}->${l.detail.to}`),
    ["OutOfSync->Synced"],
  );
  assert.equal(ofType(back, DETAIL_TYPES.revisionConverged).length, 0, "the revision converged already: not announced again");
});

test("a revision whose apply fails announces Started and Sync Operation Failed, and no convergence", async () => {
  const file = join(repo.work, "guestbook", "guestbook-ui-deployment.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replaceAll("app: guestbook-ui", "app: guestbook-ui-2"));
  repo.git("commit", "-q", "-am", "an immutable selector change");
  const revision = repo.push();
  const failed = await added(() => settle("ev-b"));
  assert.equal(ofType(failed, DETAIL_TYPES.operationStarted, "ev-b").length, 1);
  const [op] = ofType(failed, DETAIL_TYPES.operationFailed, "ev-b");
  assert.ok(op, failed.map((l) => l["detail-type"]).join(", "));
  assert.equal(op.detail.revision, revision);
  assert.equal(op.detail.phase, "Failed");
  const results = op.detail.results as { failed: { key: string; status: string; message?: string }[] };
  assert.deepEqual(
    results.failed.map((r) => `${r.key} ${r.status}`),
    ["apps/Deployment/events-b/guestbook-ui SyncFailed"],
  );
  assert.match(results.failed[0]!.message ?? "", /immutable/);
  assert.equal(ofType(failed, DETAIL_TYPES.revisionConverged).length, 0);
  assert.deepEqual(await added(() => reconcile("ev-b")), [], "the failed revision is not retried automatically: nothing new");
});
