/**
 * The read budget and the fetch bound, reconciled for real from the Git server: a source that
 * would read more than MAX_SOURCE_FILES files (a directory, a Helm chart, a Kustomize overlay
 * on a base that large) or more than MAX_SOURCE_BYTES bytes is Error naming the source and the
 * limit, within seconds; a Kustomize overlay in the same repository reads only its inputs and
 * renders; a fetch whose pack holds more objects than the fetch bound is Error before the
 * objects are received, and the next fetch within the bound succeeds.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";
import { MAX_SOURCE_BYTES, MAX_SOURCE_FILES } from "../../shared/render/budget.js";
import type { SourceType } from "../../shared/render/source.js";

const [k1] = stackEnv().clusters;
/** Longest a refused source may take to reconcile, ms: seconds, well within the 30 s render limit. */
const FAST_MS = 20_000;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let head: string;

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

before(async () => {
  iso = await isolated("budget");
  repo = exampleRepo(`budget-${Date.now()}`);
  const w = (p: string, content: string) => {
    mkdirSync(join(repo.work, p, ".."), { recursive: true });
    writeFileSync(join(repo.work, p), content);
  };
  for (let i = 0; i < MAX_SOURCE_FILES; i++) w(`big/d${Math.floor(i / 1000)}/f${i}.yaml`, cm(`c${i}`));
  w("big/Chart.yaml", "apiVersion: v2\nname: big\nversion: 0.1.0\n");
  const six = `${cm("six")}# ${"x".repeat(6 * 1024 * 1024)}\n`;
  w("bytes/a.yaml", six);
  w("bytes/b.yaml", six.replace("six", "seven"));
  w("k-big/kustomization.yaml", "resources:\n- ../big\n");
  w("k-good/kustomization.yaml", "resources:\n- ../kustomize-guestbook\nnamePrefix: good-\n");
  repo.git("add", "-A");
  repo.git("-c", "gc.auto=0", "-c", "maintenance.auto=false", "commit", "-q", "-m", "sources over the read budget"); // no background gc left writing when the test bed removes the clone
  head = repo.push();
  const clusters: [string, string, SourceType?][] = [
    ["b-dir", "big", "directory"],
    ["b-helm", "big"],
    ["b-kust", "k-big"],
    ["b-bytes", "bytes"],
    ["k-good", "k-good"],
  ];
  for (const [name, path, type] of clusters) {
    await iso.services.clusters.add({
      name,
      source: { repoUrl: repo.url, branch: "master", path, ...(type ? { type } : {}) },
      namespace: "default",
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
    });
  }
});

/** Reconciles `name` at the pushed head: its status and how long it took. */
async function reconcile(name: string) {
  const t = Date.now();
  const out = await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster: name, revision: head, reason: "push", enqueuedAt: new Date().toISOString() });
  return { status: out!.status, ms: Date.now() - t };
}

test("a fetch over the fetch bound is Error naming the repository and the limit, before the objects are received; within the bound it succeeds", async () => {
  process.env.CONVERGE_MAX_FETCH_OBJECTS = "1000";
  try {
    const refused = await reconcile("k-good");
    assert.equal(refused.status.sync, "Error");
    assert.match(
      refused.status.message!,
      new RegExp(`^repository ${repo.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: the fetch would bring \\d+ objects \\(files and folders\\), more than the limit of 1000$`),
    );
    assert.ok(refused.ms < FAST_MS, `refused in ${refused.ms} ms`);
  } finally {
    delete process.env.CONVERGE_MAX_FETCH_OBJECTS;
  }
  const good = await reconcile("k-good");
  assert.notEqual(good.status.sync, "Error", good.status.message);
  assert.equal(good.status.counts.resources, 2, "the overlay renders from its inputs alone, the 10,000 files beside it unread");
});

test("sources over the read budget are Error naming the source and the limit, within seconds, no snapshot written", async () => {
  const expect: Record<string, RegExp> = {
    "b-dir": new RegExp(`^big:1: ${MAX_SOURCE_FILES + 1} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source$`),
    "b-helm": new RegExp(`^big/Chart\\.yaml:1: ${MAX_SOURCE_FILES + 1} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source$`),
    "b-kust": new RegExp(`^k-big/kustomization\\.yaml:1: ${MAX_SOURCE_FILES + 2} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source$`),
    "b-bytes": new RegExp(`^bytes:1: the files to read exceed the limit of ${MAX_SOURCE_BYTES} bytes per source \\(\\d+ bytes with bytes/b\\.yaml\\)$`),
  };
  for (const [name, re] of Object.entries(expect)) {
    const { status, ms } = await reconcile(name);
    assert.equal(status.sync, "Error", name);
    assert.match(status.message!, re, name);
    assert.equal(status.snapshotKey, undefined, `${name}: no snapshot of a refused render`);
    assert.ok(ms < FAST_MS, `${name}: refused in ${ms} ms`);
  }
});
