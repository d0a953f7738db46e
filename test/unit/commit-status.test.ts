/** Commit statuses from cluster statuses (per cluster and rollup), and which host API a source's statuses go to. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterCommitStatus, DESCRIPTION_MAX, rollupCommitStatus, statusDescription } from "../../shared/githost/commit-status.js";
import { hostApi } from "../../shared/githost/host.js";
import { initialStatus, type ClusterStatus } from "../../shared/cluster/status.js";
import { parseClusterSpec } from "../../shared/cluster/spec.js";
import { specFromOptions } from "../../cli/main.js";

const SHA = "0d521c6e049889134f3122eb32d7ed342f43ca0d";
const OLD = "5e2c6c8ea1a0c6cf6d5f4f9b19a1eb3f0a8d0b7e";
const counts = { resources: 3, synced: 3, modified: 0, missing: 0, extra: 0 };
const st = (s: Partial<ClusterStatus>): ClusterStatus => ({ sync: "Synced", revision: SHA, health: "Healthy", counts, lastReconcileAt: "2026-12-02T06:00:00Z", ...s });

test("per cluster: success when Synced and Healthy at the revision, context converge/<cluster>", () => {
  assert.deepEqual(clusterCommitStatus("eu-1", st({}), SHA), { context: "converge/eu-1", state: "success", description: "Synced and Healthy" });
  assert.equal(clusterCommitStatus("eu-1", st({ health: undefined }), SHA)?.state, "success", "no health-checked kinds");
  assert.equal(clusterCommitStatus("eu-1", st({ health: "Suspended" }), SHA)?.state, "success");
});

test("per cluster: pending while an operation syncs the revision, or while it becomes Healthy", () => {
  const syncing = clusterCommitStatus("eu-1", st({ sync: "OutOfSync", operation: { id: "op-1" } }), SHA);
  assert.deepEqual(syncing, { context: "converge/eu-1", state: "pending", description: "Syncing 0d521c6 to eu-1" });
  assert.deepEqual(clusterCommitStatus("eu-1", st({ health: "Progressing" }), SHA), { context: "converge/eu-1", state: "pending", description: "Synced, Progressing" });
  assert.equal(clusterCommitStatus("eu-1", st({ health: "Missing" }), SHA)?.state, "pending");
});

test("per cluster: failure with the reason — Error, Unknown, a failed sync, Degraded", () => {
  const err = clusterCommitStatus("eu-1", st({ sync: "Error", message: "guestbook/ui.yaml:3: bad indentation of a mapping entry" }), SHA);
  assert.deepEqual(err, { context: "converge/eu-1", state: "failure", description: "Error: guestbook/ui.yaml:3: bad indentation of a mapping entry" });
  const unknown = clusterCommitStatus("eu-1", st({ sync: "Unknown", revision: OLD, message: "connect ECONNREFUSED 127.0.0.1:6443" }), SHA);
  assert.equal(unknown?.state, "failure");
  assert.equal(unknown?.description, "Unknown: connect ECONNREFUSED 127.0.0.1:6443");
  const failed = clusterCommitStatus("eu-1", st({ sync: "OutOfSync", failedRevision: SHA, message: "Deployment default/web: spec.replicas: Invalid value: -1" }), SHA);
  assert.deepEqual(failed, { context: "converge/eu-1", state: "failure", description: "Sync of 0d521c6 failed: Deployment default/web: spec.replicas: Invalid value: -1" });
  assert.deepEqual(clusterCommitStatus("eu-1", st({ health: "Degraded" }), SHA), { context: "converge/eu-1", state: "failure", description: "Synced, Degraded" });
});

test("per cluster: nothing to say before the first reconcile, at another revision, or OutOfSync without an operation", () => {
  assert.equal(clusterCommitStatus("eu-1", initialStatus(), SHA), undefined);
  assert.equal(clusterCommitStatus("eu-1", st({ revision: OLD }), SHA), undefined);
  assert.equal(clusterCommitStatus("eu-1", st({ sync: "OutOfSync" }), SHA), undefined);
});

test("descriptions are cut to GitHub's 140 characters, whitespace folded", () => {
  const long = clusterCommitStatus("eu-1", st({ sync: "Error", message: `line one\n\n${"x".repeat(300)}` }), SHA)!;
  assert.equal(Array.from(long.description).length, DESCRIPTION_MAX);
  assert.ok(long.description.startsWith("Error: line one xxx"));
  assert.ok(long.description.endsWith("…"));
  assert.equal(statusDescription("é".repeat(140)), "é".repeat(140), "140 code points are kept whole");
});

test("rollup: success on all, pending while some sync, failure naming the failed clusters", () => {
  const names = Array.from({ length: 12 }, (_, i) => `c${i + 1}`);
  const allSynced = names.map((cluster) => ({ cluster, status: st({}) }));
  assert.deepEqual(rollupCommitStatus(allSynced, SHA), { context: "converge", state: "success", description: "Synced on 12 of 12 clusters" });
  const twoSyncing = allSynced.map((c, i) => (i < 2 ? { ...c, status: st({ sync: "OutOfSync", operation: { id: `op-${i}` } }) } : c));
  assert.deepEqual(rollupCommitStatus(twoSyncing, SHA), { context: "converge", state: "pending", description: "Synced on 10 of 12 clusters, 2 pending" });
  const oneFailed = twoSyncing.map((c, i) => (i === 5 ? { ...c, status: st({ health: "Degraded" }) } : c));
  assert.deepEqual(rollupCommitStatus(oneFailed, SHA), { context: "converge", state: "failure", description: "Failed on 1 of 12 clusters, synced on 9: c6" });
  const behind = allSynced.map((c, i) => (i === 0 ? { ...c, status: st({ revision: OLD }) } : c));
  assert.equal(rollupCommitStatus(behind, SHA).state, "pending", "a cluster not at the revision yet counts as pending");
  assert.deepEqual(rollupCommitStatus([], SHA), { context: "converge", state: "success", description: "Synced on 0 of 0 clusters" });
});

test("rollup description stays within 140 characters with many failed clusters", () => {
  const fleet = Array.from({ length: 40 }, (_, i) => ({ cluster: `prod-eu-west-${i}`, status: st({ sync: "Error", message: "x" }) }));
  const r = rollupCommitStatus(fleet, SHA);
  assert.equal(r.state, "failure");
  assert.ok(Array.from(r.description).length <= DESCRIPTION_MAX);
  assert.ok(r.description.startsWith("Failed on 40 of 40 clusters, synced on 0: prod-eu-west-0, "));
});

test("host API: GitHub for github.com, GitHub Enterprise and Gitea by setting, none otherwise", () => {
  assert.deepEqual(hostApi({ repoUrl: "https://github.com/argoproj/argocd-example-apps.git" }), { host: "github", baseUrl: "https://api.github.com", owner: "argoproj", repo: "argocd-example-apps" });
  assert.deepEqual(hostApi({ repoUrl: "git@github.com:Acme/Deploy.git" }), { host: "github", baseUrl: "https://api.github.com", owner: "Acme", repo: "Deploy" });
  assert.deepEqual(hostApi({ repoUrl: "https://ghe.acme.example/platform/deploy", statuses: { host: "github" } }), {
    host: "github",
    baseUrl: "https://ghe.acme.example/api/v3",
    owner: "platform",
    repo: "deploy",
  });
  assert.deepEqual(hostApi({ repoUrl: "http://127.0.0.1:3000/converge/deploy.git", statuses: { host: "gitea" } }), {
    host: "gitea",
    baseUrl: "http://127.0.0.1:3000/api/v1",
    owner: "converge",
    repo: "deploy",
  });
  assert.equal(hostApi({ repoUrl: "https://git.example.com/gitea/acme/deploy.git", statuses: { host: "gitea" } })?.baseUrl, "https://git.example.com/gitea/api/v1", "Gitea under a sub-path");
  assert.equal(
    hostApi({ repoUrl: "ssh://git@git.example.com:2222/acme/deploy.git", statuses: { host: "gitea", apiUrl: "https://git.example.com/api/v1/" } })?.baseUrl,
    "https://git.example.com/api/v1",
  );
  assert.equal(hostApi({ repoUrl: "https://gitlab.com/acme/deploy.git" }), undefined, "another host without the setting");
  assert.equal(hostApi({ repoUrl: "https://github.com/acme/deploy.git", statuses: { host: "none" } }), undefined, "turned off");
});

test("converge cluster add --status-host/--status-api-url set the source's statuses, validated by the spec", () => {
  const base = { repo: "https://git.example.com/acme/deploy.git", branch: "main", path: "", namespace: "default", kubeconfig: "/tmp/kubeconfig", interval: "5m", sync: "detect", recursive: true };
  const spec = parseClusterSpec(specFromOptions("eu-1", { ...base, statusHost: "gitea" }));
  assert.deepEqual(spec.source.statuses, { host: "gitea" });
  assert.equal(hostApi(spec.source)?.baseUrl, "https://git.example.com/api/v1");
  const ghe = parseClusterSpec(specFromOptions("eu-1", { ...base, statusHost: "github", statusApiUrl: "https://git.example.com/api/v3" }));
  assert.deepEqual(ghe.source.statuses, { host: "github", apiUrl: "https://git.example.com/api/v3" });
  assert.equal(parseClusterSpec(specFromOptions("eu-1", base)).source.statuses, undefined);
  assert.throws(() => specFromOptions("eu-1", { ...base, statusApiUrl: "https://git.example.com/api/v1" }), /--status-api-url needs --status-host github\|gitea/);
  assert.throws(() => parseClusterSpec(specFromOptions("eu-1", { ...base, statusHost: "gitea", statusApiUrl: "ftp://git.example.com" })), /source\.statuses\.apiUrl: apiUrl must be an http\(s\) URL/);
});
