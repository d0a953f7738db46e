/**
 * Git access on a real smart-HTTP server: a private repository with an HTTPS token (from an
 * environment variable here, Secrets Manager in AWS) that is never stored or logged; tag and
 * commit pins; a tick that finds the branch head unchanged fetches nothing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { captureStdout, exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { startGitServer, type GitServer } from "../../tools/testbed/gitserver.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";
import { documentClient } from "../../shared/store/client.js";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const TOKEN = "ghp_converge_test_token_0123456789";
const [k1] = stackEnv().clusters;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let privateServer: GitServer;
let name: string;

const access = () => ({ type: "kubeconfig" as const, kubeconfig: k1!.kubeconfig, context: k1!.context });
const run = (cluster: string, revision?: string) =>
  reconcileCluster(reconcileDeps(iso.services, { metrics: () => {} }), { cluster, ...(revision ? { revision } : {}), reason: revision ? "push" : "tick", enqueuedAt: new Date().toISOString() });

before(async () => {
  iso = await isolated("gitaccess");
  name = `gitaccess-${Date.now()}`;
  repo = exampleRepo(name);
  repo.git("tag", "-a", "v1", "-m", "release v1", "HEAD~1");
  repo.git("push", "-q", "origin", "v1");
  privateServer = await startGitServer({ root: stackEnv().gitRoot, token: TOKEN });
  const url = privateServer.url(name);
  await iso.services.clusters.add({
    name: "private",
    source: { repoUrl: url, branch: "master", path: "guestbook", credentials: { tokenEnv: "CONVERGE_TEST_GIT_TOKEN" } },
    namespace: "default",
    access: access(),
    intervalSeconds: 300,
  });
  const tokenFile = join(stackEnv().gitRoot, "..", `token-${name}`);
  writeFileSync(tokenFile, `${TOKEN}\n`);
  await iso.services.clusters.add({
    name: "token-file",
    source: { repoUrl: url, branch: "master", path: "guestbook", credentials: { tokenFile } },
    namespace: "default",
    access: access(),
    intervalSeconds: 300,
  });
  await iso.services.clusters.add({ name: "no-token", source: { repoUrl: url, branch: "master", path: "guestbook" }, namespace: "default", access: access(), intervalSeconds: 300 });
  await iso.services.clusters.add({
    name: "unset-var",
    source: { repoUrl: url, branch: "master", path: "guestbook", credentials: { tokenEnv: "CONVERGE_TEST_UNSET" } },
    namespace: "default",
    access: access(),
    intervalSeconds: 300,
  });
  await iso.services.clusters.add({ name: "tag", source: { repoUrl: repo.url, branch: "master", ref: "v1", path: "guestbook" }, namespace: "default", access: access(), intervalSeconds: 300 });
  await iso.services.clusters.add({
    name: "sha",
    source: { repoUrl: repo.url, branch: "master", ref: repo.git("rev-parse", "HEAD~2"), path: "guestbook" },
    namespace: "default",
    access: access(),
    intervalSeconds: 300,
  });
  await iso.services.clusters.add({ name: "head", source: { repoUrl: repo.url, branch: "master", path: "guestbook" }, namespace: "default", access: access(), intervalSeconds: 300 });
});

after(async () => privateServer?.stop());

test("a private repository is read with the token; without it the cluster is Error; the token is never stored or logged", async () => {
  process.env.CONVERGE_TEST_GIT_TOKEN = TOKEN;
  const { result, lines } = await captureStdout(() => Promise.all([run("private"), run("no-token"), run("unset-var"), run("token-file")]));
  const [priv, none, unset, file] = result;
  assert.notEqual(priv!.status.sync, "Error", JSON.stringify(priv!.status));
  assert.notEqual(file!.status.sync, "Error", "token from a file (local mode)");
  assert.equal(priv!.status.revision, repo.git("rev-parse", "HEAD"));
  assert.equal(none!.status.sync, "Error");
  assert.match(none!.status.message!, /refused the credentials \(HTTP 401\)/);
  assert.equal(unset!.status.sync, "Error");
  assert.match(unset!.status.message!, /environment variable CONVERGE_TEST_UNSET \(the Git token\) is not set/);
  assert.ok(!lines.join("\n").includes(TOKEN), "not in logs");
  const items = await documentClient(iso.services.config).send(new ScanCommand({ TableName: iso.services.config.tables.clusters }));
  assert.ok(!JSON.stringify(items.Items).includes(TOKEN), "not in DynamoDB");
});

test("a tag (annotated, peeled) or a commit SHA pins the revision; a push of the branch does not move it", async () => {
  const tag = await run("tag", repo.git("rev-parse", "HEAD"));
  assert.equal(tag!.status.revision, repo.git("rev-parse", "HEAD~1"), "the tag's commit, not the pushed head");
  const sha = await run("sha");
  assert.equal(sha!.status.revision, repo.git("rev-parse", "HEAD~2"));
});

test("a tick that finds the branch head unchanged lists refs once and fetches nothing", async () => {
  await run("head");
  const before = iso.services.git.requests;
  const again = await run("head");
  assert.equal(again!.rendered, false);
  assert.equal(iso.services.git.requests - before, 1, "one ref listing, no fetch");
});
