/**
 * The keep-mode local control plane (tools/local/control-plane.ts, `npm run demo -- --keep`)
 * in this process on the test bed, with nothing else driving it: a cluster registered with the
 * CLI is synced by the tick and the queue worker; a `git push` through the real Git server runs
 * the post-receive hook, whose signed GitHub push reaches the webhook URL and syncs the pushed
 * commit (an operation triggered by `push`, before the cluster's interval elapses); a deleted
 * Deployment is recreated by self-heal; `stop()` ends it all and the hook then reports that the
 * webhook did not answer without failing the push.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { exampleRepo, isolated, kubectl, stackEnv, type Isolated } from "../support/stack.js";
import { startControlPlane, type LocalControlPlane } from "../../tools/local/control-plane.js";
import type { OperationSummary } from "../../shared/store/operations.js";
import { main } from "../../cli/main.js";
import { waitFor as waitUntil } from "../support/wait.js";

const SECRET = "local-keep-secret";
const NAME = "keep-gb";
const NS = "keep-gb";
const stack = stackEnv();
const [k1] = stack.clusters;
const run = promisify(execFile);
const events: string[] = [];
let iso: Isolated;
let repo: ReturnType<typeof exampleRepo>;
let plane: LocalControlPlane;

/** Polls `check` until it returns a value; a timeout lists the events seen. */
const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number) => waitUntil(what, check, timeoutMs, { context: () => `events:\n${events.join("\n")}` });

/** Waits for an event line (the watcher reports a reconcile once its status is written, just after its operation). */
const eventLine = (match: (line: string) => boolean) => waitFor("an event line", async () => events.find(match), 5_000);

const finished = (since: string, match: (op: OperationSummary) => boolean) => async () =>
  (await iso.services.operations.summaries(NAME, { since, limit: 20 })).operations.find((op) => op.finishedAt && match(op));

/** Commits a change of the guestbook Deployment and pushes it asynchronously (the hook calls the webhook served by this process). */
async function commitAndPush(from: string, to: string): Promise<{ sha: string; output: string }> {
  const file = join(repo.work, "guestbook", "guestbook-ui-deployment.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace(from, to));
  repo.git("commit", "-q", "-am", `guestbook: ${to}`);
  const { stdout, stderr } = await run("git", ["-C", repo.work, "push", "origin", "HEAD:master"], { encoding: "utf8" });
  return { sha: repo.git("rev-parse", "HEAD"), output: stdout + stderr };
}

const replicas = () => kubectl(k1!, "-n", NS, "get", "deployment", "guestbook-ui", "-o", "jsonpath={.spec.replicas}");

before(async () => {
  iso = await isolated("keep");
  // the functions' JSON logs and EMF documents would interleave with the test report
  Object.assign(process.env, iso.env, { CONVERGE_WEBHOOK_SECRET: SECRET, POWERTOOLS_LOG_LEVEL: "ERROR", POWERTOOLS_METRICS_DISABLED: "true" });
  const name = `keep-${Date.now()}`;
  repo = exampleRepo(name);
  plane = await startControlPlane({ tickMs: 500, hooks: [{ dir: join(stack.gitRoot, `${name}.git`), url: repo.url }], onEvent: (line) => events.push(line) });
});

after(async () => {
  await plane?.stop();
});

test("a cluster registered with the CLI is synced by the running tick and worker alone", async () => {
  const since = new Date().toISOString();
  const code = await main(
    [
      "node",
      "converge",
      "cluster",
      "add",
      NAME,
      "--repo",
      repo.url,
      "--branch",
      "master",
      "--path",
      "guestbook",
      "--namespace",
      NS,
      "--kubeconfig",
      k1!.kubeconfig,
      "--context",
      k1!.context,
      "--interval",
      "30s",
      "--sync",
      "apply",
      "--self-heal",
      "--sync-option",
      "CreateNamespace=true",
    ],
    () => {},
    () => {},
  );
  assert.equal(code, 0);
  const op = await waitFor(
    "the first sync",
    finished(since, () => true),
    30_000,
  );
  assert.equal(op.phase, "Succeeded", op.message);
  assert.equal(op.trigger.type, "tick");
  assert.equal(replicas(), "1");
  assert.ok(
    events.some((l) => l.includes(`cluster ${NAME} registered`)),
    events.join("\n"),
  );
  await eventLine((l) => l.includes(`operation ${op.id} of ${NAME} (tick)`) && l.includes("Succeeded"));
});

test("a git push to the Git server delivers a signed webhook through the post-receive hook and the pushed commit syncs", async () => {
  const since = new Date().toISOString();
  const t0 = Date.now();
  const { sha, output } = await commitAndPush("replicas: 1", "replicas: 2");
  assert.match(output, new RegExp(`remote: converge: push refs/heads/master ${sha.slice(0, 12)} -> http://127\\.0\\.0\\.1:\\d+/ 202, 1 cluster\\(s\\) enqueued: ${NAME}`));
  const op = await waitFor(
    `the sync of ${sha}`,
    finished(since, (o) => o.revision === sha),
    25_000,
  );
  assert.equal(op.phase, "Succeeded", op.message);
  assert.equal(op.trigger.type, "push", "synced by the webhook's message, not by a tick");
  assert.ok((op.trigger as { deliveryId?: string }).deliveryId, "the operation names the delivery");
  assert.ok(Date.now() - t0 < 25_000, "well before the 30 s interval");
  assert.equal(replicas(), "2");
  assert.ok(
    events.some((l) => l.includes(`push master ${sha.slice(0, 12)} received -> 202, 1 cluster(s) enqueued: ${NAME}`)),
    events.join("\n"),
  );
  await eventLine((l) => l.includes(`reconciled ${NAME}: Synced at ${sha.slice(0, 12)}`));
});

test("a Deployment deleted in the cluster is recreated by self-heal at the next reconcile, with no command", async () => {
  const since = new Date().toISOString();
  kubectl(k1!, "-n", NS, "delete", "deployment", "guestbook-ui");
  const op = await waitFor(
    "self-heal",
    finished(since, (o) => o.trigger.type === "self-heal"),
    75_000,
  );
  assert.equal(op.phase, "Succeeded", op.message);
  assert.equal(replicas(), "2", "recreated at Git's revision");
  const status = await waitFor(
    "the healed status",
    async () => {
      const s = (await iso.services.clusters.get(NAME))?.status;
      return s && (s.lastReconcileAt ?? "") >= op.finishedAt! ? s : undefined;
    },
    10_000,
  );
  assert.equal(status.sync, "Synced");
});

test("stop() ends the loops and closes the webhook URL; a later push still succeeds and says the webhook did not answer", async () => {
  const t0 = Date.now();
  await plane.stop();
  assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms`);
  await assert.rejects(fetch(plane.webhookUrl, { method: "POST", body: "{}" }));
  const count = events.length;
  const { output } = await commitAndPush("replicas: 2", "replicas: 3");
  assert.match(output, /remote: converge: the webhook http:\/\/127\.0\.0\.1:\d+\/ did not answer/);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(events.length, count, "no event after stop");
  assert.equal(await iso.queueDepth(), 0, "nothing enqueued");
});
