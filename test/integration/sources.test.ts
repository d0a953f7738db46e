/**
 * Kustomize and Helm sources through the real reconcile handler on real clusters: detected
 * as Argo CD does, rendered with the kubectl layer's binaries, applied and Synced; sources
 * Converge cannot render end in Error with the cause, other clusters unaffected.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { captureStdout, exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { drain } from "../../tools/local/lambda.js";
import { sqsClient } from "../../shared/queue/tasks.js";
import { tick } from "../../shared/schedule/tick.js";
import { main } from "../../cli/main.js";
import { renderSource } from "../../shared/render/source.js";

const [k1, k2] = stackEnv().clusters;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let handler: Parameters<typeof drain>[2];

const add = (name: string, c: typeof k1, path: string, ns: string, ...extra: string[]) =>
  main(
    [
      "node",
      "converge",
      "cluster",
      "add",
      name,
      "--repo",
      repo.url,
      "--branch",
      "master",
      "--path",
      path,
      "--namespace",
      ns,
      "--kubeconfig",
      c!.kubeconfig,
      "--context",
      c!.context,
      "--sync",
      "apply",
      ...extra,
    ],
    () => {},
    () => {},
  );

before(async () => {
  iso = await isolated("sources");
  Object.assign(process.env, iso.env);
  repo = exampleRepo(`sources-${Date.now()}`);
  // a Kustomize app with a remote base, which Converge must refuse to fetch
  mkdirSync(join(repo.work, "remote-base"));
  writeFileSync(join(repo.work, "remote-base", "kustomization.yaml"), "resources:\n  - https://github.com/argoproj/argocd-example-apps//kustomize-guestbook?ref=master\n");
  repo.git("add", "remote-base");
  repo.git("commit", "-q", "-m", "remote base");
  repo.push();
  for (const [c, ns] of [
    [k1, "src-kg"],
    [k2, "src-ss"],
    [k1, "src-hg"],
  ] as const)
    kubectl(c!, "create", "namespace", ns);
  for (const [name, c, path, ns, ...extra] of [
    ["kustomize-guestbook", k1, "kustomize-guestbook", "src-kg"],
    ["sock-shop", k2, "sock-shop", "src-ss"],
    ["helm-guestbook", k1, "helm-guestbook", "src-hg", "--values", "values-production.yaml"],
    ["jsonnet", k1, "jsonnet-guestbook", "src-kg"],
    ["remote-base", k1, "remote-base", "src-kg"],
    ["helm-dependency", k1, "helm-dependency", "src-kg"],
  ] as const) {
    assert.equal(await add(name, c, path, ns, ...extra), 0, name);
  }
  handler = (await import("../../functions/reconcile/index.js")).handler as typeof handler;
});

test("Kustomize (with a base) and Helm (with values-production.yaml) sources reconcile to Synced; others fail clearly, nobody else affected", async () => {
  const t = await tick({ clusters: iso.services.clusters, queue: iso.services.queue! });
  assert.equal(t.enqueued, 6);
  const { result } = await captureStdout(() => drain(sqsClient(iso.services.config), iso.queueUrl, handler));
  assert.deepEqual(result, { received: 6, failed: 0 });
  const status = async (n: string) => (await iso.services.clusters.get(n))!.status;
  const kg = await status("kustomize-guestbook");
  assert.equal(kg.sync, "Synced", JSON.stringify(kg));
  assert.equal(kg.counts.resources, 2);
  assert.match(kubectl(k1!, "-n", "src-kg", "get", "deployment", "-o", "name"), /kustomize-guestbook-ui/, "the kustomization's namePrefix applied");
  const ss = await status("sock-shop");
  assert.equal(ss.sync, "Synced", JSON.stringify(ss));
  assert.equal(ss.counts.resources, 29);
  const hg = await status("helm-guestbook");
  assert.equal(hg.sync, "Synced", JSON.stringify(hg));
  assert.equal(hg.counts.resources, 2);
  const js = await status("jsonnet");
  assert.equal(js.sync, "Error");
  assert.match(js.message!, /unsupported source type: Jsonnet/);
  const rb = await status("remote-base");
  assert.equal(rb.sync, "Error");
  assert.match(rb.message!, /remote-base\/kustomization\.yaml:1: remote Kustomize resources are not rendered .*github\.com/);
  const hd = await status("helm-dependency");
  assert.equal(hd.sync, "Error");
  assert.match(hd.message!, /helm-dependency\/Chart\.yaml:1: helm failed: .*missing in charts\/ directory: wordpress/);
});

test("Kustomize and Helm sources render to exactly the objects kubectl kustomize and helm template produce", async () => {
  const { renderSource } = await import("../../shared/render/source.js");
  const { readTree } = await import("../../shared/reconcile/diff-cluster.js");
  const { parseAllDocuments } = await import("yaml");
  const { execFileSync } = await import("node:child_process");
  const tool = (args: string[], bin: string) =>
    parseAllDocuments(execFileSync(bin, args, { encoding: "utf8" }))
      .map((d) => d.toJS())
      .filter(Boolean);
  const cases: [string, string[], string, Parameters<typeof renderSource>[1]][] = [
    ["kustomize-guestbook", ["kustomize", join(repo.work, "kustomize-guestbook")], process.env.CONVERGE_KUBECTL!, { path: "" }],
    ["sock-shop", ["kustomize", join(repo.work, "sock-shop")], process.env.CONVERGE_KUBECTL!, { path: "" }],
    ["helm-guestbook", ["template", "helm-guestbook", join(repo.work, "helm-guestbook"), "--namespace", "prod"], process.env.CONVERGE_HELM!, { path: "", helm: { releaseName: "helm-guestbook" } }],
    [
      "helm-guestbook",
      ["template", "helm-guestbook", join(repo.work, "helm-guestbook"), "--namespace", "prod", "-f", join(repo.work, "helm-guestbook", "values-production.yaml")],
      process.env.CONVERGE_HELM!,
      { path: "", helm: { releaseName: "helm-guestbook", valueFiles: ["values-production.yaml"] } },
    ],
  ];
  for (const [dir, args, bin, spec] of cases) {
    const ours = await renderSource(readTree(join(repo.work, dir)), spec, { namespace: "prod" });
    assert.deepEqual(
      ours.objects.map((o) => o.object),
      tool(args, bin),
      `${dir} ${args.join(" ")}`,
    );
  }
});

test("directory include/exclude globs and inline Helm values", async () => {
  const { renderSource } = await import("../../shared/render/source.js");
  const { readTree } = await import("../../shared/reconcile/diff-cluster.js");
  const files = readTree(join(repo.work, "sock-shop", "base"));
  const names = async (spec: Partial<Parameters<typeof renderSource>[1]>) =>
    (await renderSource(files, { path: "", ...spec }, { namespace: "x" })).objects.map((o) => `${o.object.kind}/${o.object.metadata.name}`).sort();
  assert.deepEqual(await names({ include: "carts-*" }), ["Deployment/carts", "Deployment/carts-db", "Service/carts", "Service/carts-db"]);
  assert.equal((await names({ exclude: "*-svc.yaml" })).length, 15);
  const helm = await renderSource(readTree(join(repo.work, "helm-guestbook")), { path: "", helm: { releaseName: "hg", values: "replicaCount: 3\n" } }, { namespace: "x" });
  const dep = helm.objects.find((o) => o.object.kind === "Deployment")!.object as unknown as { spec: { replicas: number } };
  assert.equal(dep.spec.replicas, 3);
});

test("converge cluster update overrides the source and keeps the status", async () => {
  const before = (await iso.services.clusters.get("helm-guestbook"))!;
  let out = "";
  const code = await main(
    ["node", "converge", "cluster", "update", "helm-guestbook", "--type", "directory", "--interval", "10m"],
    (s) => (out += s),
    (s) => (out += s),
  );
  assert.equal(code, 0, out);
  const after = (await iso.services.clusters.get("helm-guestbook"))!;
  assert.equal(after.spec.source.type, "directory");
  assert.equal(after.spec.intervalSeconds, 600);
  assert.deepEqual(after.spec.source.helm, before.spec.source.helm, "other settings kept");
  assert.deepEqual(after.status, before.status);
  const bad = await main(
    ["node", "converge", "cluster", "update", "helm-guestbook", "--path", "../x"],
    () => {},
    () => {},
  );
  assert.equal(bad, 2);
  assert.equal((await iso.services.clusters.get("helm-guestbook"))!.spec.source.path, "helm-guestbook", "nothing written");
});

test("converge render prints what the reconcile renders, offline", async () => {
  let out = "";
  const code = await main(
    ["node", "converge", "render", join(repo.work, "kustomize-guestbook")],
    (s) => (out += `${s}\n`),
    () => {},
  );
  assert.equal(code, 0);
  assert.deepEqual(out.match(/^kind: \w+/gm)?.sort(), ["kind: Deployment", "kind: Service"]);
  assert.match(out, /name: kustomize-guestbook-ui/);
});

test("a Kustomize base climbing out of the repository is refused before kustomize runs", async () => {
  const files = [{ path: "apps/dev/kustomization.yaml", content: "resources:\n- ../../../../outside-base\n" }];
  await assert.rejects(
    renderSource(files, { path: "apps/dev", type: "kustomize" }, { namespace: "default" }),
    /apps\/dev\/kustomization\.yaml:1: .*\.\.\/\.\.\/\.\.\/\.\.\/outside-base \(leaves the repository\)/,
  );
  const inside = [
    { path: "apps/dev/kustomization.yaml", content: "resources:\n- ../../base\n" },
    { path: "base/kustomization.yaml", content: "resources:\n- /etc/passwd-dir\n" },
  ];
  await assert.rejects(renderSource(inside, { path: "apps/dev", type: "kustomize" }, { namespace: "default" }), /base\/kustomization\.yaml: \/etc\/passwd-dir \(leaves the repository\)/);
});
