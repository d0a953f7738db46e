/**
 * A push picks only the clusters it concerns: clusters on plain folders (apps/a, apps/b) and on
 * two Kustomize overlays sharing the example repository's kustomize-guestbook base are
 * reconciled once against a real cluster, which records the inputs of their renders; then
 * the `byRepoWithInputs` index (ClusterStore.forEachTracking), `concerned()` and the changed
 * files Git gives for a real 25-commit push (GitSource.changedFiles, through the test bed's
 * Git server) decide which clusters a push enqueues.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { reconcileDeps } from "../../shared/services.js";
import { ClusterStore, type TrackedCluster } from "../../shared/store/clusters.js";
import { documentClient } from "../../shared/store/client.js";
import { GitSource } from "../../shared/git/source.js";
import type { PushReceived } from "../../shared/events/push.js";
import { gitChangedFiles } from "../../shared/webhook/changed.js";
import { concerned } from "../../shared/webhook/concerned.js";
import { receiveDelivery } from "../../shared/webhook/receive.js";
import { headersFor, pushFor } from "../support/webhooks.js";

const [k1] = stackEnv().clusters;
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
/** The commit every cluster was reconciled at. */
let base: string;

const configMap = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

function commit(files: Record<string, string>, message: string): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo.work, path)), { recursive: true });
    writeFileSync(join(repo.work, path), content);
  }
  repo.git("add", "-A");
  repo.git("commit", "-q", "-m", message);
}

/** Every cluster tracking the repository's master, with its inputs, as the webhook reads them. */
async function tracked(store = iso.services.clusters): Promise<TrackedCluster[]> {
  const all: TrackedCluster[] = [];
  await store.forEachTracking(repo.url, "master", (page) => void all.push(...page));
  return all;
}

/** The clusters of a fresh index read that a push changing `changed` concerns, sorted. */
async function picked(changed: string[] | undefined): Promise<string[]> {
  return concerned(await tracked(), changed).sort();
}

const clusters = { a: "apps/a", b: "apps/b", staging: "overlays/staging", prod: "overlays/prod", never: "apps/a" };

before(async () => {
  iso = await isolated("concerned");
  repo = exampleRepo(`concerned-${Date.now()}`);
  commit(
    {
      "apps/a/config.yaml": configMap("a", "1"),
      "apps/b/config.yaml": configMap("b", "1"),
      "overlays/staging/kustomization.yaml": "namePrefix: staging-\nresources:\n- ../../kustomize-guestbook\n",
      "overlays/prod/kustomization.yaml": "namePrefix: prod-\nresources:\n- ../../kustomize-guestbook\n",
    },
    "apps and overlays",
  );
  base = repo.push();
  for (const [name, path] of Object.entries(clusters)) {
    await iso.services.clusters.add({
      name,
      source: { repoUrl: repo.url, branch: "master", path },
      namespace: `concerned-${name}`,
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 300,
    });
  }
  const deps = reconcileDeps(iso.services, { metrics: () => {} });
  for (const name of ["a", "b", "staging", "prod"]) {
    const out = await reconcileCluster(deps, { cluster: name, revision: base, reason: "push", enqueuedAt: new Date().toISOString() });
    assert.equal(out?.status.sync, "OutOfSync", `${name} rendered and compared (nothing applied: Missing)`);
  }
});

test("a reconcile records its render's inputs on the snapshot and the cluster; the index returns them", async () => {
  const byName = Object.fromEntries((await tracked()).map((c) => [c.name, c.inputs]));
  assert.deepEqual(byName, {
    a: ["apps/a"],
    b: ["apps/b"],
    staging: ["kustomize-guestbook", "overlays/staging"],
    prod: ["kustomize-guestbook", "overlays/prod"],
    never: undefined,
  });
  const staging = await iso.services.clusters.get("staging");
  assert.deepEqual((await iso.services.snapshots.getDesired(staging!.status.snapshotKey!))?.inputs, ["kustomize-guestbook", "overlays/staging"]);
});

test("a second reconcile of the same inputs writes no inputs (the status write stays the only one)", async () => {
  const deps = reconcileDeps(iso.services, { metrics: () => {} });
  const writes: (string[] | undefined)[] = [];
  const clusters = iso.services.clusters;
  const counting = Object.assign(Object.create(clusters) as ClusterStore, {
    setInputs: (name: string, inputs: string[] | undefined) => (writes.push(inputs), clusters.setInputs(name, inputs)),
  });
  const out = await reconcileCluster({ ...deps, clusters: counting }, { cluster: "b", revision: base, reason: "tick", enqueuedAt: new Date().toISOString() });
  assert.equal(out?.rendered, false, "the stored snapshot was used");
  assert.deepEqual(writes, []);
});

test("a change only under apps/b concerns b (and the never-reconciled cluster), none of apps/a's", async () => {
  assert.deepEqual(await picked(["apps/b/config.yaml"]), ["b", "never"]);
});

test("a change to the shared base concerns both overlays", async () => {
  assert.deepEqual(await picked(["kustomize-guestbook/guestbook-ui-svc.yaml"]), ["never", "prod", "staging"]);
  assert.deepEqual(await picked(["overlays/prod/kustomization.yaml"]), ["never", "prod"]);
});

test("a 25-commit push whose last commits touch apps/b: Git's changed files concern b only (and the never-reconciled cluster)", async () => {
  for (let i = 1; i <= 23; i++) commit({ "notes/changelog.md": `${"entry\n".repeat(i)}` }, `notes ${i}`);
  commit({ "apps/b/config.yaml": configMap("b", "2") }, "b: value 2");
  commit({ "apps/b/extra.yaml": configMap("b-extra", "1") }, "b: extra");
  const head = repo.push();
  assert.equal(repo.git("rev-list", "--count", `${base}..${head}`), "25");
  // a fresh, shallow copy, as a webhook would start with
  const git = new GitSource(mkdtempSync(join(tmpdir(), "converge-changed-")));
  const changed = await git.changedFiles(repo.url, base, head, "master");
  const byGit = execFileSync("git", ["-C", repo.work, "diff", "--name-only", base, head], { encoding: "utf8" }).trim().split("\n").sort();
  assert.deepEqual(changed, byGit, "the same paths as git diff --name-only");
  assert.deepEqual(changed, ["apps/b/config.yaml", "apps/b/extra.yaml", "notes/changelog.md"]);
  assert.deepEqual(concerned(await tracked(), changed).sort(), ["b", "never"]);
});

/** The webhook's answer to `payload` sent as `host` (signed with its secret), with the Git diff of `./changed.ts` behind it. */
async function deliver(host: "github" | "bitbucket-cloud", payload: Record<string, unknown>, delivery = `concerned-${host}-${Date.now()}`): Promise<Record<string, unknown>> {
  const body = JSON.stringify(payload);
  const res = await receiveDelivery(
    { headers: headersFor(host, body, delivery, { secret: "s3cret" }), body },
    {
      announce: async (push) => void announced.push(push),
      secrets: { [host]: ["s3cret"] },
      clusters: iso.services.clusters,
      deliveries: iso.services.deliveries,
      queue: iso.services.queue!,
      changedFiles: gitChangedFiles(new GitSource(mkdtempSync(join(tmpdir(), "converge-webhook-"))), iso.services.clusters, iso.services.config.region),
    },
  );
  assert.ok([200, 202].includes(res.statusCode), JSON.stringify(res.body));
  return res.body;
}

/** The `Push Received` announcements the webhook made. */
const announced: PushReceived[] = [];

test("through the webhook: a GitHub push listing only apps/b files enqueues b (and the never-reconciled cluster)", async () => {
  const head = repo.git("rev-parse", "HEAD");
  const payload = pushFor("github", { repoUrl: repo.url, ref: "refs/heads/master", before: base, after: head, changed: ["apps/b/config.yaml", "apps/b/extra.yaml"] });
  const answer = await deliver("github", payload, "concerned-github-once");
  assert.deepEqual(answer.clusters, ["b", "never"]);
  assert.equal(answer.enqueued, 2);
  // Push Received once, naming the clusters enqueued; a replay of the delivery announces nothing
  assert.deepEqual(announced, [{ host: "github", repository: repo.url, branch: "master", revision: head, delivery: "concerned-github-once", clusters: ["b", "never"] }]);
  assert.equal((await deliver("github", payload, "concerned-github-once")).duplicate, true);
  assert.equal(announced.length, 1);
  announced.length = 0;
});

test("through the webhook: a Bitbucket push (no file lists) of the 25 commits is filtered by Git's diff", async () => {
  const head = repo.git("rev-parse", "HEAD");
  const answer = await deliver("bitbucket-cloud", pushFor("bitbucket-cloud", { repoUrl: repo.url, ref: "refs/heads/master", before: base, after: head }));
  assert.deepEqual(answer.clusters, ["b", "never"]);
});

test("changed files are unknown for a new branch or a `before` the repository no longer has: every cluster is concerned", async () => {
  const git = new GitSource(mkdtempSync(join(tmpdir(), "converge-changed-")));
  const head = repo.git("rev-parse", "HEAD");
  assert.equal(await git.changedFiles(repo.url, "0".repeat(40), head, "master"), undefined);
  assert.equal(await git.changedFiles(repo.url, "d".repeat(40), head, "master"), undefined);
  assert.deepEqual(await picked(undefined), ["a", "b", "never", "prod", "staging"]);
});

test("the never-reconciled cluster is always concerned, even by a push that changes nothing", async () => {
  assert.deepEqual(await picked([]), ["never"]);
  assert.deepEqual(await picked(["README.md"]), ["never"]);
});

test("a registration update drops the inputs: every push concerns the cluster until it renders again", async () => {
  await iso.services.clusters.update("a", (spec) => ({ ...spec, intervalSeconds: 600 }));
  assert.deepEqual(await picked(["apps/b/config.yaml"]), ["a", "b", "never"]);
});

test("a table without the byRepoWithInputs index (created before it, or while it backfills): names from byRepo, all concerned", async () => {
  const table = `${iso.env.CONVERGE_TABLE_PREFIX}clusters-before-inputs`;
  const db = documentClient(iso.services.config);
  const key = (name: string, type: "S" | "N", KeyType: "HASH" | "RANGE") => ({ def: { AttributeName: name, AttributeType: type }, key: { AttributeName: name, KeyType } });
  await db.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [key("name", "S", "HASH").def, key("repoKey", "S", "HASH").def],
      KeySchema: [key("name", "S", "HASH").key],
      GlobalSecondaryIndexes: [{ IndexName: "byRepo", KeySchema: [key("repoKey", "S", "HASH").key, key("name", "S", "RANGE").key], Projection: { ProjectionType: "KEYS_ONLY" } }],
    }),
  );
  const old = new ClusterStore(db, table);
  const spec = (await iso.services.clusters.get("b"))!.spec;
  await old.add(spec);
  assert.equal(await old.setInputs("b", ["apps/b"]), true);
  assert.deepEqual(await tracked(old), [{ name: "b" }]);
  assert.deepEqual(concerned(await tracked(old), ["apps/a/config.yaml"]), ["b"]);
});
