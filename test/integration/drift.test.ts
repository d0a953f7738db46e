/**
 * Exact drift on a real API server (issue 3): manifests exercising every normalization rule,
 * applied with kubectl and left alone, show no drift; each real edit shows exactly its paths;
 * a field this source applied and Git dropped is drift (three-way); LIST suspects are
 * confirmed with a server-side dry-run, for those only.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { diffCluster } from "../../shared/reconcile/diff-cluster.js";
import { reconcileDeps } from "../../shared/services.js";
import { FIELD_MANAGER } from "../../shared/kube/resources.js";
import { main } from "../../cli/main.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "drift-app");
const NS = "drift-t";
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let first: string;
const [k1, k2] = stackEnv().clusters;

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await main(
    ["node", "converge", ...args],
    (s) => (out += `${s}\n`),
    () => {},
  );
  return { code, out };
}

const register = (name: string, c: typeof k1, path: string, ns: string) =>
  iso.services.clusters.add({
    name,
    source: { repoUrl: repo.url, branch: "master", path },
    namespace: ns,
    access: { type: "kubeconfig", kubeconfig: c!.kubeconfig, context: c!.context },
    intervalSeconds: 300,
  });

before(async () => {
  iso = await isolated("drift");
  Object.assign(process.env, iso.env);
  repo = exampleRepo(`drift-${Date.now()}`);
  cpSync(fixtures, join(repo.work, "drift-app"), { recursive: true });
  repo.git("add", "drift-app");
  repo.git("commit", "-q", "-m", "drift test app");
  first = repo.push();
  kubectl(k1!, "create", "namespace", NS);
  kubectl(k1!, "apply", "-f", join(fixtures, "crd.yaml"));
  kubectl(k1!, "wait", "--for=condition=Established", "--timeout=30s", "crd/widgets.drift.converge.dev");
  kubectl(k1!, "apply", "-n", NS, "--validate=false", "-f", fixtures);
  for (const [c, ns, path] of [
    [k2, "drift-gb", "guestbook"],
    [k2, "drift-ss", "sock-shop/base"],
  ] as const) {
    kubectl(c!, "create", "namespace", ns);
    kubectl(c!, "apply", "-n", ns, "-f", join(repo.work, path));
  }
  await register("drift", k1, "drift-app", NS);
  await register("drift-gb", k2, "guestbook", "drift-gb");
  await register("drift-ss", k2, "sock-shop/base", "drift-ss");
  // let the aggregation controller fill the aggregated ClusterRole
  for (let i = 0; i < 50 && !kubectl(k1!, "get", "clusterrole", "drift-aggregate", "-o", "jsonpath={.rules}").includes("configmaps"); i++) await new Promise((r) => setTimeout(r, 200));
});

test("applied with kubectl and left alone, every normalization case and the example apps are Synced, zero drift", async () => {
  const deps = reconcileDeps(iso.services);
  for (const name of ["drift", "drift-gb", "drift-ss"]) {
    const r = await diffCluster(deps, name);
    const drifted = r.drift.filter((d) => d.state !== "Synced");
    assert.deepEqual(
      drifted.map((d) => `${d.key} ${d.state} ${d.changes.map((c) => c.path).join(",")}`),
      [],
      name,
    );
  }
  const r = await diffCluster(deps, "drift");
  assert.equal(r.drift.length, 8, "Deployment, Service, ConfigMap, Secret, 2 ClusterRoles, CRD, Widget: all compared");
  assert.equal(r.stats!.suspects, 1, "only the Widget's pruned field looked drifted in the LIST comparison");
  assert.equal(r.stats!.confirmed, 0, "and the dry-run showed the server drops it: no drift");
  const discovery = new Set(r.drift.map((d) => d.apiVersion)).size;
  assert.equal(r.stats!.dryRuns, 2, "SSA refuses the undeclared field; one merge-patch dry-run settles it");
  // + the OpenAPI v3 root, + one document per group-version the first time its hash is seen
  assert.ok(r.kubeRequests! <= discovery + 1 + discovery + r.stats!.lists + r.stats!.dryRuns, `${r.kubeRequests} requests`);
  const again = await diffCluster(deps, "drift");
  assert.ok(again.kubeRequests! <= discovery + 1 + again.stats!.lists + again.stats!.dryRuns, `warm: ${again.kubeRequests} requests (documents cached by hash)`);
  const ss = await diffCluster(deps, "drift-ss");
  assert.equal(ss.drift.length, 29);
  assert.equal((await cli("diff", "--cluster", "drift")).code, 0, "converge diff exits 0 when in sync");
});

test("real edits are reported as exactly the expected Modified paths; Secret values only as digests", async () => {
  kubectl(k1!, "-n", NS, "set", "image", "deployment/web", "web=nginx:edited");
  kubectl(k1!, "-n", NS, "scale", "deployment/web", "--replicas=5");
  kubectl(k1!, "-n", NS, "set", "env", "deployment/web", "MODE=dev");
  kubectl(k1!, "-n", NS, "label", "deployment", "web", "tier=backend", "--overwrite");
  kubectl(k1!, "-n", NS, "patch", "service", "web", "--type=json", "-p", '[{"op":"remove","path":"/spec/ports/1"}]');
  kubectl(k1!, "-n", NS, "patch", "secret", "creds", "-p", '{"stringData":{"password":"s3cr3t-changed"}}');
  kubectl(k1!, "-n", NS, "patch", "configmap", "settings", "-p", '{"data":{"b":"3"}}');
  const r = await diffCluster(reconcileDeps(iso.services), "drift", first);
  const modified = Object.fromEntries(r.drift.filter((d) => d.state !== "Synced").map((d) => [d.key, d.changes.map((c) => c.path)]));
  assert.deepEqual(modified, {
    [`apps/Deployment/${NS}/web`]: ["metadata.labels.tier", "spec.replicas", "spec.template.spec.containers[name=web].env[name=MODE].value", "spec.template.spec.containers[name=web].image"],
    // Service ports are keyed by port and protocol in the schema (server-side apply's keys), not by name
    [`/Service/${NS}/web`]: ["spec.ports[port=9090,protocol=TCP]"],
    [`/Secret/${NS}/creds`]: ["data.password"],
    [`/ConfigMap/${NS}/settings`]: ["data.b"],
  });
  const json = await cli("diff", "--cluster", "drift", "-o", "json");
  assert.equal(json.code, 1, "converge diff exits 1 when drift is found");
  assert.ok(!json.out.includes("s3cr3t-changed") && !json.out.includes("hunter2") && !json.out.includes(Buffer.from("s3cr3t-changed").toString("base64")));
  assert.match(json.out, /"live": "sha256:[0-9a-f]{64}"/);
  const text = await cli("diff", "--cluster", "drift");
  assert.match(text.out, /^- {2}replicas: 2\n\+ {2}replicas: 5$/m, "a unified YAML diff per resource");
  assert.ok(!text.out.includes("s3cr3t-changed"));
  // put everything back for the next test
  kubectl(k1!, "apply", "-n", NS, "--validate=false", "-f", fixtures);
});

test("three-way: a field this source applied and Git dropped is drift; one only live for another manager is not", async () => {
  // the ConfigMap as Converge applied it earlier (server-side apply, field manager converge)
  const api = await iso.services.connect({ type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context });
  await api.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: NS }, data: { a: "1", b: "2" } }, { fieldManager: FIELD_MANAGER, force: true });
  kubectl(k1!, "-n", NS, "patch", "configmap", "settings", "-p", '{"data":{"c":"added-by-someone-else"}}');
  api.client.close();
  // Git drops key b
  repo.git("checkout", "-q", "master");
  repo.git("pull", "-q", "origin", "master");
  rmSync(join(repo.work, "drift-app", "config.yaml"));
  cpSync(join(fixtures, "config.yaml"), join(repo.work, "drift-app", "config.yaml"));
  const { writeFileSync, readFileSync } = await import("node:fs");
  const f = join(repo.work, "drift-app", "config.yaml");
  writeFileSync(f, readFileSync(f, "utf8").replace('data: {a: "1", b: "2"}', 'data: {a: "1"}'));
  repo.git("commit", "-qam", "drop settings.b");
  const second = repo.push();
  const r = await diffCluster(reconcileDeps(iso.services), "drift", second);
  const cm = r.drift.find((d) => d.key === `/ConfigMap/${NS}/settings`)!;
  assert.equal(cm.state, "Modified");
  assert.deepEqual(cm.changes, [{ path: "data.b" }], "b is owned by converge and gone from Git; c belongs to another manager");
});

test("a field owned by a controller (kube-controller-manager, as for an HPA) is not drift unless configured; ignore rules apply", async () => {
  kubectl(k1!, "apply", "-n", NS, "--validate=false", "-f", fixtures);
  kubectl(k1!, "-n", NS, "patch", "deployment", "web", "--field-manager=kube-controller-manager", "-p", '{"spec":{"replicas":4}}');
  kubectl(k1!, "-n", NS, "patch", "configmap", "settings", "--field-manager=kubectl-edit", "-p", '{"data":{"a":"edited"}}');
  const deps = reconcileDeps(iso.services);
  const dep = (r: Awaited<ReturnType<typeof diffCluster>>) => r.drift.find((d) => d.key === `apps/Deployment/${NS}/web`)!;
  const cm = (r: Awaited<ReturnType<typeof diffCluster>>) => r.drift.find((d) => d.key === `/ConfigMap/${NS}/settings`)!;
  const byDefault = await diffCluster(deps, "drift", first);
  assert.equal(dep(byDefault).state, "Synced", "replicas written by the controller manager");
  assert.deepEqual(
    cm(byDefault).changes.map((c) => c.path),
    ["data.a"],
    "a person's edit is drift",
  );
  const { writeFileSync } = await import("node:fs");
  const rules = join(repo.work, "..", `ignore-${Date.now()}.yaml`);
  writeFileSync(rules, "- {group: apps, kind: Deployment, managedFieldsManagers: []}\n- {kind: ConfigMap, name: settings, jqPathExpressions: [.data.a]}\n");
  const add = await cli(
    "cluster",
    "add",
    "drift-strict",
    "--repo",
    repo.url,
    "--branch",
    "master",
    "--path",
    "drift-app",
    "--namespace",
    NS,
    "--kubeconfig",
    k1!.kubeconfig,
    "--context",
    k1!.context,
    "--ignore-differences",
    rules,
  );
  assert.equal(add.code, 0, add.out);
  const configured = await diffCluster(deps, "drift-strict", first);
  assert.deepEqual(
    dep(configured).changes.map((c) => c.path),
    ["spec.replicas"],
    "configured: the controller's value is drift",
  );
  assert.equal(cm(configured).state, "Synced", "ignored by a path expression");
  writeFileSync(rules, "- {kind: ConfigMap, jsonPointers: [spec]}\n");
  const bad = await cli("cluster", "add", "drift-bad", "--repo", repo.url, "--kubeconfig", k1!.kubeconfig, "--ignore-differences", rules);
  assert.equal(bad.code, 2);
  assert.equal(await iso.services.clusters.get("drift-bad"), undefined, "an invalid rule writes nothing");
});
