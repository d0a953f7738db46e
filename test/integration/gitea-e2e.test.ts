/**
 * The whole loop through a real Gitea (tools/testbed/gitea.ts): a commit pushed to Gitea over
 * HTTP, Gitea's own signed webhook delivery to a local URL served by `receiveDelivery`, the
 * two clusters tracking the repository enqueued on the real FIFO queue, the reconcile function
 * syncing them on the test bed's two real kube-apiservers (resumes forwarded through the
 * resume function), and what the reconciles announce: commit statuses written back to Gitea
 * (`converge/<cluster>` and the `converge` rollup, read through Gitea's API: the two clusters
 * reconcile concurrently, so the rollup's last write must not be a stale pending one), the
 * sync history naming Gitea's delivery id, and the events log (`Push Received`, `Sync
 * Operation Succeeded` per cluster, one `Revision Converged`). A second change, then a push
 * that breaks the YAML: both clusters go Error and Gitea shows the commit failed.
 * App: test/fixtures/sync-app/app.yaml (a ConfigMap in wave -1 and a Deployment).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClusterStatus } from "../../shared/cluster/status.js";
import { addWebhook, combinedStatus, commitStatuses, createRepo, pushFiles, type Gitea, type GiteaStatus } from "../../tools/testbed/gitea.js";
import { runCli } from "../support/cli.js";
import { GITEA_START_TIMEOUT_MS, gitea, serveGiteaWebhook, stopGitea, type GiteaDelivery, type GiteaWebhook } from "../support/gitea.js";
import { isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { reconcileFleetUntil, type SqsHandler } from "../support/loop.js";

const SECRET = "gitea-e2e-webhook-secret";
const NAMESPACE = "gitea-e2e";
const APP_PATH = "deploy";
const app = readFileSync(join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "sync-app", "app.yaml"), "utf8");
const [k1, k2] = stackEnv().clusters;
/** Cluster name → the test bed cluster it is registered on. */
const CLUSTERS = { "gitea-eu": k1!, "gitea-us": k2! };
const NAMES = Object.keys(CLUSTERS).sort();

let g: Gitea;
let iso: Isolated;
let repo = "";
let repoUrl = "";
let hook: GiteaWebhook;
let eventsLog = "";
let reconcileFn: SqsHandler;
let resumeFn: SqsHandler;

before(
  async () => {
    assert.ok(k1 && k2, "the test bed runs two clusters");
    iso = await isolated("gitea-e2e");
    eventsLog = join(iso.env.CONVERGE_WORK_DIR!, "events.log");
    g = await gitea();
    // the reconcile function reads its configuration, the Git token and the events log from the environment when imported
    Object.assign(process.env, iso.env, { GITEA_E2E_TOKEN: g.token, CONVERGE_EVENTS_LOG: eventsLog });
    reconcileFn = (await import("../../functions/reconcile/index.js")).handler as unknown as SqsHandler;
    resumeFn = (await import("../../functions/resume/index.js")).handler as unknown as SqsHandler;
    repo = (await createRepo(g, "fleet-e2e")).full_name;
    repoUrl = g.cloneUrl(repo, false);
    for (const [name, k] of Object.entries(CLUSTERS)) {
      await iso.services.clusters.add({
        name,
        source: { repoUrl, branch: "main", path: APP_PATH, credentials: { username: g.username, tokenEnv: "GITEA_E2E_TOKEN" }, statuses: { host: "gitea" } },
        namespace: NAMESPACE,
        access: { type: "kubeconfig", kubeconfig: k.kubeconfig, context: k.context },
        intervalSeconds: 3600,
        syncPolicy: "apply",
        syncOptions: { createNamespace: true },
      });
    }
    hook = await serveGiteaWebhook(iso, SECRET);
    await addWebhook(g, repo, hook.url, SECRET);
  },
  { timeout: GITEA_START_TIMEOUT_MS },
);

after(async () => {
  await hook?.close();
  await stopGitea();
});

/** Pushes `files` to Gitea and waits for Gitea's push delivery of that commit to be answered. */
async function push(files: Record<string, string>, message: string): Promise<{ sha: string; answer: GiteaDelivery }> {
  const sha = await pushFiles(g, repo, files, { message });
  const answer = await waitFor(`Gitea's push delivery of ${sha.slice(0, 7)}`, () => hook.received.find((r) => r.event === "push" && r.body.revision === sha), 30_000);
  return { sha, answer };
}

/** Reconciles both clusters (the functions, on the real queues) until every status satisfies `done`. */
const reconcileUntil = (what: string, done: (s: ClusterStatus) => boolean) => reconcileFleetUntil(iso, { reconcile: reconcileFn, resume: resumeFn }, NAMES, what, done);

/** The events of the log about this test's repository. */
function events(): { "detail-type": string; detail: { cluster?: string; revision?: string; repository: string; delivery?: string; clusters?: string[] } }[] {
  if (!existsSync(eventsLog)) return [];
  return readFileSync(eventsLog, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.detail.repository === repoUrl);
}

/**
 * Gitea's combined status of `sha` (`/status`): its state, and context → [state, description]
 * of the latest status per context, checked against the newest of each context in the list of
 * every status written (`/statuses`).
 */
async function giteaStatuses(sha: string): Promise<{ state: string; contexts: Record<string, [string, string]> }> {
  const combined = await combinedStatus(g, repo, sha);
  const contexts = Object.fromEntries(combined.statuses.map((s) => [s.context, [s.status, s.description] as [string, string]]));
  const newest = new Map<string, GiteaStatus>();
  for (const s of await commitStatuses(g, repo, sha)) if ((newest.get(s.context)?.id ?? -1) < s.id) newest.set(s.context, s);
  assert.deepEqual(Object.fromEntries([...newest].map(([c, s]) => [c, [s.status, s.description]])), contexts, "the list and the combined status agree");
  return { state: combined.state, contexts };
}

const converged = (sha: string) => (s: ClusterStatus) => s.sync === "Synced" && s.health === "Healthy" && s.revision === sha && !s.operation;
const live = (name: string, kind: string, path: string) => kubectl(CLUSTERS[name as keyof typeof CLUSTERS], "-n", NAMESPACE, "get", kind, "-o", `jsonpath={${path}}`);

/** Pushes `files`, checks the delivery's answer, syncs both clusters and checks what Gitea, the history and the events say of the commit. */
async function pushAndConverge(files: Record<string, string>, message: string): Promise<string> {
  const { sha, answer } = await push(files, message);
  assert.equal(answer.statusCode, 202, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.clusters, NAMES, "the two clusters tracking the repository and branch, each once");
  assert.equal(answer.body.enqueued, 2);
  assert.equal(answer.body.host, "gitea");
  assert.match(answer.delivery ?? "", /^[0-9a-f-]{36}$/, "Gitea's X-Gitea-Delivery is a UUID");
  const statuses = await reconcileUntil(`both clusters Synced and Healthy at ${sha.slice(0, 7)}`, converged(sha));
  for (const [n, s] of Object.entries(statuses)) assert.equal(s.appliedRevision, sha, n);

  const gitea = await giteaStatuses(sha);
  assert.equal(gitea.state, "success");
  assert.deepEqual(gitea.contexts, {
    converge: ["success", "Synced on 2 of 2 clusters"],
    "converge/gitea-eu": ["success", "Synced and Healthy"],
    "converge/gitea-us": ["success", "Synced and Healthy"],
  });

  for (const n of NAMES) {
    const history = await runCli("sync", "history", "--cluster", n, "-o", "json");
    assert.equal(history.code, 0, history.err);
    const [op] = JSON.parse(history.out) as { revision: string; phase: string; trigger: unknown }[];
    assert.deepEqual([op!.revision, op!.phase, op!.trigger], [sha, "Succeeded", { type: "push", deliveryId: answer.delivery }], n);
  }
  const atSha = events().filter((e) => e.detail.revision === sha);
  const succeeded = atSha.filter((e) => e["detail-type"] === "Sync Operation Succeeded").map((e) => e.detail.cluster);
  assert.deepEqual(succeeded.sort(), NAMES);
  const pushed = atSha.filter((e) => e["detail-type"] === "Push Received");
  assert.deepEqual(
    pushed.map((e) => [e.detail.delivery, e.detail.clusters]),
    [[answer.delivery, NAMES]],
    "one Push Received naming Gitea's delivery and the clusters enqueued",
  );
  assert.equal(atSha.filter((e) => e["detail-type"] === "Revision Converged").length, 1, "one Revision Converged per commit");
  return sha;
}

test("Gitea's webhook for a push deploys the app to both clusters; Gitea shows the commit synced", { timeout: 150_000 }, async () => {
  await pushAndConverge({ [`${APP_PATH}/app.yaml`]: app }, "deploy the app");
  for (const n of NAMES) {
    assert.equal(live(n, "configmap/settings", ".data.mode"), "production", n);
    assert.equal(live(n, "deployment/web", ".spec.replicas"), "2", n);
  }
});

test("a changed replica count and ConfigMap value pushed to Gitea reach both clusters' live objects", { timeout: 150_000 }, async () => {
  const changed = app.replace("mode: production", "mode: staging").replace("replicas: 2", "replicas: 3");
  assert.notEqual(changed, app);
  await pushAndConverge({ [`${APP_PATH}/app.yaml`]: changed }, "staging, 3 replicas");
  for (const n of NAMES) {
    assert.equal(live(n, "configmap/settings", ".data.mode"), "staging", n);
    assert.equal(live(n, "deployment/web", ".spec.replicas"), "3", n);
  }
  assert.equal(hook.received.filter((r) => r.statusCode >= 400).length, 0, "every delivery was accepted");
});

test("a push that breaks the YAML puts both clusters in Error; Gitea shows the commit failed with the reason", { timeout: 150_000 }, async () => {
  const broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: [staging\n";
  const { sha, answer } = await push({ [`${APP_PATH}/app.yaml`]: broken }, "break the YAML");
  assert.deepEqual([answer.statusCode, answer.body.clusters], [202, NAMES]);
  const statuses = await reconcileUntil(`both clusters in Error at ${sha.slice(0, 7)}`, (s) => s.sync === "Error" && s.revision === sha);
  const reason = statuses["gitea-eu"]!.message ?? "";
  assert.match(reason, /app\.yaml/, "the reason names the file");

  const gitea = await giteaStatuses(sha);
  assert.equal(gitea.state, "failure");
  for (const n of NAMES) {
    const [state, description] = gitea.contexts[`converge/${n}`] ?? [];
    assert.equal(state, "failure", n);
    assert.ok(description?.startsWith("Error: ") && description.includes("app.yaml"), `${n}: ${description}`);
  }
  assert.deepEqual(gitea.contexts.converge, ["failure", "Failed on 2 of 2 clusters, synced on 0: gitea-eu, gitea-us"]);
  for (const n of NAMES) assert.equal(live(n, "configmap/settings", ".data.mode"), "staging", `${n}: the live state is left as it was`);
  assert.equal(events().filter((e) => e.detail.revision === sha && e["detail-type"] === "Revision Converged").length, 0);
});
