/**
 * 100 clusters tracking the same repository, path and commit: one render and one snapshot
 * write, whichever reconciles first (a conditional claim decides); a revision that cannot be
 * rendered is rendered once too, and every cluster waiting for it gets the same Error at once.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";

const [k1] = stackEnv().clusters;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;

before(async () => {
  iso = await isolated("fanout");
  repo = exampleRepo(`fanout-${Date.now()}`);
});

async function fleet(prefix: string, n: number, path: string, revision: string) {
  for (let i = 0; i < n; i++) {
    await iso.services.clusters.add({
      name: `${prefix}-${i}`,
      source: { repoUrl: repo.url, branch: "master", path },
      namespace: `${prefix}-${i}`,
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
    });
  }
  const deps = reconcileDeps(iso.services, { metrics: () => {} });
  const t0 = Date.now();
  const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => reconcileCluster(deps, { cluster: `${prefix}-${i}`, revision, reason: "push", enqueuedAt: new Date().toISOString() })));
  return { outcomes: outcomes.map((o) => o!), ms: Date.now() - t0 };
}

test("100 clusters on one path and commit: one render, one snapshot write", async () => {
  const head = repo.git("rev-parse", "HEAD");
  const { outcomes, ms } = await fleet("same", 100, "guestbook", head);
  assert.equal(outcomes.filter((o) => o.rendered).length, 1, "rendered once");
  assert.equal(outcomes.filter((o) => o.snapshotWritten).length, 1, "written once");
  assert.equal(new Set(outcomes.map((o) => o.status.snapshotKey)).size, 1, "all share it");
  assert.ok(
    outcomes.every((o) => o.status.counts.resources === 2 && o.status.sync === "OutOfSync"),
    "each compared its own cluster (nothing applied: Missing)",
  );
  console.error(`[fanout] 100 reconciles in ${ms} ms`);
});

test("a revision that cannot be rendered is rendered once; every waiting cluster gets its Error", async () => {
  writeFileSync(join(repo.work, "guestbook", "broken.yaml"), "kind: ConfigMap\n  bad: [\n");
  repo.git("add", "guestbook/broken.yaml");
  repo.git("commit", "-q", "-m", "broken");
  const head = repo.push();
  const t0 = Date.now();
  const { outcomes } = await fleet("broken", 10, "guestbook", head);
  assert.ok(Date.now() - t0 < 20_000, "nobody waited for the 30 s claim timeout");
  assert.equal(outcomes.filter((o) => o.rendered).length, 0, "the failed render produced nothing");
  for (const o of outcomes) {
    assert.equal(o.status.sync, "Error");
    assert.match(o.status.message!, /^guestbook\/broken\.yaml:1:7: /);
    assert.equal(o.status.errorSource?.file, "guestbook/broken.yaml");
  }
});
