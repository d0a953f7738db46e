/**
 * List semantics as the real API server publishes them (its OpenAPI v3, a CRD's schema), zero
 * values and hooks, each on a real cluster: a ConfigMap mounted at two paths (two volumeMounts
 * of one name), a `set` list reordered live (not drift), an `atomic` list changed live (drift),
 * a `map` list of a custom resource, and hooks in Git that nobody applied (neither Missing nor
 * Extra). Manifests: test/fixtures/lists-app.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { diffCluster } from "../../shared/reconcile/diff-cluster.js";
import { reconcileDeps } from "../../shared/services.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "lists-app");
const NS = "lists-t";
const [k1] = stackEnv().clusters;
let iso: Isolated;

/** The drift now: `<key> <state> <paths>` per resource not Synced. */
async function drift(): Promise<string[]> {
  const r = await diffCluster(reconcileDeps(iso.services), "lists");
  return r.drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state}${d.changes.length ? ` ${d.changes.map((c) => c.path).join(" ")}` : ""}`);
}

const patch = (target: string, ops: unknown[]) => kubectl(k1!, "-n", NS, "patch", target, "--type=json", "-p", JSON.stringify(ops));

before(async () => {
  iso = await isolated("lists");
  const repo = exampleRepo(`lists-${Date.now()}`);
  cpSync(fixtures, join(repo.work, "lists-app"), { recursive: true });
  repo.git("add", "lists-app");
  repo.git("commit", "-q", "-m", "lists test app");
  repo.push();
  kubectl(k1!, "create", "namespace", NS);
  kubectl(k1!, "apply", "-f", join(fixtures, "crd.yaml"));
  kubectl(k1!, "wait", "--for=condition=Established", "--timeout=30s", "crd/gadgets.lists.converge.dev");
  kubectl(k1!, "apply", "-n", NS, "-f", join(fixtures, "gadget.yaml"), "-f", join(fixtures, "deployment.yaml"));
  await iso.services.clusters.add({
    name: "lists",
    source: { repoUrl: repo.url, branch: "master", path: "lists-app" },
    namespace: NS,
    access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
    intervalSeconds: 300,
  });
});

test("two volumeMounts of one ConfigMap, zero values and hooks in Git: Synced, hooks neither Missing nor Extra", async () => {
  const r = await diffCluster(reconcileDeps(iso.services), "lists");
  assert.deepEqual(r.drift.map((d) => `${d.kind}/${d.name} ${d.state}`).sort(), [
    "ConfigMap/conf Synced",
    "CustomResourceDefinition/gadgets.lists.converge.dev Synced",
    "Deployment/web Synced",
    "Gadget/g Synced",
  ]);
});

test("a volumeMount edited live is one path, at its mountPath", async () => {
  patch("deployment/web", [{ op: "replace", path: "/spec/template/spec/containers/0/volumeMounts/1/subPath", value: "a.conf" }]);
  assert.deepEqual(await drift(), ["apps/Deployment/lists-t/web Modified spec.template.spec.containers[name=app].volumeMounts[mountPath=/etc/b.conf].subPath"]);
  patch("deployment/web", [{ op: "replace", path: "/spec/template/spec/containers/0/volumeMounts/1/subPath", value: "b.conf" }]);
  assert.deepEqual(await drift(), []);
});

test("a set reordered live is not drift; a map list reordered is not; an atomic list reordered is, by position", async () => {
  patch("gadget/g", [
    { op: "replace", path: "/spec/tags", value: ["c", "a", "b"] },
    {
      op: "replace",
      path: "/spec/slots",
      value: [
        { zone: "b", index: 1, size: 4 },
        { zone: "a", index: 1, size: 3 },
      ],
    },
  ]);
  assert.deepEqual(await drift(), [], "set and map list reordered");
  patch("gadget/g", [{ op: "replace", path: "/spec/steps", value: ["test", "build"] }]);
  assert.deepEqual(await drift(), ["lists.converge.dev/Gadget/lists-t/g Modified spec.steps[0] spec.steps[1]"]);
  patch("deployment/web", [{ op: "replace", path: "/spec/template/spec/containers/0/args", value: ["--port", "80"] }]);
  assert.deepEqual(await drift(), ["apps/Deployment/lists-t/web Modified spec.template.spec.containers[name=app].args", "lists.converge.dev/Gadget/lists-t/g Modified spec.steps[0] spec.steps[1]"]);
});
