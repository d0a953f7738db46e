/**
 * The input files of a render (shared/render/inputs.ts) on real layouts: the example
 * repository (directory, Helm, a Kustomize overlay on a base outside its folder) and
 * Kustomize's components example (test/fixtures/kustomize-components: three overlays sharing
 * a base and components). Where a render is involved, the real kubectl / helm of the test bed
 * render the layout again from the input files alone, to the same objects.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleFiles } from "../support/fixture.js";
import { compactInputs, directoryInputs, helmInputs, kustomizeInputs, MAX_INPUT_BYTES } from "../../shared/render/inputs.js";
import { covers } from "../../shared/webhook/concerned.js";
import { renderSource, type SourceSpec } from "../../shared/render/source.js";
import type { SourceFile } from "../../shared/render/directory.js";

const COMPONENTS = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "kustomize-components");

/** The components example as a repository of its own (paths relative to its folder). */
function componentsRepo(): SourceFile[] {
  const walk = (d: string): SourceFile[] =>
    readdirSync(d).flatMap((f) => {
      const p = join(d, f);
      return statSync(p).isDirectory() ? walk(p) : [{ path: relative(COMPONENTS, p).split(sep).join("/"), content: readFileSync(p, "utf8") }];
    });
  return walk(COMPONENTS);
}

/** The objects a render gives, as `Kind/name` with their content. */
async function rendered(files: SourceFile[], spec: SourceSpec): Promise<{ inputs: string[]; objects: string[] }> {
  const r = await renderSource(files, spec, { namespace: "default" });
  return { inputs: r.inputs, objects: r.objects.map((o) => JSON.stringify(o.object)).sort() };
}

/** Renders `spec` from every file, then from the files its inputs cover only: the two must agree. */
async function assertInputsSuffice(files: SourceFile[], spec: SourceSpec): Promise<string[]> {
  const full = await rendered(files, spec);
  assert.ok(full.objects.length > 0, "the layout renders to objects");
  const kept = files.filter((f) => full.inputs.some((i) => covers(i, f.path)));
  assert.ok(kept.length < files.length, "some files of the repository are not inputs");
  const again = await rendered(kept, spec);
  assert.deepEqual(again.objects, full.objects, "the input files alone render the same objects");
  return full.inputs;
}

describe("the example repository", () => {
  const repo = () => exampleFiles("");

  test("a directory source: its folder, or its direct files when not recursive; the root is the whole repository", async () => {
    assert.deepEqual(await assertInputsSuffice(repo(), { path: "guestbook" }), ["guestbook"]);
    assert.deepEqual(compactInputs(directoryInputs("sock-shop/base", false)), ["sock-shop/base/*"]);
    assert.deepEqual(compactInputs(directoryInputs("")), ["."]);
    assert.deepEqual(compactInputs(directoryInputs("./guestbook/")), ["guestbook"]);
  });

  test("Kustomize pre-post-sync: its folder and the base ../kustomize-guestbook it names", async () => {
    assert.deepEqual(await assertInputsSuffice(repo(), { path: "pre-post-sync" }), ["kustomize-guestbook", "pre-post-sync"]);
  });

  test("Kustomize sock-shop and plugins/kustomized-helm: everything they name is inside their folder", async () => {
    assert.deepEqual(await assertInputsSuffice(repo(), { path: "sock-shop" }), ["sock-shop"]);
    assert.deepEqual(compactInputs(kustomizeInputs(repo(), "plugins/kustomized-helm").inputs), ["plugins/kustomized-helm"]);
  });

  test("Helm helm-guestbook: the chart folder and its value files, one of them outside the chart", async () => {
    assert.deepEqual(await assertInputsSuffice(repo(), { path: "helm-guestbook", helm: { valueFiles: ["values-production.yaml"] } }), ["helm-guestbook"]);
    assert.deepEqual(compactInputs(helmInputs(repo(), "helm-guestbook", ["../guestbook/guestbook-ui-svc.yaml", "values.yaml"])), ["guestbook/guestbook-ui-svc.yaml", "helm-guestbook"]);
  });
});

describe("Kustomize's components example: overlays sharing a base and components", () => {
  test("each overlay: its folder, the base, and the components it names (ldap is commented out in dev)", async () => {
    const files = componentsRepo();
    assert.deepEqual(await assertInputsSuffice(files, { path: "overlays/community" }), ["base", "components/external_db", "components/recaptcha", "overlays/community"]);
    assert.deepEqual(await assertInputsSuffice(files, { path: "overlays/enterprise" }), ["base", "components/external_db", "components/ldap", "overlays/enterprise"]);
    assert.deepEqual(await assertInputsSuffice(files, { path: "overlays/dev" }), ["base", "components/external_db", "components/recaptcha", "overlays/dev"]);
  });

  test("the files a component's kustomization names are inputs before compaction (generator files, patch paths)", () => {
    const walk = kustomizeInputs(componentsRepo(), "components/recaptcha");
    assert.deepEqual([...walk.inputs].sort(), ["components/recaptcha", "components/recaptcha/deployment.yaml", "components/recaptcha/secret_key.txt", "components/recaptcha/site_key.txt"]);
    assert.deepEqual(walk.refused, []);
  });
});

describe("references outside the folder and conservative answers", () => {
  test("files named outside the kustomization folder are kept: generator files and envs (key=path), patches, helm value files, chart home", () => {
    // the fields of https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/, each naming a file of the example repository
    const files = [
      ...exampleFiles(""),
      {
        path: "env/prod/kustomization.yaml",
        content: [
          "resources: [../../guestbook]",
          "configMapGenerator:",
          "- name: ui",
          "  files: [index=../../README.md]",
          "  envs: [../../helm-dependency/values-nomaria.yaml]",
          "patches:",
          "- path: ../../plugins/kustomized-helm/overlays/guestbook-deployment.yaml",
          "- patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 2",
          "openapi: { path: ../../blue-green/values.yaml }",
          "helmGlobals: { chartHome: ../../charts-home }",
          "helmCharts:",
          "- name: local",
          "  valuesFile: ../../helm-guestbook/values-production.yaml",
        ].join("\n"),
      },
    ];
    const walk = kustomizeInputs(files, "env/prod");
    assert.deepEqual(walk.refused, []);
    assert.deepEqual(compactInputs(walk.inputs), [
      "README.md",
      "blue-green/values.yaml",
      "charts-home",
      "env/prod",
      "guestbook",
      "helm-dependency/values-nomaria.yaml",
      "helm-guestbook/values-production.yaml",
      "plugins/kustomized-helm/overlays/guestbook-deployment.yaml",
    ]);
  });

  test("a remote base, a base leaving the repository (climbing out, or absolute), a kustomization that does not parse: the whole repository", () => {
    // the remote target of https://github.com/kubernetes-sigs/kustomize/blob/master/examples/remoteBuild.md
    const remote = kustomizeInputs([{ path: "app/kustomization.yaml", content: "resources:\n- github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6\n" }], "app");
    assert.deepEqual(compactInputs(remote.inputs), ["."]);
    assert.deepEqual(remote.refused, ["app/kustomization.yaml: github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6"]);
    const outside = kustomizeInputs([{ path: "app/kustomization.yaml", content: "resources:\n- ../../base\n" }], "app");
    assert.deepEqual(compactInputs(outside.inputs), ["."]);
    assert.deepEqual(outside.refused, ["app/kustomization.yaml: ../../base (leaves the repository)"]);
    const absolute = kustomizeInputs(
      [
        { path: "apps/dev/kustomization.yaml", content: "resources:\n- ../../base\n" },
        { path: "base/kustomization.yaml", content: "resources:\n- /etc/passwd-dir\n" },
      ],
      "apps/dev",
    );
    assert.deepEqual(absolute.refused, ["base/kustomization.yaml: /etc/passwd-dir (leaves the repository)"]);
    const broken = kustomizeInputs([{ path: "app/kustomization.yaml", content: "resources: [\n" }], "app");
    assert.deepEqual(compactInputs(broken.inputs), ["."]);
  });

  test("Helm file:// dependencies, followed through the dependency's own Chart.yaml", () => {
    // the local dependency of https://helm.sh/docs/helm/helm_dependency/ ("file://../dependency_chart/nginx")
    const files = [
      { path: "charts/app/Chart.yaml", content: 'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: nginx\n  version: "1.2.3"\n  repository: "file://../dependency_chart/nginx"\n' },
      {
        path: "charts/dependency_chart/nginx/Chart.yaml",
        content: 'apiVersion: v2\nname: nginx\nversion: 1.2.3\ndependencies:\n- name: common\n  version: "2.x"\n  repository: "file://../../common"\n',
      },
      { path: "charts/common/Chart.yaml", content: "apiVersion: v2\nname: common\nversion: 2.0.0\ntype: library\n" },
    ];
    assert.deepEqual(compactInputs(helmInputs(files, "charts/app")), ["charts/app", "charts/common", "charts/dependency_chart/nginx"]);
    assert.deepEqual(compactInputs(helmInputs(files, "charts/app", ["../../../outside.yaml"])), ["."]);
  });

  test("compaction: covered entries dropped; a set over MAX_INPUT_BYTES coarsened to folders until it fits", () => {
    assert.deepEqual(compactInputs(["a/b/c.yaml", "a/b", "a/b/*", "x/*", "x/y"]), ["a/b", "x/*", "x/y"]);
    const many = Array.from({ length: 400 }, (_, i) => `clusters/region-${i % 20}/cluster-${i}/values.yaml`);
    const compact = compactInputs(many);
    assert.ok(compact.join("\n").length <= MAX_INPUT_BYTES);
    assert.ok(
      many.every((m) => compact.some((c) => covers(c, m))),
      "every original input still covered",
    );
    assert.equal(compact.length, 20, "one folder per region");
  });

  test("covers: a file, a folder and what is under it, `p/*` direct children only, `.` everything", () => {
    assert.ok(covers("apps/b", "apps/b") && covers("apps/b", "apps/b/x.yaml") && !covers("apps/b", "apps/bb/x.yaml"));
    assert.ok(covers("apps/b/*", "apps/b/x.yaml") && !covers("apps/b/*", "apps/b/sub/x.yaml"));
    assert.ok(covers("./*", "README.md") && !covers("./*", "apps/x.yaml") && covers(".", "apps/x.yaml"));
  });
});
