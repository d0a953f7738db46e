/**
 * The reconcile's log lines keep every field they are given: Powertools Logger drops a field
 * named like one of its own keys (`message`, `level`, `timestamp`, `service`, ...) with a
 * warning, so the reason a sync failed was lost from the `sync finished` line (found by
 * `npm run chaos`, whose runs printed "The key "message" is a reserved key and will be
 * dropped"). Real Powertools Logger, a real kube-apiserver refusing an object, the real Git server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { Logger } from "@aws-lambda-powertools/logger";
import { captureStdout, exampleRepo, isolated, stackEnv } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";

test("a failed sync's reason is on its 'sync finished' log line, nothing dropped", async () => {
  const iso = await isolated("log-fields");
  const repo = exampleRepo(`log-fields-${Date.now()}`);
  mkdirSync(`${repo.work}/refused`, { recursive: true });
  // a name the API server refuses (422: not a DNS subdomain): the sync's one step fails with the server's reason
  writeFileSync(`${repo.work}/refused/cm.yaml`, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\ndata:\n  k: v\n");
  repo.git("add", "-A");
  repo.git("commit", "-qm", "a ConfigMap the API server refuses");
  repo.push();
  const k = stackEnv().clusters[0]!;
  await iso.services.clusters.add({
    name: "log-fields",
    source: { repoUrl: repo.url, branch: "master", path: "refused" },
    namespace: "log-fields",
    access: { type: "kubeconfig", kubeconfig: k.kubeconfig, context: k.context },
    intervalSeconds: 300,
    syncPolicy: "apply",
    syncOptions: { createNamespace: true },
  });
  const logger = new Logger({ serviceName: "converge-reconcile" });
  const { lines } = await captureStdout(() =>
    reconcileCluster(reconcileDeps(iso.services, { metrics: () => {}, log: logger }), { cluster: "log-fields", reason: "tick", enqueuedAt: new Date().toISOString() }),
  );
  const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const finished = logs.find((l) => l.message === "sync finished");
  assert.ok(finished, `a 'sync finished' line among ${lines.join("\n")}`);
  assert.equal(finished.phase, "Failed");
  assert.match(String(finished.detail), /Not_A_Valid_Name/);
});
