/**
 * Image update automation end to end, on real components only: a distribution `registry`
 * (tools/testbed/registry.ts) whose notifications go to the image-receive function (served as
 * a Function URL), images pushed with `crane`, the image queue on ElasticMQ read by the images
 * function, a real Gitea holding the app (podinfo's own Deployment, test/fixtures/images) and
 * the policy file, Gitea's webhook, the reconcile function syncing a real kube-apiserver.
 *
 * A push of `podinfo:6.7.1` becomes one commit in Gitea changing exactly the marked tag, then
 * Gitea's webhook, then a sync: the cluster runs 6.7.1, and the sync history holds the image
 * update and the sync. `7.0.0` under `~6.7` changes nothing; two images pushed together make
 * one commit; a commit landing on the branch between the update's read and its push is
 * rebased over; a branch that does not render is not written to; Amazon ECR's event (the AWS
 * documentation's example) goes the same way. With the policy file's `push`, the update goes to
 * a branch per policy and a pull request in Gitea; the merge rolls it out.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import type { ClusterStatus } from "../../shared/cluster/status.js";
import { imageUpdateDeps } from "../../shared/compose/images.js";
import { canonicalImage } from "../../shared/images/reference.js";
import { updateImages } from "../../shared/images/update.js";
import { sqsClient } from "../../shared/queue/tasks.js";
import type { ImageUpdateTrigger, OperationSummary } from "../../shared/store/operations.js";
import { handleQuery } from "../../shared/api/query.js";
import { trigger as pageTrigger } from "../../ui/src/format.js";
import { pollOnce, serveFunctionUrl } from "../../tools/local/lambda.js";
import { addWebhook, createRepo, pushFiles, type Gitea } from "../../tools/testbed/gitea.js";
import { pushImage, REGISTRY_START_TIMEOUT_MS, startRegistry, type Registry } from "../../tools/testbed/registry.js";
import { runCli } from "../support/cli.js";
import { GITEA_START_TIMEOUT_MS, gitea, serveGiteaWebhook, stopGitea, type GiteaWebhook } from "../support/gitea.js";
import { reconcileFleetUntil, type SqsHandler } from "../support/loop.js";
import { captureStdout, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures");
const SECRET = "images-e2e-webhook-secret";
const NOTIFY_TOKEN = "images-e2e-registry-token";
const NAMESPACE = "images-e2e";
const CLUSTER = "images-eu";
const ECR_IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-repository-name";
const [k1] = stackEnv().clusters;

let g: Gitea;
let iso: Isolated;
let reg: Registry;
let hook: GiteaWebhook;
let receiver: { url: string; close(): Promise<void> };
let reconcileFn: SqsHandler;
let resumeFn: SqsHandler;
let imagesFn: SqsHandler;
let repo = "";
let first = "";

/** podinfo's Deployment (stefanprodan/podinfo, test/fixtures/images) on the test registry, with a Flux marker. */
const podinfo = () =>
  readFileSync(join(fixtures, "images", "podinfo-deployment.yaml"), "utf8").replace(
    /image: ghcr\.io\/stefanprodan\/podinfo:[^\n]*/,
    `image: ${reg.host}/podinfo:6.7.0 # {"$imagepolicy": "flux-system:podinfo"}`,
  );

/** A worker Deployment of two containers: a cache on the test registry (Converge's tag marker) and an ECR image. */
const worker = () => `# the worker: its cache image follows the registry, its own image Amazon ECR
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector:
    matchLabels:
      app: worker
  template:
    metadata:
      labels:
        app: worker
    spec:
      containers:
        - name: worker
          image: '${ECR_IMAGE}:1.0.0' # {"$converge": "worker"}
        - name: cache
          image: "${reg.host}/cache:1.0.0" # {"$converge": "cache"}
`;

const policies = () => `# image policies of this repository (Converge; the fields of Flux's ImagePolicy)
policies:
  - name: podinfo
    namespace: flux-system
    image: ${reg.host}/podinfo
    semver:
      range: "~6.7"
  - name: cache
    image: ${reg.host}/cache
    semver:
      range: ">=1.0.0"
  - name: worker
    image: ${ECR_IMAGE}
    semver:
      range: 1.x
author:
  name: Converge Images
  email: images@converge.invalid
`;

before(
  async () => {
    assert.ok(k1, "the test bed runs a cluster");
    iso = await isolated("images");
    g = await gitea();
    // the functions read their configuration and the Git token from the environment when imported
    Object.assign(process.env, iso.env, { IMAGES_E2E_TOKEN: g.token, CONVERGE_REGISTRY_TOKEN: NOTIFY_TOKEN });
    reconcileFn = (await import("../../functions/reconcile/index.js")).handler as unknown as SqsHandler;
    resumeFn = (await import("../../functions/resume/index.js")).handler as unknown as SqsHandler;
    imagesFn = (await import("../../functions/images/index.js")).handler as unknown as SqsHandler;
    const receive = (await import("../../functions/image-receive/index.js")).handler as unknown as (e: APIGatewayProxyEventV2, c: Context) => Promise<{ statusCode: number }>;
    receiver = await serveFunctionUrl(receive);
    reg = await startRegistry({ notifyUrl: receiver.url, notifyToken: NOTIFY_TOKEN, log: (l) => console.error(`[registry] ${l}`) });
    repo = (await createRepo(g, "images-e2e")).full_name;
    hook = await serveGiteaWebhook(iso, SECRET);
    await addWebhook(g, repo, hook.url, SECRET);
    await iso.services.clusters.add({
      name: CLUSTER,
      source: { repoUrl: g.cloneUrl(repo, false), branch: "main", path: "deploy", credentials: { username: g.username, tokenEnv: "IMAGES_E2E_TOKEN" } },
      namespace: NAMESPACE,
      access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
      intervalSeconds: 3600,
      syncPolicy: "apply",
      syncOptions: { createNamespace: true },
      imageUpdate: {},
    });
    first = await pushFiles(g, repo, { "deploy/podinfo.yaml": podinfo(), "deploy/worker.yaml": worker(), ".converge/images.yaml": policies() }, { message: "the app and its image policies" });
    await reconcileUntil(`the first revision synced`, converged(first));
  },
  { timeout: Math.max(GITEA_START_TIMEOUT_MS, REGISTRY_START_TIMEOUT_MS) },
);

after(async () => {
  await reg?.stop();
  await receiver?.close();
  await hook?.close();
  await stopGitea();
});

const reconcileUntil = (what: string, done: (s: ClusterStatus) => boolean) => reconcileFleetUntil(iso, { reconcile: reconcileFn, resume: resumeFn }, [CLUSTER], what, done);
const converged = (sha: string) => (s: ClusterStatus) => s.sync === "Synced" && s.health === "Healthy" && s.revision === sha && !s.operation;
const liveImages = (name: string) => kubectl(k1!, "-n", NAMESPACE, "get", "deployment", name, "-o", "jsonpath={.spec.template.spec.containers[*].image}");

/** The head of `branch` (default `main`) in Gitea, and its message, author and parents. */
async function head(branch = "main"): Promise<{ sha: string; message: string; author: string; parents: string[] }> {
  const [c] = await g.api<{ sha: string; commit: { message: string; author: { name: string; email: string } }; parents: { sha: string }[] }[]>(
    "GET",
    `/repos/${repo}/commits?sha=${encodeURIComponent(branch)}&limit=1`,
  );
  return { sha: c!.sha, message: c!.commit.message, author: `${c!.commit.author.name} <${c!.commit.author.email}>`, parents: c!.parents.map((p) => p.sha) };
}

/** A file's text at `ref` in Gitea. */
async function fileAt(path: string, ref: string): Promise<string> {
  const f = await g.api<{ content: string }>("GET", `/repos/${repo}/contents/${path}?ref=${ref}`);
  return Buffer.from(f.content, "base64").toString("utf8");
}

/** Messages on the image queue (visible and in flight). */
async function queued(): Promise<number> {
  const out = await sqsClient(iso.services.config).send(
    new GetQueueAttributesCommand({ QueueUrl: iso.env.CONVERGE_IMAGE_QUEUE_URL!, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Waits for `n` triggers on the image queue, then runs the images function on one batch; returns its log lines. */
async function runImages(n: number): Promise<string[]> {
  await waitFor(`${n} image trigger(s) on the queue`, async () => ((await queued()) >= n ? true : undefined), 30_000);
  const { result, lines } = await captureStdout(() => pollOnce(sqsClient(iso.services.config), iso.env.CONVERGE_IMAGE_QUEUE_URL!, imagesFn, 1));
  assert.equal(result.received, n, "one batch holds the triggers");
  assert.equal(result.failed, 0, lines.join("\n"));
  return lines;
}

/** Waits for Gitea's push delivery of `sha` to be accepted, then syncs the cluster to it. */
async function deliveredAndSynced(sha: string): Promise<void> {
  const answer = await waitFor(`Gitea's push delivery of ${sha.slice(0, 7)}`, () => hook.received.find((r) => r.event === "push" && r.body.revision === sha), 30_000);
  assert.equal(answer.statusCode, 202, JSON.stringify(answer.body));
  await reconcileUntil(`${sha.slice(0, 7)} synced`, converged(sha));
}

test("a push of podinfo:6.7.1 to the registry becomes a commit changing exactly the marked tag, then a rollout", { timeout: 180_000 }, async () => {
  const before = await head();
  await pushImage(reg, "podinfo", "6.7.1");
  const logs = await runImages(1);
  const after = await head();
  assert.notEqual(after.sha, before.sha, `a commit was written: ${logs.join("\n")}`);
  assert.deepEqual(after.parents, [before.sha]);
  assert.equal(after.author, "Converge Images <images@converge.invalid>");
  assert.match(after.message, /^Update images: podinfo 6\.7\.0 → 6\.7\.1\n/);
  assert.match(after.message, new RegExp(`- ${reg.host.replace(/\./g, "\\.")}/podinfo: 6\\.7\\.0 → 6\\.7\\.1 \\(policy podinfo, deploy/podinfo\\.yaml:26\\)`));
  assert.match(after.message, /Triggered by a registry notification \(/);
  const old = await fileAt("deploy/podinfo.yaml", before.sha);
  assert.equal(await fileAt("deploy/podinfo.yaml", after.sha), old.replace(`${reg.host}/podinfo:6.7.0 #`, `${reg.host}/podinfo:6.7.1 #`), "only the marked tag changed");
  assert.equal(await fileAt("deploy/worker.yaml", after.sha), await fileAt("deploy/worker.yaml", before.sha));

  await deliveredAndSynced(after.sha);
  assert.equal(liveImages("podinfo"), `${reg.host}/podinfo:6.7.1`);
  const history = await runCli("sync", "history", "--cluster", CLUSTER, "-o", "json");
  assert.equal(history.code, 0, history.err);
  const [sync, update] = JSON.parse(history.out) as { revision: string; phase: string; trigger: { type: string } & Partial<ImageUpdateTrigger> }[];
  assert.deepEqual([sync!.revision, sync!.phase, sync!.trigger.type], [after.sha, "Succeeded", "push"], "the sync of the image commit, through Gitea's webhook");
  assert.deepEqual([update!.revision, update!.phase, update!.trigger.type, update!.trigger.source, update!.trigger.commit], [after.sha, "Succeeded", "image-update", "registry", after.sha]);
  assert.deepEqual(update!.trigger.images, [{ policy: "podinfo", image: canonicalImage(`${reg.host}/podinfo`), from: "6.7.0", to: "6.7.1", file: "deploy/podinfo.yaml", line: 26 }]);
  // what the web page reads and how it names it
  const deps = { clusters: iso.services.clusters, events: iso.services.events, operations: iso.services.operations };
  const page = (await handleQuery({ method: "GET", path: `/clusters/${CLUSTER}/operations`, query: {} }, deps)).body as { operations: OperationSummary[] };
  const shown = page.operations.find((op) => op.trigger.type === "image-update");
  assert.equal(shown && pageTrigger(shown.trigger), "image update (registry): podinfo 6.7.0 → 6.7.1");
  const table = await runCli("images", "history", "--cluster", CLUSTER);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, new RegExp(`${CLUSTER} +registry +podinfo 6\\.7\\.0 → 6\\.7\\.1 +${after.sha.slice(0, 12)}`));
});

test("7.0.0 under a ~6.7 policy, and 6.7.1 reported again, change nothing", { timeout: 120_000 }, async () => {
  const before = await head();
  await pushImage(reg, "podinfo", "7.0.0");
  await runImages(1);
  // the same image reported twice (SQS delivers at least once; a CI job pushing again)
  const again = JSON.stringify({ source: "registry", images: [{ image: canonicalImage(`${reg.host}/podinfo`), tag: "6.7.1" }] });
  for (let i = 0; i < 2; i++) await sqsClient(iso.services.config).send(new SendMessageCommand({ QueueUrl: iso.env.CONVERGE_IMAGE_QUEUE_URL!, MessageBody: again }));
  await runImages(2);
  assert.equal((await head()).sha, before.sha, "no commit");
  const check = await runCli("images", "check", "--cluster", CLUSTER);
  assert.equal(check.code, 0, check.err);
  assert.equal(check.out.trim(), "every marked image is at the tag its policy selects: nothing to change", "the dry run lists the registry's tags: 6.7.1 is the newest under ~6.7");
  assert.match(check.err, /warning: policy cache: the tags of 127\.0\.0\.1:\d+\/cache could not be listed: .*no such repository/, "cache has no tag in the registry yet");
  assert.match(check.err, /warning: policy worker: the tags of 123456789012\.dkr\.ecr\.us-west-2\.amazonaws\.com\/my-repository-name could not be listed/);
});

test("two images pushed together make one commit", { timeout: 180_000 }, async () => {
  const before = await head();
  await pushImage(reg, "podinfo", "6.7.2");
  await pushImage(reg, "cache", "1.1.0");
  await runImages(2);
  const after = await head();
  assert.deepEqual(after.parents, [before.sha], "one commit");
  assert.match(after.message, /^Update images: podinfo 6\.7\.1 → 6\.7\.2, cache 1\.0\.0 → 1\.1\.0\n/);
  assert.equal(await fileAt("deploy/worker.yaml", after.sha), worker().replace(`"${reg.host}/cache:1.0.0"`, `"${reg.host}/cache:1.1.0"`), "the double quotes and the comment kept");
  await deliveredAndSynced(after.sha);
  assert.equal(liveImages("podinfo"), `${reg.host}/podinfo:6.7.2`);
  assert.equal(liveImages("worker"), `${ECR_IMAGE}:1.0.0 ${reg.host}/cache:1.1.0`);
});

test("a commit landing on the branch between the update's read and its push is rebased over", { timeout: 120_000 }, async () => {
  const before = await head();
  const deps = imageUpdateDeps(iso.services);
  let concurrent = "";
  const git = {
    ...deps.git,
    resolveBranch: deps.git.resolveBranch.bind(deps.git),
    fetch: deps.git.fetch.bind(deps.git),
    listNames: deps.git.listNames.bind(deps.git),
    readFiles: deps.git.readFiles.bind(deps.git),
    push: deps.git.push.bind(deps.git),
    // the first commit is written while someone else pushes to the branch
    commit: async (...args: Parameters<typeof deps.git.commit>) => {
      if (!concurrent) concurrent = await pushFiles(g, repo, { "docs/NOTES.md": "a concurrent change\n" }, { message: "a concurrent change" });
      return deps.git.commit(...args);
    },
  };
  const [out] = await updateImages({ ...deps, git }, { source: "registry", images: [{ image: canonicalImage(`${reg.host}/podinfo`), tag: "6.7.3" }] });
  assert.ok(out?.commit, JSON.stringify(out));
  assert.equal(out.attempts, 2, "the first push was refused, the second went through");
  const after = await head();
  assert.equal(after.sha, out.commit);
  assert.deepEqual(after.parents, [concurrent], "on top of the concurrent commit");
  assert.notEqual(concurrent, before.sha);
  assert.equal(await fileAt("docs/NOTES.md", after.sha), "a concurrent change\n");
  assert.match(await fileAt("deploy/podinfo.yaml", after.sha), /podinfo:6\.7\.3 # \{"\$imagepolicy"/);
});

test("a branch that does not render is not written to", { timeout: 120_000 }, async () => {
  const broken = await pushFiles(g, repo, { "deploy/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\n" }, { message: "a broken file" });
  await pushImage(reg, "podinfo", "6.7.4");
  await runImages(1);
  assert.equal((await head()).sha, broken, "nothing written");
  const history = await runCli("images", "history", "--cluster", CLUSTER, "-o", "json");
  const [refused] = JSON.parse(history.out) as { revision: string; phase: string; message: string; trigger: ImageUpdateTrigger }[];
  assert.deepEqual([refused!.phase, refused!.revision, refused!.trigger.commit], ["Error", broken, undefined]);
  assert.match(refused!.message, /^podinfo 6\.7\.3 → 6\.7\.4: not written: images-eu does not render at the updated branch: deploy\/broken\.yaml:\d+/);
  const fixed = await pushFiles(g, repo, { "deploy/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fixed}\n" }, { message: "fixed" });
  await deliveredAndSynced(fixed);
});

test("Amazon ECR's push event goes the same way", { timeout: 180_000 }, async () => {
  const before = await head();
  const event = JSON.parse(readFileSync(join(fixtures, "registry", "ecr-image-action.json"), "utf8")) as { detail: Record<string, string> };
  event.detail["image-tag"] = "1.2.0"; // the documentation's example pushes `latest`, which no semver policy takes
  // what EventBridge's SQS target delivers: the event itself as the message body
  await sqsClient(iso.services.config).send(new SendMessageCommand({ QueueUrl: iso.env.CONVERGE_IMAGE_QUEUE_URL!, MessageBody: JSON.stringify(event) }));
  await runImages(1);
  const after = await head();
  assert.deepEqual(after.parents, [before.sha]);
  assert.match(after.message, /^Update images: my-repository-name 1\.0\.0 → 1\.2\.0\n[\s\S]*Triggered by an Amazon ECR push event \(13cde686-328b-6117-af20-0e5566167482\)/);
  assert.match(await fileAt("deploy/worker.yaml", after.sha), new RegExp(`image: '${ECR_IMAGE.replace(/\./g, "\\.")}:1\\.2\\.0' # \\{"\\$converge": "worker"\\}`));
  await deliveredAndSynced(after.sha);
  assert.match(liveImages("worker"), /my-repository-name:1\.2\.0/);
});

interface GiteaPull {
  number: number;
  title: string;
  body: string;
  html_url: string;
  head: { ref: string; sha: string };
  base: { ref: string };
}

test("with the policy file's push, an update is proposed in a pull request; merging it rolls out", { timeout: 300_000 }, async () => {
  const update = await runCli("cluster", "update", CLUSTER, "--status-host", "gitea");
  assert.equal(update.code, 0, update.err);
  const proposing = await pushFiles(g, repo, { ".converge/images.yaml": `${policies()}push:\n  branch: converge/{policy}\n` }, { message: "image updates as pull requests" });
  await deliveredAndSynced(proposing);
  const pulls = () => g.api<GiteaPull[]>("GET", `/repos/${repo}/pulls?state=open`);
  assert.deepEqual(await pulls(), []);

  await pushImage(reg, "cache", "1.2.0");
  await runImages(1);
  assert.equal((await head()).sha, proposing, "main is not written to");
  const proposed = await head("converge/cache");
  assert.deepEqual(proposed.parents, [proposing], "the push branch starts at main's head");
  assert.match(proposed.message, /^Update images: cache 1\.1\.0 → 1\.2\.0\n/);
  assert.equal(await fileAt("deploy/worker.yaml", proposed.sha), (await fileAt("deploy/worker.yaml", proposing)).replace("/cache:1.1.0", "/cache:1.2.0"), "only the marked tag");
  const [pr, ...others] = await pulls();
  assert.equal(others.length, 0);
  assert.deepEqual([pr!.title, pr!.head.ref, pr!.head.sha, pr!.base.ref], ["Update images: cache 1.1.0 → 1.2.0", "converge/cache", proposed.sha, "main"]);
  assert.match(pr!.body, /cache: 1\.1\.0 → 1\.2\.0 \(policy cache, deploy\/worker\.yaml:\d+\)[\s\S]*merging it rolls the images out to images-eu/);
  const history = JSON.parse((await runCli("images", "history", "--cluster", CLUSTER, "-o", "json")).out) as { revision: string; phase: string; message: string; trigger: ImageUpdateTrigger }[];
  assert.deepEqual(
    [history[0]!.phase, history[0]!.revision, history[0]!.trigger.branch, history[0]!.trigger.pullRequest],
    ["Succeeded", proposed.sha, "converge/cache", { number: pr!.number, url: pr!.html_url }],
  );
  assert.match(history[0]!.message, new RegExp(`^proposed ${proposed.sha.slice(0, 12)} in pull request #${pr!.number} \\(converge/cache\\): cache 1\\.1\\.0 → 1\\.2\\.0$`));

  // a newer tag joins the same branch and pull request; the same tag again changes nothing
  await pushImage(reg, "cache", "1.2.1");
  await runImages(1);
  const joined = await head("converge/cache");
  assert.deepEqual(joined.parents, [proposed.sha], "on top of the push branch");
  const again = JSON.stringify({ source: "registry", images: [{ image: canonicalImage(`${reg.host}/cache`), tag: "1.2.1" }] });
  await sqsClient(iso.services.config).send(new SendMessageCommand({ QueueUrl: iso.env.CONVERGE_IMAGE_QUEUE_URL!, MessageBody: again }));
  await runImages(1);
  assert.equal((await head("converge/cache")).sha, joined.sha, "no second commit");
  assert.deepEqual(
    (await pulls()).map((p) => [p.number, p.head.sha]),
    [[pr!.number, joined.sha]],
    "still one pull request",
  );
  assert.equal((await head()).sha, proposing);
  assert.match(liveImages("worker"), /\/cache:1\.1\.0$/, "nothing rolled out before the merge");

  // the merge is a push to main: Gitea's webhook, then the sync (Gitea answers 405 "try again
  // later" until it has checked the pull request's new head)
  const merge = () => g.api("POST", `/repos/${repo}/pulls/${pr!.number}/merge`, { Do: "merge" }).then(() => true);
  await waitFor(`pull request #${pr!.number} merged`, () => merge().catch((err: Error) => (/HTTP 405 .*try again later/.test(err.message) ? undefined : Promise.reject(err))), 30_000);
  const merged = await head();
  assert.deepEqual(merged.parents, [proposing, joined.sha]);
  await deliveredAndSynced(merged.sha);
  assert.match(liveImages("worker"), /\/cache:1\.2\.1$/);
});

test("converge cluster add / update: image updates are off unless --image-update or --image-policies", async () => {
  const add = await runCli("cluster", "add", "plain", "--repo", "https://git.example.com/team/apps.git", "--server", "https://127.0.0.1:1");
  assert.equal(add.code, 0, add.err);
  assert.doesNotMatch(add.out, /image updates/);
  assert.equal((await iso.services.clusters.get("plain"))!.spec.imageUpdate, undefined);
  const on = await runCli("cluster", "update", "plain", "--image-policies", "deploy/policies.yaml");
  assert.equal(on.code, 0, on.err);
  assert.match(on.out, /image updates from deploy\/policies\.yaml/);
  assert.deepEqual((await iso.services.clusters.get("plain"))!.spec.imageUpdate, { policyFile: "deploy/policies.yaml" });
  const both = await runCli("cluster", "update", "plain", "--no-image-update", "--image-policies", "x.yaml");
  assert.equal(both.code, 2);
  assert.match(both.err, /contradict/);
  assert.equal((await runCli("cluster", "update", "plain", "--no-image-update")).code, 0);
  assert.equal((await iso.services.clusters.get("plain"))!.spec.imageUpdate, undefined);
  const dflt = await runCli("cluster", "add", "auto", "--repo", "https://git.example.com/team/apps.git", "--server", "https://127.0.0.1:1", "--image-update");
  assert.equal(dflt.code, 0, dflt.err);
  assert.deepEqual((await iso.services.clusters.get("auto"))!.spec.imageUpdate, { policyFile: ".converge/images.yaml" });
  for (const name of ["plain", "auto"]) await iso.services.clusters.remove(name);
});
