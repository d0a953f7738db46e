/**
 * Bad sources (issue 4 hardening), each reconciled for real from the Git server: a clear Error
 * naming the cause, the last good snapshot kept, and a healthy cluster reconciled in the same
 * batch unaffected.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";

const [k1] = stackEnv().clusters;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let head: string;

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

before(async () => {
  iso = await isolated("hardening");
  repo = exampleRepo(`hardening-${Date.now()}`);
  const w = (p: string, content: string) => {
    mkdirSync(join(repo.work, p, ".."), { recursive: true });
    writeFileSync(join(repo.work, p), content);
  };
  w("h-symlink/cm.yaml", cm("a"));
  symlinkSync("../../../../etc/passwd", join(repo.work, "h-symlink", "escape.yaml"));
  w("h-inlink/cm.yaml", cm("b"));
  symlinkSync("../guestbook/guestbook-ui-svc.yaml", join(repo.work, "h-inlink", "svc.yaml"));
  w("h-huge/big.yaml", `${cm("big")}# ${"x".repeat(10 * 1024 * 1024 + 10)}\n`);
  // in two files: one file of 20,001 objects would first exceed the YAML node limit of a file (MAX_YAML_NODES)
  const items = Array.from({ length: 20_001 }, (_, i) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` } }));
  w("h-many/list.yaml", JSON.stringify({ apiVersion: "v1", kind: "List", items: items.slice(0, 10_000) }));
  w("h-many/list2.yaml", JSON.stringify({ apiVersion: "v1", kind: "List", items: items.slice(10_000) }));
  w(
    "h-bomb/bomb.yaml",
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
  );
  w("h-dup/a.yaml", cm("same"));
  w("h-dup/b.yaml", cm("same"));
  w("h-values/cm.yaml", cm("c"));
  w("h-values/values.yaml", "replicaCount: 2\nimage: {repository: nginx}\n");
  cpSync(join(repo.work, "kustomize-guestbook"), join(repo.work, "h-slow"), { recursive: true });
  w("h-loop/cm.yaml", cm("d"));
  symlinkSync("b.yaml", join(repo.work, "h-loop", "a.yaml"));
  symlinkSync("a.yaml", join(repo.work, "h-loop", "b.yaml"));
  w("h-self/cm.yaml", cm("e"));
  symlinkSync("self.yaml", join(repo.work, "h-self", "self.yaml"));
  w("h-deep/deep.yaml", `${cm("deep")}extra: ${"[".repeat(10_000)}x${"]".repeat(10_000)}\n`);
  w("h-helmloop/Chart.yaml", "apiVersion: v2\nname: helmloop\nversion: 0.1.0\n");
  w("h-helmloop/templates/loop.yaml", '{{- define "loop" -}}{{ include "loop" . }}{{- end -}}\n{{ include "loop" . }}\n');
  repo.git("add", "-A");
  repo.git("commit", "-q", "-m", "bad sources");
  head = repo.push();
  for (const path of ["guestbook", "h-symlink", "h-inlink", "h-huge", "h-many", "h-bomb", "h-dup", "h-values", "h-slow", "h-loop", "h-self", "h-deep", "h-helmloop"]) {
    await iso.services.clusters.add({
      name: path,
      source: { repoUrl: repo.url, branch: "master", path },
      namespace: "default",
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
    });
  }
});

const reconcile = (name: string) => reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: name, revision: head, reason: "push", enqueuedAt: new Date().toISOString() });

test("each bad source is Error with its cause, in one batch with a good cluster that is unaffected", async () => {
  const names = ["guestbook", "h-symlink", "h-inlink", "h-huge", "h-many", "h-bomb", "h-dup", "h-values"];
  const out = Object.fromEntries((await Promise.all(names.map(reconcile))).map((o) => [o!.cluster, o!.status]));
  assert.notEqual(out.guestbook!.sync, "Error", "the good cluster");
  const expect: Record<string, RegExp> = {
    "h-symlink": /^h-symlink\/escape\.yaml: symbolic link to \.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd leaves the repository$/,
    "h-huge": /^h-huge\/big\.yaml: file of \d+ bytes exceeds the 10485760-byte limit$/,
    "h-many": /produced 20001 objects, more than the limit of 20000/,
    "h-bomb": /^h-bomb\/bomb\.yaml:4:11: .*alias/i,
    "h-dup": /^h-dup\/b\.yaml:1: duplicate object ConfigMap/,
  };
  for (const [name, re] of Object.entries(expect)) {
    assert.equal(out[name]!.sync, "Error", name);
    assert.match(out[name]!.message!, re, name);
    assert.equal(out[name]!.snapshotKey, undefined, `${name}: no snapshot of a bad render`);
  }
  assert.notEqual(out["h-inlink"]!.sync, "Error", "a link inside the repository is skipped with a warning");
  assert.equal(out["h-inlink"]!.counts.resources, 1);
  assert.notEqual(out["h-values"]!.sync, "Error", "non-Kubernetes YAML is skipped with a warning, as Argo CD does");
  assert.equal(out["h-values"]!.counts.resources, 1);
});

test("a render over the time limit is Error, and the last good snapshot stays", async () => {
  const good = await reconcile("h-slow");
  assert.equal(good!.status.counts.resources, 2, JSON.stringify(good!.status));
  // the same source, now with a limit no kustomize run can meet; a new revision forces a render
  repo.git("commit", "-q", "--allow-empty", "-m", "again");
  head = repo.push();
  process.env.CONVERGE_RENDER_TIMEOUT_MS = "1";
  try {
    const slow = await reconcile("h-slow");
    assert.equal(slow!.status.sync, "Error");
    assert.match(slow!.status.message!, /^h-slow\/kustomization\.yaml:1: kustomize render exceeded 0\.001 s$/);
    assert.equal(slow!.status.snapshotKey, good!.status.snapshotKey, "last good snapshot kept");
  } finally {
    delete process.env.CONVERGE_RENDER_TIMEOUT_MS;
  }
});

test("a path with .. or an absolute path is refused at registration", async () => {
  for (const path of ["../etc", "apps/../../x", "/etc"]) {
    await assert.rejects(
      iso.services.clusters.add({
        name: "bad-path",
        source: { repoUrl: repo.url, branch: "master", path },
        namespace: "default",
        access: { type: "kubeconfig", kubeconfig: "/k" },
        intervalSeconds: 300,
      }),
      /path must/,
    );
  }
  assert.equal(await iso.services.clusters.get("bad-path"), undefined);
});

test("link loops, absurd nesting and a self-including Helm template are Error with a bounded message naming the cause", async () => {
  const names = ["h-loop", "h-self", "h-deep", "h-helmloop"];
  const out = Object.fromEntries((await Promise.all(names.map(reconcile))).map((o) => [o!.cluster, o!.status]));
  const expect: Record<string, RegExp> = {
    "h-loop": /^h-loop\/a\.yaml: symbolic link loop: h-loop\/a\.yaml -> h-loop\/b\.yaml -> h-loop\/a\.yaml$/,
    "h-self": /^h-self\/self\.yaml: symbolic link loop: h-self\/self\.yaml -> h-self\/self\.yaml$/,
    "h-deep": /^h-deep\/deep\.yaml:5:\d+: nested too deeply to read/,
    "h-helmloop": /^h-helmloop\/Chart\.yaml:1: helm failed: Error: template: .* … .*nested reference name: loop/,
  };
  for (const [name, re] of Object.entries(expect)) {
    assert.equal(out[name]!.sync, "Error", name);
    assert.match(out[name]!.message!, re, name);
    assert.ok(out[name]!.message!.length <= 1200, `${name}: message of ${out[name]!.message!.length} characters`);
  }
});
