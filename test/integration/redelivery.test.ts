/**
 * A reconcile that dies between two writes and is redelivered records each change once: the
 * fault injector of `npm run chaos` (bench/chaos/inject.ts) kills the reconcile at a named
 * DynamoDB call, the same message comes back after SQS's visibility timeout (same first-receive
 * time, the clock 31 minutes on), and the history must hold one change, not two. Real DynamoDB
 * Local, the real Git server, a real kube-apiserver.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster, type ReconcileDeps } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";
import { Injector, type FaultKind } from "../../bench/chaos/inject.js";

let iso: Isolated;
let repoUrl: string;
const cluster = () => stackEnv().clusters[0]!;
let offset = 0;
let deps: ReconcileDeps;

const settings = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: "${value}"\n`;

before(async () => {
  iso = await isolated("redelivery");
  const repo = exampleRepo(`redelivery-${Date.now()}`);
  repo.git("rm", "-rq", ".");
  mkdirSync(`${repo.work}/app`, { recursive: true });
  writeFileSync(`${repo.work}/app/settings.yaml`, settings("a"));
  repo.git("add", "-A");
  repo.git("commit", "-qm", "settings a");
  repo.push();
  repoUrl = repo.url;
  deps = reconcileDeps(iso.services, { metrics: () => {}, now: () => Date.now() + offset });
});

/** Registers a detect-only cluster whose live ConfigMap holds `value`, reconciled once (clean). */
async function registered(name: string, value: string): Promise<void> {
  kubectl(cluster(), "create", "namespace", name);
  kubectl(cluster(), "-n", name, "create", "configmap", "settings", `--from-literal=value=${value}`);
  await iso.services.clusters.add({
    name,
    source: { repoUrl, branch: "master", path: "app" },
    namespace: name,
    access: { type: "kubeconfig", kubeconfig: cluster().kubeconfig, context: cluster().context },
    intervalSeconds: 300,
  });
  await reconcileCluster(deps, { cluster: name, reason: "tick", enqueuedAt: new Date().toISOString() });
}

/** Reconciles `name` with `kind` at the first call to `target`, then redelivers the same message 31 minutes later. */
async function faultThenRedeliver(name: string, target: string, kind: FaultKind): Promise<void> {
  const task = { cluster: name, reason: "tick" as const, enqueuedAt: new Date(Date.now() + offset).toISOString() };
  const detectedAt = new Date(Date.now() + offset).toISOString();
  const inj = new Injector(target, kind);
  const run = reconcileCluster(inj.deps(deps), task, detectedAt).catch(() => undefined);
  await Promise.race([run, inj.death]);
  assert.equal(inj.fired?.target, target, `the fault hit ${target}`);
  inj.closeClients();
  offset += 31 * 60_000;
  await reconcileCluster(deps, task, detectedAt);
}

for (const kind of ["kill", "throw"] as const) {
  test(`a sync status change is recorded once when the status write is hit by ${kind} and the message redelivered`, async () => {
    const name = `redeliver-status-${kind}`;
    await registered(name, "a");
    assert.equal((await iso.services.clusters.get(name))?.status.sync, "Synced");
    kubectl(cluster(), "-n", name, "patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"value":"edited"}}');
    await faultThenRedeliver(name, "dynamodb.setStatus", kind);
    assert.equal((await iso.services.clusters.get(name))?.status.sync, "OutOfSync");
    const changes = (await iso.services.events.syncChanges(name)).map((c) => `${c.from}→${c.to}`);
    assert.deepEqual(changes.slice(1), ["Synced→OutOfSync"], `changes after the first reconcile: ${changes.join(", ")}`);
  });
}

test("a drift event is recorded once when the observed-state write is hit by a timeout after its work and the message redelivered", async () => {
  const name = "redeliver-drift";
  await registered(name, "a");
  kubectl(cluster(), "-n", name, "patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"value":"edited"}}');
  await faultThenRedeliver(name, "dynamodb.putObserved", "timeout");
  const events = (await iso.services.events.byCluster(name)).map((e) => `${e.from}→${e.to}`);
  assert.deepEqual(events, ["Synced→Modified"]);
});
