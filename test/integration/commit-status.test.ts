/**
 * Commit statuses written through the CommitStatusPort (shared/githost/statuses.ts, GitHub's
 * call through @octokit/request) to the test bed's real Gitea, on a commit pushed over HTTP,
 * and read back through Gitea's API: the statuses of the commit and its combined status.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SourceSchema } from "../../shared/cluster/spec.js";
import type { ClusterStatus } from "../../shared/cluster/status.js";
import { clusterCommitStatus, rollupCommitStatus, type CommitStatus } from "../../shared/githost/commit-status.js";
import { createCommitStatusPort } from "../../shared/githost/statuses.js";
import { combinedStatus, commitStatuses, createRepo, pushFiles, type Gitea } from "../../tools/testbed/gitea.js";
import { GITEA_START_TIMEOUT_MS, gitea, stopGitea } from "../support/gitea.js";

let g: Gitea;
let repo = "";
let sha = "";
const counts = { resources: 1, synced: 1, modified: 0, missing: 0, extra: 0 };
const at = (s: Partial<ClusterStatus>): ClusterStatus => ({ sync: "Synced", revision: sha, health: "Healthy", counts, lastReconcileAt: new Date().toISOString(), ...s });

before(
  async () => {
    g = await gitea();
    repo = (await createRepo(g, "fleet-statuses")).full_name;
    sha = await pushFiles(g, repo, { "clusters/eu-1/app.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  replicas: "2"\n' });
  },
  { timeout: GITEA_START_TIMEOUT_MS },
);

after(() => stopGitea());

const source = () => SourceSchema.parse({ repoUrl: g.cloneUrl(repo, false), branch: "main", path: "clusters/eu-1", credentials: { tokenEnv: "GITEA_TOKEN" }, statuses: { host: "gitea" } });
const port = (token: string) => createCommitStatusPort({ region: "us-east-1", env: { GITEA_TOKEN: token } });

test("pending, then success and failure per cluster, then the rollup: read back as Gitea's statuses and combined status", async () => {
  const p = port(g.token);
  const pending = clusterCommitStatus("eu-1", at({ sync: "OutOfSync", operation: { id: "op-1" } }), sha)!;
  await p.write(source(), sha, { ...pending, targetUrl: "https://converge.example/clusters/eu-1" });
  let list = await commitStatuses(g, repo, sha);
  assert.deepEqual(
    list.map((s) => [s.context, s.status, s.description, s.target_url]),
    [["converge/eu-1", "pending", `Syncing ${sha.slice(0, 7)} to eu-1`, "https://converge.example/clusters/eu-1"]],
  );

  const fleet = [
    { cluster: "eu-1", status: at({}) },
    { cluster: "eu-2", status: at({ sync: "OutOfSync", failedRevision: sha, message: "ConfigMap default/app: admission webhook denied the request" }) },
  ];
  const written: CommitStatus[] = [...fleet.map((c) => clusterCommitStatus(c.cluster, c.status, sha)!), rollupCommitStatus(fleet, sha)];
  for (const s of written) await p.write(source(), sha, s);

  list = await commitStatuses(g, repo, sha);
  assert.equal(list.length, 4, "every write is kept, newest first");
  const combined = await combinedStatus(g, repo, sha);
  assert.equal(combined.sha, sha);
  assert.equal(combined.state, "failure", "the worst of the latest status per context");
  assert.deepEqual(combined.statuses.map((s) => [s.context, s.status, s.description]).sort(), [
    ["converge", "failure", "Failed on 1 of 2 clusters, synced on 1: eu-2"],
    ["converge/eu-1", "success", "Synced and Healthy"],
    ["converge/eu-2", "failure", `Sync of ${sha.slice(0, 7)} failed: ConfigMap default/app: admission webhook denied the request`],
  ]);
});

test("the rollup turns success when every cluster is Synced and Healthy; a 140-character description arrives whole", async () => {
  const p = port(g.token);
  const fleet = ["eu-1", "eu-2"].map((cluster) => ({ cluster, status: at({}) }));
  for (const c of fleet) await p.write(source(), sha, clusterCommitStatus(c.cluster, c.status, sha)!);
  await p.write(source(), sha, rollupCommitStatus(fleet, sha));
  const longest = clusterCommitStatus("eu-3", at({ sync: "Error", message: "x".repeat(400) }), sha)!;
  await p.write(source(), sha, longest);
  const combined = await combinedStatus(g, repo, sha);
  const byContext = Object.fromEntries(combined.statuses.map((s) => [s.context, s]));
  assert.equal(byContext.converge?.status, "success");
  assert.equal(byContext.converge?.description, "Synced on 2 of 2 clusters");
  assert.equal(byContext["converge/eu-3"]?.description, longest.description);
  assert.equal(Array.from(longest.description).length, 140);
});

test("a failed write throws a clear error: bad token, unknown commit, no host API", async () => {
  const status = clusterCommitStatus("eu-1", at({}), sha)!;
  await assert.rejects(port("not-a-token").write(source(), sha, status), (err: Error) => {
    assert.match(err.message, new RegExp(`^commit status converge/eu-1 on ${repo}@${sha.slice(0, 7)} via gitea http://127\\.0\\.0\\.1:\\d+/api/v1 failed: HTTP 401`));
    return true;
  });
  const missing = "0".repeat(40);
  await assert.rejects(port(g.token).write(source(), missing, status), /commit status converge\/eu-1 on .*@0000000 via gitea .* failed: HTTP (404|422|500)/);
  const unknownHost = SourceSchema.parse({ repoUrl: "https://git.example.com/acme/deploy.git", branch: "main", path: "", credentials: { tokenEnv: "GITEA_TOKEN" } });
  await assert.rejects(port(g.token).write(unknownHost, sha, status), /no host API for https:\/\/git\.example\.com\/acme\/deploy\.git .*--status-host/);
  await assert.rejects(port("").write(source(), sha, status), /environment variable GITEA_TOKEN \(the Git token\) is not set/);
});
