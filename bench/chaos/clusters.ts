/**
 * Check "clusters" (cluster faults): SQS batches of clusters through the real reconcile handler
 * (`functions/reconcile/index.ts`), some healthy (one namespace per cluster on the two test-bed
 * kube-apiservers, policy `apply`), five faulty:
 * - `stopped`: an extra real kube-apiserver (tools/testbed/kube.ts), Synced, then stopped;
 * - `http5xx`: a local server answering every request `503 Service Unavailable`;
 * - `slow`: a local server that accepts and never answers (past the client's 30 s timeout);
 * - `badtoken`: the first test-bed API server with a bearer token it does not know;
 * - `deleted`: an API server URL on a closed port (connection refused).
 * Each must end `Unknown` with its cause and come back only at its cadence (no early resume),
 * while the healthy clusters of the same batches are Synced and the next tick's batch is
 * unaffected. A cluster whose Git server is down fails its message instead (Git failures are
 * retried, `shared/reconcile/reconcile.ts`); sent through the real FIFO queue (ElasticMQ,
 * maxReceiveCount 5 as in AWS) and failed by the handler on each receive, it must be in the
 * dead-letter queue after its fifth receive.
 *
 * Also exports what `endurance.ts` shares: the installation (`chaosInstall`) and SQS batches
 * as Lambda's event source delivers them (`runBatch`).
 */
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { ChaosCheck, ChaosResult } from "./check.js";
import { captureStdout, isolated, kubectl, stackEnv, type Isolated, type TestCluster } from "../../test/support/stack.js";
import { localContext } from "../../tools/local/lambda.js";
import { freePort } from "../../tools/testbed/proc.js";
import { startClusters, type ClusterHandle } from "../../tools/testbed/kube.js";
import { loadConfig } from "../../shared/config.js";
import { sqsClient, type ReconcileTask } from "../../shared/queue/tasks.js";
import type { ClusterSpecInput } from "../../shared/cluster/spec.js";

/** The reconcile Lambda's handler as this process runs it. */
export type ReconcileHandler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;

/** Runs git asynchronously: the test bed's Git server runs in this process, so a blocking call would never get its answer. */
const gitAsync = promisify(execFile);

/** A copy of the example repository on the test bed's Git server, and a working clone to push commits from (through the server). */
export interface ChaosRepo {
  url: string;
  /** Writes `files` (path relative to the repository: content), commits and pushes them. @returns the new commit's SHA. */
  commit(files: Record<string, string>, message: string): Promise<string>;
}

/** Creates `<name>.git` on the Git server (a bare copy of the example repository) and clones it over HTTP. */
async function chaosRepo(name: string): Promise<ChaosRepo> {
  const stack = stackEnv();
  const bare = join(stack.gitRoot, `${name}.git`);
  await gitAsync("git", ["clone", "-q", "--bare", join(stack.gitRoot, "argocd-example-apps.git"), bare]);
  await gitAsync("git", ["-C", bare, "config", "http.receivepack", "true"]);
  const url = `${stack.gitBase}/${name}.git`;
  const work = join(stack.gitRoot, "..", `work-${name}`);
  await gitAsync("git", ["clone", "-q", url, work]);
  const git = async (...args: string[]) => (await gitAsync("git", ["-C", work, "-c", "user.name=Converge Chaos", "-c", "user.email=chaos@converge.local", ...args])).stdout.trim();
  return {
    url,
    async commit(files, message) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true });
        writeFileSync(join(work, path), content);
      }
      await git("add", "-A");
      await git("commit", "-q", "-m", message);
      await git("push", "-q", "origin", "HEAD:master");
      return git("rev-parse", "HEAD");
    },
  };
}

/** An isolated installation (own tables and queues) with a reconcile handler bound to it and a repository to track. */
export interface ChaosInstall {
  iso: Isolated;
  handler: ReconcileHandler;
  repo: ChaosRepo;
  /** The folder of `repo` the clusters track (`settings.yaml`: the ConfigMap `chaos-settings`). */
  path: string;
}

/** The ConfigMap `chaos-settings` with `value` as its one setting. */
export function settingsConfigMap(value: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chaos-settings\ndata:\n  value: "${value}"\n`;
}

/**
 * Creates tables and queues `<prefix>-<random>-*`, a copy of the example repository with the
 * folder `chaos/` pushed, and loads a fresh instance of the reconcile handler module bound to
 * them (the handler builds its services from the environment when loaded, as a Lambda cold
 * start does; `process.env` is left pointing at this installation).
 */
export async function chaosInstall(prefix: string): Promise<ChaosInstall> {
  const iso = await isolated(prefix);
  Object.assign(process.env, iso.env);
  const repo = await chaosRepo(`${iso.env.CONVERGE_TABLE_PREFIX}repo`);
  await repo.commit({ "chaos/settings.yaml": settingsConfigMap("0") }, "chaos: settings");
  const url = new URL("../../functions/reconcile/index.ts", import.meta.url);
  const mod = (await import(`${url.href}?install=${iso.env.CONVERGE_TABLE_PREFIX}`)) as { handler: ReconcileHandler };
  return { iso, handler: mod.handler, repo, path: "chaos" };
}

/** One SQS record of `task` as Lambda's event source delivers it from the FIFO queue (group: the cluster). */
export function sqsRecord(task: ReconcileTask, receiveCount = 1, messageId: string = randomUUID(), receiptHandle = ""): SQSRecord {
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle,
    body: JSON.stringify(task),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: now,
      SenderId: "chaos",
      ApproximateFirstReceiveTimestamp: now,
      MessageGroupId: task.cluster,
      MessageDeduplicationId: randomUUID(),
      SequenceNumber: "1",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:chaos.fifo",
    awsRegion: "us-east-1",
  };
}

/**
 * Runs `records` through the handler as one invocation, its JSON log and metric lines captured
 * (not printed).
 * @returns the message ids it reported failed, and its log lines.
 */
export async function runBatch(handler: ReconcileHandler, records: SQSRecord[]): Promise<{ failed: string[]; lines: string[] }> {
  const { result, lines } = await captureStdout(() => handler({ Records: records }, localContext("converge-reconcile")));
  return { failed: result.batchItemFailures.map((f) => f.itemIdentifier), lines };
}

/** A tick task for `cluster`. */
export const tickTask = (cluster: string): ReconcileTask => ({ cluster, reason: "tick", enqueuedAt: new Date().toISOString() });

/** A local HTTP server answering with `answer` (or never, when it is undefined). */
async function fakeApiServer(answer?: { code: number; body: unknown }): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = http.createServer((_req, res) => {
    if (answer) res.writeHead(answer.code, { "Content-Type": "application/json" }).end(JSON.stringify(answer.body));
  });
  srv.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  const port = await freePort();
  await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** The `Status` body a kube-apiserver sends with a 503 (https://kubernetes.io/docs/reference/using-api/api-concepts/#http-status-codes). */
const UNAVAILABLE = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "the server is currently unable to handle the request", reason: "ServiceUnavailable", code: 503 };

/** The registration of a chaos cluster tracking the install's folder. */
function spec(install: ChaosInstall, name: string, access: ClusterSpecInput["access"], repoUrl = install.repo.url): ClusterSpecInput {
  return { name, source: { repoUrl, branch: "master", path: install.path }, namespace: name, access, intervalSeconds: 300, syncPolicy: "apply" };
}

/** The faulty clusters, the healthy ones, and what to stop afterwards. */
interface Fleet {
  healthy: string[];
  faulty: Record<"stopped" | "http5xx" | "slow" | "badtoken" | "deleted", string>;
  gitDown: string;
  extra: ClusterHandle;
  stop(): Promise<void>;
}

/** Registers the fleet: `perCluster` healthy clusters per test-bed API server, the five faulty ones and the Git-down one. */
async function registerFleet(install: ChaosInstall, perCluster: number, log: (s: string) => void): Promise<Fleet> {
  const stack = stackEnv();
  log("starting an extra kube-apiserver (the one stopped mid-run)");
  const [extra] = await startClusters(["chaos-extra"], { nodes: 1 });
  // its kubeconfig flattened into a file of ours: the cluster's own files go when it stops
  const kubeconfig = join(install.iso.env.CONVERGE_WORK_DIR!, "chaos-extra.kubeconfig");
  mkdirSync(dirname(kubeconfig), { recursive: true });
  writeFileSync(kubeconfig, execFileSync(stack.kubectl, ["config", "view", "--raw", "--flatten", "--minify", "--kubeconfig", extra!.kubeconfig], { encoding: "utf8" }));
  const asTest: TestCluster = { name: extra!.name, kubeconfig, context: extra!.context };
  const [s5xx, slow] = await Promise.all([fakeApiServer({ code: 503, body: UNAVAILABLE }), fakeApiServer()]);
  process.env.CHAOS_BAD_TOKEN = "chaos-not-a-token";
  const k1 = stack.clusters[0]!;
  const k1Server = new URL(kubectl(k1, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")).origin;
  const f: Fleet["faulty"] = { stopped: "chaos-stopped", http5xx: "chaos-http5xx", slow: "chaos-slow", badtoken: "chaos-badtoken", deleted: "chaos-deleted" };
  const healthy = stack.clusters.flatMap((c, i) => Array.from({ length: perCluster }, (_, j) => ({ name: `chaos-ok-${i + 1}-${j + 1}`, c })));
  for (const h of healthy) kubectl(h.c, "create", "namespace", h.name);
  kubectl(asTest, "create", "namespace", f.stopped);
  const add = (s: ClusterSpecInput) => install.iso.services.clusters.add(s);
  for (const h of healthy) await add(spec(install, h.name, { type: "kubeconfig", kubeconfig: h.c.kubeconfig, context: h.c.context }));
  await add(spec(install, f.stopped, { type: "kubeconfig", kubeconfig: asTest.kubeconfig, context: asTest.context }));
  await add(spec(install, f.http5xx, { type: "server", server: s5xx.url, insecureSkipTlsVerify: true }));
  await add(spec(install, f.slow, { type: "server", server: slow.url, insecureSkipTlsVerify: true }));
  await add(spec(install, f.badtoken, { type: "server", server: k1Server, tokenEnv: "CHAOS_BAD_TOKEN", insecureSkipTlsVerify: true }));
  await add(spec(install, f.deleted, { type: "server", server: `https://127.0.0.1:${await freePort()}`, insecureSkipTlsVerify: true }));
  const gitDown = "chaos-gitdown";
  await add(spec(install, gitDown, { type: "kubeconfig", kubeconfig: k1.kubeconfig, context: k1.context }, `http://127.0.0.1:${await freePort()}/gone.git`));
  await tickOnce(install);
  return { healthy: healthy.map((h) => h.name), faulty: f, gitDown, extra: extra!, stop: async () => void (await Promise.all([s5xx.stop(), slow.stop(), extra!.stop()])) };
}

/**
 * Runs the real tick handler once, as the scheduler would: it claims the registrations' one-off
 * due times (each cluster is then due at its cadence); the tasks it enqueued are purged, the
 * batches of this check deliver their own.
 */
async function tickOnce(install: ChaosInstall): Promise<void> {
  const url = new URL("../../functions/tick/index.ts", import.meta.url);
  const tick = (await import(`${url.href}?install=${install.iso.env.CONVERGE_TABLE_PREFIX}`)) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
  await captureStdout(() => tick.handler({}, localContext("converge-tick")));
  await install.iso.purge();
}

/** What each cluster's status says after a batch, and which messages failed. */
async function batchOf(install: ChaosInstall, names: string[]): Promise<{ failed: string[]; sync: Record<string, { sync: string; message?: string; dueInS: number }> }> {
  const records = names.map((n) => sqsRecord(tickTask(n), 1, n));
  const { failed } = await runBatch(install.handler, records);
  const sync: Record<string, { sync: string; message?: string; dueInS: number }> = {};
  for (const n of names) {
    const rec = (await install.iso.services.clusters.get(n))!;
    sync[n] = { sync: rec.status.sync, message: rec.status.message, dueInS: Math.round((rec.nextDueAt - Date.now()) / 1000) };
  }
  return { failed, sync };
}

/** The causes each faulty cluster's `Unknown` message must name. */
const CAUSES: Record<keyof Fleet["faulty"], RegExp> = {
  stopped: /cannot reach|ECONNREFUSED|socket hang up|ECONNRESET/,
  http5xx: /503/,
  slow: /timed out after 30000 ms/,
  badtoken: /denied access.*HTTP 40[13]/,
  deleted: /ECONNREFUSED/,
};

/** The figures of one batch against the fleet: healthy not Synced, faulty not Unknown with cause, hot retries, unexpected failures. */
interface Tally {
  healthyOk: number;
  faultyOk: number;
  lost: number;
  crashes: number;
  problems: string[];
}

/** Runs one batch of `faulty` plus the healthy and Git-down clusters, and adds what it finds to `t`. */
async function faultBatch(install: ChaosInstall, fleet: Fleet, faulty: (keyof Fleet["faulty"])[], t: Tally): Promise<void> {
  const names = [...fleet.healthy, ...faulty.map((k) => fleet.faulty[k]), fleet.gitDown];
  const { failed, sync } = await batchOf(install, names);
  for (const h of fleet.healthy) {
    if (sync[h]!.sync === "Synced") t.healthyOk++;
    else t.lost++, t.problems.push(`${h}: ${sync[h]!.sync} ${sync[h]!.message ?? ""}`);
  }
  for (const k of faulty) {
    const n = fleet.faulty[k];
    const s = sync[n]!;
    if (failed.includes(n)) t.crashes++, t.problems.push(`${n}: its message failed instead of ending Unknown`);
    else if (s.sync !== "Unknown" || !CAUSES[k].test(s.message ?? "")) t.lost++, t.problems.push(`${n}: ${s.sync} "${s.message ?? ""}"`);
    else if (s.dueInS <= 0) t.problems.push(`${n}: due again at once (${s.dueInS} s), not at its cadence`);
    else t.faultyOk++;
  }
  if (failed.join() !== fleet.gitDown) t.problems.push(`failed messages: [${failed.join(", ")}], expected only ${fleet.gitDown}`);
}

/**
 * Sends the Git-down cluster's task through the real FIFO queue and fails it on each receive
 * (the handler's `batchItemFailures`, the message made visible again at once as a retry would).
 * @returns the receives it took, the dead-letter queue's depth afterwards, what is left in the
 *   queue, and the depth of the resume queue (early comebacks scheduled by any reconcile so far).
 */
async function toDeadLetters(install: ChaosInstall, cluster: string): Promise<{ receives: number; dlq: number; left: number; resumes: number }> {
  const cfg = loadConfig(install.iso.env);
  const sqs = sqsClient(cfg);
  const queueUrl = install.iso.queueUrl;
  const dlqUrl = queueUrl.replace(/\.fifo$/, "-dlq.fifo");
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(tickTask(cluster)), MessageGroupId: cluster, MessageDeduplicationId: randomUUID() }));
  let receives = 0;
  for (let i = 0; i < 8; i++) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }));
    const msgs = got.Messages ?? [];
    if (msgs.length === 0) break;
    receives += msgs.length;
    const records = msgs.map((m) => sqsRecord(JSON.parse(m.Body!) as ReconcileTask, Number(m.Attributes?.ApproximateReceiveCount ?? 1), m.MessageId!, m.ReceiptHandle!));
    const { failed } = await runBatch(install.handler, records);
    for (const m of msgs) {
      if (failed.includes(m.MessageId!)) await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }));
      else await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  const depth = async (url: string) => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  };
  return { receives, dlq: await depth(dlqUrl), left: await depth(queueUrl), resumes: await depth(queueUrl.replace(/\.fifo$/, "-resume")) };
}

async function run({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult> {
  const install = await chaosInstall("chaos-clusters");
  const fleet = await registerFleet(install, 2, log);
  const t: Tally = { healthyOk: 0, faultyOk: 0, lost: 0, crashes: 0, problems: [] };
  const all = Object.keys(CAUSES) as (keyof Fleet["faulty"])[];
  let batches = 0;
  try {
    log("first batch: the extra API server up");
    const first = await batchOf(install, [...fleet.healthy, fleet.faulty.stopped]);
    for (const [n, s] of Object.entries(first.sync)) if (s.sync !== "Synced") t.problems.push(`${n} before the faults: ${s.sync} ${s.message ?? ""}`);
    log("stopping the extra API server");
    await fleet.extra.stop();
    // the slow server holds a batch for the client's 30 s timeout: once in --quick, every batch otherwise
    const rounds = quick ? [all, all.filter((k) => k !== "slow")] : [all, all, all];
    for (const faulty of rounds) {
      log(`batch ${++batches}: ${faulty.join(", ")} faulty`);
      await faultBatch(install, fleet, faulty, t);
    }
    log("the Git-down cluster's message through the real queue");
    const dl = await toDeadLetters(install, fleet.gitDown);
    if (dl.receives !== 5 || dl.dlq !== 1 || dl.left !== 0) t.problems.push(`dead letters: ${dl.receives} receives, DLQ depth ${dl.dlq}, ${dl.left} left in the queue (expected 5, 1, 0)`);
    if (dl.resumes !== 0) t.problems.push(`${dl.resumes} early comebacks scheduled on the resume queue`);
    const faults = rounds.reduce((n, r) => n + r.length + 1, 0) + 1 + dl.receives;
    const line =
      `cluster faults: ${all.length} faulty clusters Unknown with cause (${t.faultyOk} of ${rounds.reduce((n, r) => n + r.length, 0)} reconciles), ` +
      `${fleet.healthy.length} healthy Synced in the same ${batches} batches (${t.healthyOk} of ${batches * fleet.healthy.length}), ` +
      `${dl.dlq} message in the DLQ after ${dl.receives} receives${t.problems.length ? `; PROBLEMS: ${t.problems.join("; ")}` : ""}`;
    return { ok: t.problems.length === 0, line, faults, lost: t.lost + (dl.dlq === 0 ? 1 : 0), doubled: Math.max(0, dl.dlq - 1), crashes: t.crashes };
  } finally {
    await fleet.stop();
  }
}

/** The check "clusters" (see the module doc). */
export const clusterFaults: ChaosCheck = { name: "clusters", run };
