/**
 * A sync operation that waits spans several reconciles without blocking one: the reconcile
 * leaves its task on the standard resume queue with a per-message delay (FIFO queues have
 * none), the resume function forwards it to the FIFO queue when SQS releases it, and the
 * reconcile function picks the operation up where it stopped. Real ElasticMQ, DynamoDB Local,
 * Git server and kube-apiserver; the handlers are the Lambda functions themselves.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSBatchResponse, Context } from "aws-lambda";
import { exampleRepo, isolated, stackEnv, type Isolated } from "../support/stack.js";
import { reconcileDeps } from "../../shared/compose/reconcile.js";
import { reconcileCluster } from "../../shared/reconcile/reconcile.js";
import { forwardResumes, ResumeQueue, MAX_DELAY_SECONDS } from "../../shared/queue/resume.js";
import { sqsClient, TaskQueue } from "../../shared/queue/tasks.js";
import { loadConfig } from "../../shared/config.js";
import { pollOnce } from "../../tools/local/lambda.js";

const fixtures = join(fileURLToPath(import.meta.url), "..", "..", "fixtures", "sync-app");
const [k1] = stackEnv().clusters;
let iso: Isolated;
let resumeUrl: string;
const sqs = () => sqsClient(loadConfig(iso.env));

type SqsHandler = (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

/** Receives what the queue holds now (visible messages only), without deleting it. */
async function visible(url: string, waitSeconds = 0) {
  const out = await sqs().send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, VisibilityTimeout: 0 }));
  return (out.Messages ?? []).map((m) => ({ messageId: m.MessageId!, body: m.Body ?? "" }));
}

before(async () => {
  iso = await isolated("resume");
  Object.assign(process.env, iso.env);
  resumeUrl = iso.env.CONVERGE_RESUME_QUEUE_URL!;
});

test("a resumption becomes visible after its delay, is forwarded to the FIFO queue once, and a wait past 900 s is left to the tick", async () => {
  const queue = new ResumeQueue(sqs(), resumeUrl);
  const now = Date.now();
  assert.equal(await queue.schedule("alpha", now + 2_000, now), true);
  assert.equal(await queue.schedule("alpha", now + 2_000, now), true, "a redelivered reconcile asks again");
  assert.equal(await queue.schedule("alpha", now + (MAX_DELAY_SECONDS + 5) * 1000, now), false);
  assert.deepEqual(await visible(resumeUrl), [], "nothing visible before the delay");
  await new Promise((r) => setTimeout(r, 2_500));
  const released = await visible(resumeUrl, 1);
  assert.equal(released.length, 2);
  const out = await forwardResumes([...released, { messageId: "bad", body: "{not json" }], new TaskQueue(sqs(), iso.queueUrl));
  assert.deepEqual(out, { failed: [], dropped: ["bad"] });
  const fifo = await visible(iso.queueUrl, 1);
  assert.equal(fifo.length, 1, "both ask for the same time: the FIFO queue deduplicates them");
  assert.deepEqual({ ...JSON.parse(fifo[0]!.body), enqueuedAt: undefined }, { cluster: "alpha", reason: "resume", enqueuedAt: undefined });
  await iso.purge();
  await sqs().send(new ReceiveMessageCommand({ QueueUrl: resumeUrl, MaxNumberOfMessages: 10 })); // drop what is left
});

test("a sync waiting for its PreSync Job comes back through the resume queue and finishes, no tick involved", async () => {
  const repo = exampleRepo(`resume-${Date.now()}`);
  cpSync(fixtures, join(repo.work, "sync-app"), { recursive: true });
  repo.git("add", "-A", "sync-app");
  repo.git("commit", "-q", "-m", "sync test app");
  const revision = repo.push();
  await iso.services.clusters.add({
    name: "waits",
    source: { repoUrl: repo.url, branch: "master", path: "sync-app" },
    namespace: "resume-waits",
    access: { type: "kubeconfig", kubeconfig: k1!.kubeconfig, context: k1!.context },
    intervalSeconds: 3600,
    syncPolicy: "apply",
    syncOptions: { createNamespace: true },
  });
  const first = await reconcileCluster(reconcileDeps(iso.services, { metrics: () => {}, syncWaitMs: 0 }), { cluster: "waits", reason: "tick", enqueuedAt: new Date().toISOString() });
  assert.ok(first?.status.operation, `the operation waits for the PreSync Job: ${first?.status.message}`);
  assert.ok(first.resumeAt && first.resumeAt < Date.now() + 60_000, "due back in seconds, not at the one-hour interval");
  const [resumeFn, reconcileFn] = await Promise.all([import("../../functions/resume/index.js"), import("../../functions/reconcile/index.js")]);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    await pollOnce(sqs(), resumeUrl, resumeFn.handler as unknown as SqsHandler, 1);
    await pollOnce(sqs(), iso.queueUrl, reconcileFn.handler as unknown as SqsHandler, 1);
    const rec = (await iso.services.clusters.get("waits"))!;
    if (!rec.status.operation && rec.status.appliedRevision === revision) break;
  }
  const rec = (await iso.services.clusters.get("waits"))!;
  assert.equal(rec.status.operation, undefined, "the operation finished");
  assert.equal(rec.status.appliedRevision, revision);
  assert.equal(rec.status.sync, "Synced");
  const [op] = (await iso.services.operations.history("waits", { limit: 10 })).operations;
  assert.equal(op!.phase, "Succeeded", op!.message);
  assert.equal(op!.resources[0]!.kind, "Job");
});
