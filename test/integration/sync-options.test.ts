/**
 * Three sync behaviours on a real cluster (real kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok nodes; DynamoDB Local; the Git server), driven as the control plane
 * drives them: clusters registered with `converge cluster add`, commits pushed to the Git
 * server, reconciles as a tick runs them. Each test proves:
 * - sync waves wait for health: wave 1 is not applied while the wave-0 Deployment is
 *   Progressing (the operation stays Running, its cursor at wave 0, across reconciles); once the
 *   Deployment is Healthy the next reconcile resumes the same operation, applies wave 1 and
 *   succeeds; with ApplyOutOfSyncOnly=true as well, although the applied wave-0 Deployment is
 *   in sync at the next reconcile, its health is still waited for; a Degraded wave-0 Deployment
 *   fails the operation and wave 1 is never applied;
 * - `argocd.argoproj.io/sync-options: Replace=true` creates and replaces the object whole (POST,
 *   then PUT: managedFields operation `Update`), so a field another manager set live is gone
 *   after a sync, while the server-side applied object next to it keeps it;
 * - the cluster option `ApplyOutOfSyncOnly=true` (`converge cluster update --sync-option`) sends
 *   only the Modified and Missing resources: an in-sync Deployment whose replica count is scaled
 *   live (ignored by an ignore rule) keeps it and its resourceVersion, the operation lists only
 *   the out-of-sync resources; the same sync without the option resets the replica count.
 * Manifests: test/fixtures/sync-options (adapted from argoproj/argocd-example-apps, see its README.md).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileDeps } from "../../shared/services.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import type { Operation } from "../../shared/store/operations.js";
import { runCliMerged as cli } from "../support/cli.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "sync-options");
const [k1] = stackEnv().clusters;
const POOL = "converge.dev/node-pool";
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
/** The node the tests label into the `backend` node pool (unlabelled again at the end). */
let poolNode: string | undefined;

/** Brings the `backend` node pool up (a node labelled into it) or down (the label removed; running pods stay). */
function backendPool(up: boolean): void {
  poolNode ??= kubectl(k1!, "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").trim();
  kubectl(k1!, "label", "node", poolNode, "--overwrite", up ? `${POOL}=backend` : `${POOL}-`);
}

const reconcile = (cluster: string) => reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster, reason: "tick", enqueuedAt: new Date().toISOString() });

/** Reconciles until no operation is running (a sync waiting for health comes back). */
async function settle(cluster: string) {
  for (let i = 0; i < 20; i++) {
    const out = await reconcile(cluster);
    if (!out?.status.operation) return out!;
    await sleep(1000);
  }
  throw new Error(`${cluster}: the operation is still running`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ns = (cluster: string) => `so-${cluster}`;
const exists = (cluster: string, what: string) => kubectl(k1!, "-n", ns(cluster), "get", what, "--ignore-not-found", "-o", "name").trim() !== "";
/** The fields of a live Deployment or Service the tests read. */
interface Live {
  metadata: { resourceVersion: string; annotations?: Record<string, string>; managedFields: { manager: string; operation: string; subresource?: string; time: string }[] };
  spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
  status: { availableReplicas?: number };
}
const live = (cluster: string, what: string) => JSON.parse(kubectl(k1!, "-n", ns(cluster), "get", what, "-o", "json", "--show-managed-fields")) as Live;
const history = async (cluster: string) => (await iso.services.operations.history(cluster, { limit: 100 })).operations;
/** An operation's per-resource results as `<phase> <wave> <Kind>/<name> <status>`, in the order recorded. */
const results = (op: Operation) => op.resources.map((r) => `${r.phase} ${r.wave} ${r.kind}/${r.name} ${r.status}`);
/** `<manager> <operation>` of each managedFields entry (status entries marked). */
const managers = (cluster: string, what: string) => live(cluster, what).metadata.managedFields.map((f) => `${f.manager} ${f.operation}${f.subresource ? ` ${f.subresource}` : ""}`);

/** Waits until `what` stops changing (its controller is done writing its status), returns its resourceVersion. */
async function stable(cluster: string, what: string): Promise<string> {
  let last = "";
  for (let i = 0; i < 30; i++) {
    const rv = live(cluster, what).metadata.resourceVersion;
    if (rv === last) return rv;
    last = rv;
    await sleep(1500);
  }
  throw new Error(`${what} keeps changing`);
}

function commit(message: string, change: () => void): string {
  change();
  repo.git("add", "-A", "sync-options");
  repo.git("commit", "-q", "-m", message);
  return repo.push();
}

/** Edits a file of the repository's copy of the fixtures. */
function edit(file: string, from: string, to: string): void {
  const path = join(repo.work, "sync-options", file);
  const text = readFileSync(path, "utf8");
  assert.ok(text.includes(from), `${file} holds ${from}`);
  writeFileSync(path, text.replace(from, to));
}

/** `converge cluster add <name>` for folder `path` of the fixtures, namespace `so-<name>`, automated sync. */
async function register(name: string, path: string, ...flags: string[]) {
  const added = await cli(
    "cluster",
    "add",
    name,
    "--repo",
    repo.url,
    "--branch",
    "master",
    "--path",
    `sync-options/${path}`,
    "--namespace",
    ns(name),
    "--kubeconfig",
    k1!.kubeconfig,
    "--context",
    k1!.context,
    "--sync",
    "apply",
    "--sync-option",
    "CreateNamespace=true",
    ...flags,
  );
  assert.equal(added.code, 0, added.out);
}

before(async () => {
  iso = await isolated("sync-options");
  Object.assign(process.env, iso.env);
  repo = exampleRepo(`sync-options-${Date.now()}`);
  commit("sync options test apps", () => cpSync(fixtures, join(repo.work, "sync-options"), { recursive: true }));
});

after(() => {
  if (poolNode) backendPool(false);
  for (const c of ["waves", "waves-oos", "degraded", "replace", "oos"]) kubectl(k1!, "delete", "namespace", ns(c), "--ignore-not-found", "--wait=false");
});

test("wave 1 waits for wave 0 to be Healthy: the operation stays Running at wave 0, then resumes, applies wave 1 and succeeds", async () => {
  await register("waves", "waves");
  const first = await reconcile("waves");
  const cursor = first!.status.operation?.cursor as { phase: string; wave: number; sentAt?: number } | undefined;
  assert.equal(cursor?.phase, "Sync", JSON.stringify(first!.status));
  assert.equal(cursor?.wave, 0);
  assert.equal(typeof cursor?.sentAt, "number", "wave 0 was sent");
  assert.ok(exists("waves", "deployment/backend") && exists("waves", "service/backend"), "wave 0 applied");
  assert.equal(live("waves", "deployment/backend").status.availableReplicas ?? 0, 0, "its pod has no node to run on");
  assert.equal(exists("waves", "deployment/frontend") || exists("waves", "service/frontend"), false, "wave 1 is not applied while wave 0 is Progressing");
  const [running] = await history("waves");
  assert.equal(running!.phase, "Running");
  assert.match(running!.message ?? "", /^waiting for Sync wave 0: apps\/Deployment\/so-waves\/backend: Waiting for rollout to finish/);
  assert.deepEqual(results(running!), ["Sync 0 Service/backend Synced", "Sync 0 Deployment/backend Synced"]);

  const second = await reconcile("waves");
  assert.equal(second!.status.operation?.id, running!.id, "the same operation is resumed");
  assert.equal((second!.status.operation?.cursor as { wave: number } | undefined)?.wave, 0);
  assert.equal(exists("waves", "deployment/frontend") || exists("waves", "service/frontend"), false, "still not applied at the next reconcile");
  assert.equal((await history("waves")).length, 1);

  // the node pool comes up: the backend pod is scheduled, kwok runs it, the Deployment becomes Available
  backendPool(true);
  const done = await settle("waves");
  assert.equal(done.status.sync, "Synced", done.status.message);
  const ops = await history("waves");
  assert.equal(ops.length, 1, "one operation from start to end");
  assert.equal(ops[0]!.id, running!.id);
  assert.equal(ops[0]!.phase, "Succeeded", ops[0]!.message);
  assert.deepEqual(results(ops[0]!), ["Sync 0 Service/backend Synced", "Sync 0 Deployment/backend Synced", "Sync 1 Service/frontend Synced", "Sync 1 Deployment/frontend Synced"]);
  assert.equal(live("waves", "deployment/backend").status.availableReplicas, 1);
  assert.ok(exists("waves", "deployment/frontend") && exists("waves", "service/frontend"), "wave 1 applied");
});

test("with ApplyOutOfSyncOnly=true too, wave 1 waits for wave 0 although wave 0 is in sync once applied", async () => {
  backendPool(false);
  await register("waves-oos", "waves", "--sync-option", "ApplyOutOfSyncOnly=true");
  const first = await reconcile("waves-oos");
  assert.equal((first!.status.operation?.cursor as { wave: number } | undefined)?.wave, 0, JSON.stringify(first!.status));
  // once applied, the backend equals Git (Synced): only wave 1 is out of sync; but its pod has no node, it is not Healthy
  assert.deepEqual(
    first!.drift
      .filter((d) => d.state !== "Synced")
      .map((d) => `${d.key} ${d.state}`)
      .sort(),
    ["/Service/so-waves-oos/frontend Missing", "apps/Deployment/so-waves-oos/frontend Missing"],
  );
  const second = await reconcile("waves-oos");
  assert.equal(live("waves-oos", "deployment/backend").status.availableReplicas ?? 0, 0);
  assert.equal(exists("waves-oos", "deployment/frontend") || exists("waves-oos", "service/frontend"), false, "wave 1 is not applied while wave 0 is Progressing");
  assert.equal((second!.status.operation?.cursor as { wave: number } | undefined)?.wave, 0, JSON.stringify(second!.status));
  const [running] = await history("waves-oos");
  assert.equal(running!.phase, "Running", running!.message);

  backendPool(true);
  const done = await settle("waves-oos");
  assert.equal(done.status.sync, "Synced", done.status.message);
  const ops = await history("waves-oos");
  assert.equal(ops.length, 1);
  assert.equal(ops[0]!.phase, "Succeeded", ops[0]!.message);
  assert.deepEqual(results(ops[0]!), ["Sync 0 Service/backend Synced", "Sync 0 Deployment/backend Synced", "Sync 1 Service/frontend Synced", "Sync 1 Deployment/frontend Synced"]);
});

test("a Degraded wave 0 fails the operation: wave 1 is never applied, not even by a later reconcile", async () => {
  await register("degraded", "waves-degraded");
  const out = await settle("degraded");
  const [op] = await history("degraded");
  assert.equal(op!.phase, "Failed", op!.message);
  assert.match(op!.message ?? "", /apps\/Deployment\/so-degraded\/backend is Degraded: Deployment "backend" exceeded its progress deadline/);
  assert.match(out.status.message ?? "", /sync failed/);
  assert.equal(out.status.sync, "OutOfSync");
  assert.deepEqual(results(op!), ["Sync 0 Service/backend Synced", "Sync 0 Deployment/backend Synced"]);
  assert.equal(exists("degraded", "deployment/frontend") || exists("degraded", "service/frontend"), false);
  const again = await reconcile("degraded");
  assert.match(again!.status.message ?? "", /failed; not retried automatically/);
  assert.equal((await history("degraded")).length, 1, "the failed revision is not synced again");
  assert.equal(exists("degraded", "deployment/frontend") || exists("degraded", "service/frontend"), false);
});

test("Replace=true: the object is created and replaced whole, so a field another manager set is removed; its server-side applied neighbour keeps it", async () => {
  await register("replace", "replace");
  const created = await settle("replace");
  assert.equal(created.status.sync, "Synced", created.status.message);
  const [first] = await history("replace");
  assert.equal(first!.phase, "Succeeded", first!.message);
  assert.deepEqual(results(first!), ["Sync 0 Service/guestbook-ui Synced", "Sync 0 Deployment/guestbook-ui Synced"]);
  assert.ok(managers("replace", "deployment/guestbook-ui").includes("converge Update"), "created by POST");
  assert.ok(!managers("replace", "deployment/guestbook-ui").includes("converge Apply"), "never server-side applied");
  assert.ok(managers("replace", "service/guestbook-ui").includes("converge Apply"), "the Service is server-side applied");

  // another manager (kubectl-annotate) adds a field Git does not set: not drift
  kubectl(k1!, "-n", ns("replace"), "annotate", "deployment/guestbook-ui", "service/guestbook-ui", "team=guestbook");
  await stable("replace", "deployment/guestbook-ui");
  assert.equal((await reconcile("replace"))!.status.sync, "Synced");
  assert.equal((await history("replace")).length, 1);

  commit("two guestbook replicas", () => edit("replace/guestbook-ui-deployment.yaml", "replicas: 1", "replicas: 2"));
  const synced = await settle("replace");
  assert.equal(synced.status.sync, "Synced", synced.status.message);
  const [op] = await history("replace");
  assert.notEqual(op!.id, first!.id);
  assert.equal(op!.phase, "Succeeded", op!.message);
  assert.deepEqual(results(op!), ["Sync 0 Service/guestbook-ui Synced", "Sync 0 Deployment/guestbook-ui Synced"]);
  const deployment = live("replace", "deployment/guestbook-ui");
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(deployment.metadata.annotations?.team, undefined, "replaced whole: the other manager's annotation is gone");
  assert.ok(!managers("replace", "deployment/guestbook-ui").some((m) => m.startsWith("kubectl-annotate ")));
  assert.ok(!managers("replace", "deployment/guestbook-ui").includes("converge Apply"));
  assert.equal(live("replace", "service/guestbook-ui").metadata.annotations?.team, "guestbook", "server-side apply keeps a field it does not own");
  assert.ok(managers("replace", "service/guestbook-ui").some((m) => m.startsWith("kubectl-annotate ")));
});

test("ApplyOutOfSyncOnly=true: a sync sends only the Modified and Missing resources; without it every resource is sent", async () => {
  await register("oos", "out-of-sync", "--ignore-differences", join(fixtures, "ignore-replicas.yaml"));
  const created = await settle("oos");
  assert.equal(created.status.sync, "Synced", created.status.message);
  assert.equal((await history("oos"))[0]!.resources.length, 4);

  // the replica count scaled live is ignored: not drift, but a sync that sends the Deployment resets it
  kubectl(k1!, "-n", ns("oos"), "scale", "deployment/carts", "--replicas=3");
  assert.equal((await reconcile("oos"))!.status.sync, "Synced");
  commit("carts-db on mongo 7.0", () => edit("out-of-sync/carts-db-dep.yaml", "image: mongo\n", "image: mongo:7.0\n"));
  await settle("oos");
  const [full] = await history("oos");
  assert.equal(full!.phase, "Succeeded", full!.message);
  assert.deepEqual(
    results(full!).sort(),
    ["Sync 0 Deployment/carts Synced", "Sync 0 Deployment/carts-db Synced", "Sync 0 Service/carts Synced", "Sync 0 Service/carts-db Synced"],
    "without the option, every resource is sent",
  );
  assert.equal(live("oos", "deployment/carts").spec.replicas, 1, "the in-sync Deployment was sent: Git's replica count is back");

  const updated = await cli("cluster", "update", "oos", "--sync-option", "ApplyOutOfSyncOnly=true");
  assert.equal(updated.code, 0, updated.out);
  assert.deepEqual((await iso.services.clusters.get("oos"))!.spec.syncOptions, { createNamespace: true, applyOutOfSyncOnly: true });
  kubectl(k1!, "-n", ns("oos"), "scale", "deployment/carts", "--replicas=3");
  kubectl(k1!, "-n", ns("oos"), "delete", "service", "carts-db");
  const drift = (await reconcile("oos"))!.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}`);
  assert.deepEqual(drift, ["/Service/so-oos/carts-db Missing"]);
  const cartsVersion = await stable("oos", "deployment/carts");
  const serviceVersion = live("oos", "service/carts").metadata.resourceVersion;
  const cartsConverge = JSON.stringify(live("oos", "deployment/carts").metadata.managedFields.find((f) => f.manager === "converge"));

  commit("carts-db on mongo 8.0", () => edit("out-of-sync/carts-db-dep.yaml", "image: mongo:7.0\n", "image: mongo:8.0\n"));
  const synced = await settle("oos");
  assert.equal(synced.status.sync, "Synced", synced.status.message);
  const [op] = await history("oos");
  assert.notEqual(op!.id, full!.id);
  assert.equal(op!.phase, "Succeeded", op!.message);
  assert.deepEqual(results(op!).sort(), ["Sync 0 Deployment/carts-db Synced", "Sync 0 Service/carts-db Synced"], "only the Modified Deployment and the Missing Service");
  assert.equal(live("oos", "deployment/carts-db").spec.template.spec.containers[0]!.image, "mongo:8.0");
  assert.ok(exists("oos", "service/carts-db"));
  const carts = live("oos", "deployment/carts");
  assert.equal(carts.spec.replicas, 3, "the in-sync Deployment was not sent: the live replica count stays");
  assert.equal(carts.metadata.resourceVersion, cartsVersion);
  assert.equal(JSON.stringify(carts.metadata.managedFields.find((f) => f.manager === "converge")), cartsConverge);
  assert.equal(live("oos", "service/carts").metadata.resourceVersion, serviceVersion);
});
