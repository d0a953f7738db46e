/**
 * The test bed's real Kubernetes clusters: two clusters run side by side (kube-apiserver,
 * kube-controller-manager, kube-scheduler v1.34.4 and etcd, run by kwokctl with fake nodes);
 * a Deployment applied with the kubectl layer's kubectl gets a ReplicaSet, its Pods are
 * scheduled and Running, and @kubernetes/client-node lists it. Self-contained: starts and
 * stops its own clusters (building the binaries first when missing).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { AppsV1Api, KubeConfig } from "@kubernetes/client-node";
import { startClusters, KUBERNETES_VERSION, type ClusterHandle } from "../../tools/testbed/kube.js";
import { kubectlBinaries } from "../../tools/testbed/binaries.js";

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: nginx
          image: nginx
`;

let clusters: ClusterHandle[] = [];
const { kubectl } = kubectlBinaries();
const k = (c: ClusterHandle, args: string[], input?: string) =>
  execFileSync(kubectl, ["--kubeconfig", c.kubeconfig, "--context", c.context, ...args], { encoding: "utf8", input, env: { ...process.env, KUBECACHEDIR: `${c.workdir}/kube-cache` } });

/**
 * The processes whose command line names `dir` (the cluster's etcd, API server, controllers:
 * kwokctl starts them with their files there). Not the port: once freed, another test bed's
 * server may take it.
 */
const processesIn = (dir: string) =>
  readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false; // gone meanwhile
      }
    });

before(
  async () => {
    const t0 = Date.now();
    clusters = await startClusters(["kube-test-a", "kube-test-b"], { log: (s) => console.error(`[kube] ${s}`) });
    console.error(`[kube] 2 clusters in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  },
  { timeout: 20 * 60_000 },
); // a first run builds Kubernetes (~7 min on 2 cores)

after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  for (const c of clusters) {
    assert.equal(existsSync(c.workdir), false, `${c.name}'s folder is removed`);
    assert.deepEqual(processesIn(c.workdir), [], `${c.name}'s processes are stopped`);
  }
});

test("two clusters run at once, on distinct 127.0.0.1 ports, each with its own kubeconfig", () => {
  assert.equal(clusters.length, 2);
  assert.deepEqual(
    clusters.map((c) => c.name),
    ["kube-test-a", "kube-test-b"],
  );
  assert.notEqual(clusters[0]!.server, clusters[1]!.server);
  for (const c of clusters) {
    assert.match(c.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(JSON.parse(k(c, ["version", "-o", "json"])).serverVersion.gitVersion, KUBERNETES_VERSION);
    assert.equal(k(c, ["get", "nodes", "-o", "name"]).trim().split("\n").length, 2, "two kwok fake nodes");
  }
});

test("a Deployment of 2 nginx replicas becomes available on both clusters", async () => {
  for (const c of clusters) k(c, ["apply", "-f", "-"], deployment);
  const deadline = Date.now() + 90_000;
  const state = (c: ClusterHandle) => {
    const pods = JSON.parse(k(c, ["get", "pods", "-n", "default", "-l", "app=web", "-o", "json"])) as { items: { status: { phase: string }; spec: { nodeName?: string } }[] };
    const d = JSON.parse(k(c, ["get", "deployment", "web", "-n", "default", "-o", "json"])) as { status: { availableReplicas?: number } };
    return { running: pods.items.filter((p) => p.status.phase === "Running" && p.spec.nodeName).length, available: d.status.availableReplicas ?? 0 };
  };
  for (;;) {
    const s = clusters.map(state);
    if (s.every((x) => x.running === 2 && x.available === 2)) break;
    assert.ok(Date.now() < deadline, `not available after 90 s: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const c of clusters) {
    // kube-controller-manager made the ReplicaSet, kube-scheduler placed the Pods on the fake nodes
    assert.equal(k(c, ["get", "replicasets", "-n", "default", "-l", "app=web", "-o", "name"]).trim().split("\n").length, 1);
    const nodes = k(c, ["get", "pods", "-n", "default", "-l", "app=web", "-o", "jsonpath={.items[*].spec.nodeName}"]).trim().split(" ");
    assert.ok(
      nodes.every((n) => n.startsWith("node-")),
      `scheduled on kwok nodes: ${nodes.join(", ")}`,
    );
  }
});

test("@kubernetes/client-node talks to the clusters", async () => {
  for (const c of clusters) {
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    assert.equal(kc.getCurrentContext(), c.context);
    assert.equal(kc.getCurrentCluster()?.server, c.server);
    const list = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: "default" });
    const web = list.items.find((d) => d.metadata?.name === "web");
    assert.ok(web, `${c.name} lists Deployment web`);
    assert.equal(web.status?.availableReplicas, 2);
  }
});
