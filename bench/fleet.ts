/**
 * Fleet benchmark: what Converge costs and how it scales, measured on the local stack (the
 * components the tests use: DynamoDB Local, ElasticMQ, the Git smart-HTTP server and two real
 * kube-apiservers, started like `npm test` starts them), every request counted on the real AWS
 * SDK clients (`bench/fleet-counter.ts`).
 *
 *   npm run bench:fleet                                       # 10,000 clusters, 200 per reconcile round
 *   npm run bench:fleet -- --clusters 2000 --reconciles 100   # smaller
 *   npm run bench:fleet -- --profile /tmp/prof                 # + a CPU profile of the reconcile worker
 *
 * (a) Scale: registers `--clusters` clusters tracking one repository, then times the tick
 *     finding and enqueueing all of them (first tick after registering: one-off due times
 *     cleared; steady state: one interval later, by cadence), and a real signed GitHub push
 *     payload through the webhook handler fanning out to all of them, and the image update's
 *     minute scan (which reads the clusters with image updates only); with DynamoDB requests by
 *     operation, read/write request units and SQS requests.
 * (b) Per reconcile: `--reconciles` detect-only clusters on two kube-apiservers (started after
 *     (a), so the scale figures do not share the cores with simulated clusters; one shared
 *     namespace per API server holding the guestbook app), reconciled by the real reconcile
 *     handler in a child process (`bench/fleet-worker.ts`) in batches of 10 as Lambda's SQS
 *     event source delivers them: a first round (render, snapshot), an unchanged round, and two
 *     drifted rounds (a live edit, then its revert, on the first API server's clusters):
 *     duration and CPU per batch, peak memory, DynamoDB requests and units, SQS, Kubernetes and
 *     Git requests, log bytes.
 * (c) Monthly cost at 100, 1,000 and 10,000 clusters reconciled every 5 minutes with nothing
 *     changing, from those measured figures and the list prices in `PRICES`; the last line is
 *     `monthly cost at 1,000 clusters: $N`.
 *
 * Progress goes to stderr, results to stdout.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { KubeConfig } from "@kubernetes/client-node";
import { installCounters, minus, total, type Counts } from "./fleet-counter.js";
import type { BatchReport, WorkerMessage } from "./fleet-worker.js";
import { startTestbed } from "../tools/testbed/index.js";
import { startClusters, type ClusterHandle } from "../tools/testbed/kube.js";
import { createTables } from "../tools/testbed/tables.js";
import { createQueue } from "../tools/testbed/elasticmq.js";
import { ALARM_COST, alarmMonthlyCost } from "../shared/metrics/cost.js";
import { RECONCILE_MEMORY_MB } from "../infra/constructs/reconcile.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
/** Clusters registered for the tick and push measurements. */
const FLEET = arg("clusters", 10_000);
/** Clusters reconciled per round (half on each kube-apiserver). */
const RECONCILES = arg("reconciles", 200);
/** The interval every benchmark cluster is registered with, seconds (the cost model's 5 minutes). */
const INTERVAL_SECONDS = 300;
const SECRET = "fleet-bench-secret";
/** `--profile <dir>`: the worker runs the sources under tsx and writes a V8 CPU profile there. */
const PROFILE = process.argv.includes("--profile") ? process.argv[process.argv.indexOf("--profile") + 1] : undefined;
const started = Date.now();

/**
 * us-east-1 list prices (USD) the cost model uses, free tiers ignored (an upper bound).
 * Lambda: https://aws.amazon.com/lambda/pricing/ (x86). SQS: https://aws.amazon.com/sqs/pricing/
 * (a request carries up to 10 messages and is billed per 64 KB chunk of payload). DynamoDB
 * on-demand since 1 Nov 2024: https://aws.amazon.com/dynamodb/pricing/on-demand/. CloudWatch
 * Logs: https://aws.amazon.com/cloudwatch/pricing/. EventBridge Scheduler:
 * https://aws.amazon.com/eventbridge/pricing/. X-Ray (the functions trace actively):
 * https://aws.amazon.com/xray/pricing/. Contributor Insights rules, alarms, metrics: imported
 * from `shared/metrics/cost.ts`.
 */
export const PRICES = {
  lambdaRequestsPerMillion: 0.2,
  lambdaGbSecond: 0.0000166667,
  sqsFifoRequestsPerMillion: 0.5,
  sqsStandardRequestsPerMillion: 0.4,
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  logsIngestionPerGb: 0.5,
  schedulerInvocationsPerMillion: 1.0,
  xrayTracesPerMillion: 5.0,
} as const;

/** Fixed assumptions of the cost model (not measured here). */
export const ASSUMPTIONS = {
  /** Hours in the billing month (AWS prices a month as 730 hours). */
  hoursPerMonth: 730,
  /** The tick runs every minute (infra/constructs/tick.ts). */
  ticksPerHour: 60,
  /** Memory of the tick function (infra/constructs/function-defaults.ts). */
  tickMemoryMb: 512,
  /**
   * Lambda's START / END / REPORT lines (with the X-Ray segment) per invocation, bytes
   * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html).
   */
  platformLogBytesPerInvocation: 370,
  /**
   * Idle polling of the event source mappings: Lambda keeps 5 long polls (20 s) open per SQS
   * queue (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): 15
   * ReceiveMessage a minute on the FIFO queue and on the standard resume and image queues,
   * however idle.
   */
  esmPollsPerMinutePerQueue: 15,
  /**
   * X-Ray's default sampling: the first request each second, then 5 %
   * (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html); a tick's
   * reconcile invocations arrive together, within about one batch duration.
   */
  xrayReservoirPerSecond: 1,
  xrayRate: 0.05,
} as const;

const log = (s: string) => process.stderr.write(`[fleet ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ops = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(", ") || "none";

/**
 * The reconcile function bundled as it ships (`infra/bundling.ts`) and the worker bundled around
 * it, under node_modules/.cache (so `@aws-sdk/*`, left to the Lambda runtime, resolves);
 * undefined when bundling fails (the worker then runs the sources under tsx).
 */
async function bundleWorker(): Promise<{ worker: string; handler: string } | undefined> {
  const dir = join(root, "node_modules", ".cache", "converge-fleet");
  try {
    const { bundleFunction } = await import("../infra/bundling.js");
    const { build } = await import("esbuild");
    await bundleFunction("reconcile", join(dir, "reconcile"));
    await build({
      entryPoints: [join(root, "bench", "fleet-worker.ts")],
      outfile: join(dir, "worker.mjs"),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["@aws-sdk/*"],
      banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
      logLevel: "warning",
    });
    return { worker: join(dir, "worker.mjs"), handler: join(dir, "reconcile", "index.mjs") };
  } catch (err) {
    log(`bundling failed (${(err as Error).message.split("\n")[0]}); the worker runs the sources under tsx`);
    return undefined;
  }
}

/** Runs `fn` over `items`, `limit` at a time, reporting progress every `every` items. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>, progress?: { every: number; label: string }): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        await fn(items[i]!, i);
        if (progress && ++done % progress.every === 0) log(`${progress.label} ${fmt(done)} / ${fmt(items.length)}`);
      }
    }),
  );
}

/** Captures (and counts) what `fn` writes to stdout, as a handler's log output. */
async function quiet<T>(fn: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const original = process.stdout.write.bind(process.stdout);
  let bytes = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { result: await fn(), bytes };
  } finally {
    process.stdout.write = original;
  }
}

/** DynamoDB's size of an item (attribute names and values, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html), approximately. */
function itemBytes(v: unknown): number {
  if (v === null || v === undefined || typeof v === "boolean") return 1;
  if (typeof v === "number") return Math.ceil(String(Math.abs(v)).replace(/[.-]/g, "").replace(/^0+/, "").length / 2) + 1;
  if (typeof v === "string") return Buffer.byteLength(v);
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce((a: number, x) => a + itemBytes(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce((a: number, x) => a + 1 + itemBytes(x), 0);
  return 3 + Object.entries(v as object).reduce((a, [k, x]) => a + Buffer.byteLength(k) + 1 + itemBytes(x), 0);
}

/** Host and port of a kubeconfig context's API server. */
function apiHost(kubeconfig: string, context: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(context);
  return new URL(kc.getCurrentCluster()!.server).host;
}

/** DynamoDB requests by operation per reconcile over `reports` (`n` reconciles). */
function perReconcile(reports: BatchReport[], n: number): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.counts.ddb)) sum[k] = (sum[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / n]));
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0;
};

// ---------------------------------------------------------------------------------------------
log(`starting the test bed (DynamoDB Local, ElasticMQ, the Git server; the 2 kube-apiservers after the scale measurements); ${fmt(FLEET)} clusters, ${fmt(RECONCILES)} per reconcile round`);
const bed = await startTestbed({ clusters: 0, prefix: "fleet", log: (s) => log(`testbed: ${s}`) });
/** The kube-apiservers of (b), started once (a) is measured: the control plane's fan-out does not share the 2 cores with simulated clusters it never calls. */
let kube: ClusterHandle[] = [];
const work = mkdtempSync(join(tmpdir(), "converge-fleet-"));
const plainSqs = new SQSClient({ region: "us-east-1", endpoint: bed.env.CONVERGE_SQS_ENDPOINT, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
const worker = { proc: undefined as ReturnType<typeof spawn> | undefined };
try {
  const hosts = { kube: [] as string[], git: [new URL(bed.env.CONVERGE_TEST_GIT_BASE!).host] };
  const counts = installCounters(hosts);
  Object.assign(process.env, bed.env, { CONVERGE_WEBHOOK_SECRET: SECRET });
  const { createServices } = await import("../shared/services.js");
  const { loadConfig } = await import("../shared/config.js");
  const { tick } = await import("../shared/schedule/tick.js");
  const { documentClient } = await import("../shared/store/client.js");
  const { serveFunctionUrl } = await import("../tools/local/lambda.js");
  const { deliver, pushPayload } = await import("../test/support/github.js");
  const kubectl = (i: number, ...a: string[]) => execFileSync(bed.kubectl, ["--kubeconfig", kube[i]!.kubeconfig, "--context", kube[i]!.context, ...a], { encoding: "utf8" });
  // (a)'s clusters are never reconciled: their access names a kubeconfig the API servers of (b) do not need
  const access = (i: number) =>
    kube.length
      ? { type: "kubeconfig" as const, kubeconfig: kube[i % 2]!.kubeconfig, context: kube[i % 2]!.context }
      : { type: "kubeconfig" as const, kubeconfig: join(work, "scale.kubeconfig"), context: "scale" };
  const spec = (name: string, i: number, extra: Record<string, unknown> = {}) => ({
    name,
    source: { repoUrl: bed.repoUrl, branch: "master", path: "guestbook" },
    namespace: "fleet",
    access: access(i),
    intervalSeconds: INTERVAL_SECONDS,
    ...extra,
  });
  const queueDepth = async (url: string) => {
    const out = await plainSqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  /** A tick on `svc` at `now`, timed: until its tasks are sent and the due records read, the one-off clearing, the signals after. */
  async function timedTick(svc: ReturnType<typeof createServices>, now: number) {
    const marks = { sent: 0, read: 0, settled: 0 };
    const q = svc.queue!;
    const c = svc.clusters;
    const orig = { send: q.send.bind(q), getMany: c.getMany.bind(c), settle: c.settleClaim.bind(c) };
    q.send = async (...a: Parameters<typeof q.send>) => {
      const r = await orig.send(...a);
      marks.sent = performance.now();
      return r;
    };
    c.getMany = async (...a: Parameters<typeof c.getMany>) => {
      const r = await orig.getMany(...a);
      marks.read = performance.now();
      return r;
    };
    c.settleClaim = async (...a: Parameters<typeof c.settleClaim>) => {
      const r = await orig.settle(...a);
      marks.settled = performance.now();
      return r;
    };
    const c0 = counts();
    const t0 = performance.now();
    try {
      const { result, bytes } = await quiet(() => tick({ clusters: c, queue: q }, now));
      const end = performance.now();
      const after = Math.max(marks.sent, marks.read, marks.settled);
      return {
        result,
        ms: end - t0,
        findEnqueueMs: marks.sent - t0,
        readMs: marks.read - t0,
        settleMs: marks.settled ? marks.settled - t0 : 0,
        signalsMs: end - after,
        logBytes: bytes,
        counts: minus(counts(), c0),
      };
    } finally {
      Object.assign(q, { send: orig.send });
      Object.assign(c, { getMany: orig.getMany, settleClaim: orig.settle });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // (a) the tick and a push at FLEET clusters
  const svc = createServices();
  log(`registering ${fmt(FLEET)} clusters (repository ${bed.repoUrl}, branch master, interval ${INTERVAL_SECONDS} s)`);
  const names = Array.from({ length: FLEET }, (_, i) => `fleet-${String(i).padStart(5, "0")}`);
  const reg0 = counts();
  const tReg = performance.now();
  await pool(names, 32, async (name, i) => void (await svc.clusters.add(spec(name, i))), { every: Math.max(1000, Math.floor(FLEET / 10)), label: "registered" });
  const registration = { ms: performance.now() - tReg, counts: minus(counts(), reg0) };
  const raw = (await documentClient(svc.config).send(new GetCommand({ TableName: svc.config.tables.clusters, Key: { name: names[0] } }))).Item!;

  // the JVMs (ElasticMQ, DynamoDB Local) and Node's JIT are cold after start-up: warm the paths
  // the measurements take, as a running installation would be
  log("warm-up: 3,000 messages to a scratch FIFO queue, one read-only due() of every cluster");
  const { TaskQueue, sqsClient } = await import("../shared/queue/tasks.js");
  const scratch = await createQueue(bed.env.CONVERGE_SQS_ENDPOINT!, "fleet-warmup");
  const warmQueue = new TaskQueue(sqsClient(svc.config), scratch.queueUrl);
  let mqRate = 0;
  for (let round = 0; round < 3; round++) {
    const tw = performance.now();
    await warmQueue.send(Array.from({ length: 1000 }, (_, i) => ({ cluster: `warm-${round}-${i}`, reason: "tick" as const, enqueuedAt: new Date(Date.UTC(2000, 0, 1, 0, round)).toISOString() })));
    mqRate = 1000 / ((performance.now() - tw) / 1000);
  }
  await plainSqs.send(new PurgeQueueCommand({ QueueUrl: scratch.queueUrl }));
  const tDue = performance.now();
  const dueBefore = (await svc.clusters.due(Date.now())).length;
  const dueMs = performance.now() - tDue;
  log(
    `warm-up: ElasticMQ took ${fmt(mqRate)} FIFO messages/s; due() found ${fmt(dueBefore)} in ${fmt(dueMs)} ms; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );

  log("tick 1: the first tick after registering (every cluster has a one-off due time)");
  const t1 = Date.now();
  const tick1 = await timedTick(svc, t1);
  const depth1 = await queueDepth(svc.config.queueUrl!);
  await plainSqs.send(new PurgeQueueCommand({ QueueUrl: svc.config.queueUrl! }));
  log(`tick 1: ${fmt(tick1.result.enqueued)} enqueued in ${fmt(tick1.ms)} ms; queue depth ${fmt(depth1)}`);

  const loadAtTicks = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
  log("tick 2: one interval later, steady state (every cluster due by its cadence)");
  const tick2 = await timedTick(svc, t1 + INTERVAL_SECONDS * 1000);
  const depth2 = await queueDepth(svc.config.queueUrl!);
  await plainSqs.send(new PurgeQueueCommand({ QueueUrl: svc.config.queueUrl! }));
  log(`tick 2: ${fmt(tick2.result.enqueued)} enqueued in ${fmt(tick2.ms)} ms; queue depth ${fmt(depth2)}`);

  log("push: a signed GitHub push payload through the webhook handler (local Function URL)");
  const webhook = await import("../functions/webhook/index.js");
  const served = await serveFunctionUrl(webhook.handler as unknown as Parameters<typeof serveFunctionUrl>[0]);
  const bare = join(bed.gitRoot, "argocd-example-apps.git");
  const head = execFileSync("git", ["-C", bare, "rev-parse", "master"], { encoding: "utf8" }).trim();
  const parent = execFileSync("git", ["-C", bare, "rev-parse", "master~1"], { encoding: "utf8" }).trim();
  const p0 = counts();
  const tp = performance.now();
  const pushed = await quiet(() => deliver(served.url, pushPayload(bed.repoUrl, "master", parent, head), { secret: SECRET }));
  const push = { ms: performance.now() - tp, status: pushed.result.status, enqueued: Number(pushed.result.body.enqueued ?? 0), counts: minus(counts(), p0), logBytes: pushed.bytes };
  await served.close();
  const depth3 = await queueDepth(svc.config.queueUrl!);
  await plainSqs.send(new PurgeQueueCommand({ QueueUrl: svc.config.queueUrl! }));
  log(`push: HTTP ${push.status}, ${fmt(push.enqueued)} enqueued in ${fmt(push.ms)} ms; queue depth ${fmt(depth3)}`);

  log("image scan: the images function's minute run (no cluster with image updates)");
  const { scanImages } = await import("../shared/images/scan.js");
  const { imageScanDeps } = await import("../shared/compose/images.js");
  const s0 = counts();
  const ts = performance.now();
  const scanned = await quiet(() => scanImages(imageScanDeps({ config: svc.config, clusters: svc.clusters, operations: svc.operations })));
  const scan = { ms: performance.now() - ts, branches: scanned.result.length, counts: minus(counts(), s0), logBytes: scanned.bytes };
  log(`image scan: ${scan.branches} branches in ${fmt(scan.ms)} ms`);

  // ---------------------------------------------------------------------------------------------
  // (b) reconciles, in their own tables and queue, on two kube-apiservers started now
  kube = await startClusters(["fleet-1", "fleet-2"], { log: (s) => log(`testbed: ${s}`) });
  hosts.kube.push(...kube.map((c) => apiHost(c.kubeconfig, c.context)));
  const envB: NodeJS.ProcessEnv = { ...process.env, CONVERGE_TABLE_PREFIX: "fleetb-", CONVERGE_WORK_DIR: join(work, "reconcile") };
  const qB = await createQueue(bed.env.CONVERGE_SQS_ENDPOINT!, "fleetb");
  Object.assign(envB, { CONVERGE_QUEUE_URL: qB.queueUrl, CONVERGE_RESUME_QUEUE_URL: qB.resumeUrl });
  const cfgB = loadConfig(envB);
  await createTables(bed.env.CONVERGE_DYNAMODB_ENDPOINT!, cfgB.tables);
  const svcB = createServices(cfgB);
  log("the guestbook app in namespace fleet of both API servers (applied by a registration with --sync apply, then removed)");
  const { reconcileCluster } = await import("../shared/reconcile/reconcile.js");
  const { reconcileDeps } = await import("../shared/services.js");
  for (const i of [0, 1]) {
    kubectl(i, "create", "namespace", "fleet");
    await svcB.clusters.add(spec(`app-${i}`, i, { syncPolicy: "apply" }));
    const out = await quiet(() => reconcileCluster(reconcileDeps(svcB, { metrics: () => {} }), { cluster: `app-${i}`, reason: "tick", enqueuedAt: new Date().toISOString() }));
    if (out.result?.status.sync !== "Synced" && out.result?.status.sync !== "OutOfSync") throw new Error(`applying the app failed: ${JSON.stringify(out.result?.status)}`);
    await svcB.clusters.remove(`app-${i}`);
  }
  const recNames = Array.from({ length: RECONCILES }, (_, i) => `rec-${String(i).padStart(4, "0")}`);
  await pool(recNames, 16, async (name, i) => void (await svcB.clusters.add(spec(name, i))));
  const onFirst = recNames.filter((_, i) => i % 2 === 0);

  const bundled = PROFILE ? undefined : await bundleWorker();
  log(`starting the reconcile worker (functions/reconcile in its own process, ${bundled ? "bundled as it ships" : "sources under tsx"})`);
  const reports: BatchReport[] = [];
  let finalRss = 0;
  const waiters = new Map<string, () => void>();
  let readyRss = 0;
  const nodeArgs = bundled ? ["--enable-source-maps", bundled.worker] : [...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : []), "--import", "tsx", join(root, "bench", "fleet-worker.ts")];
  const proc = spawn(process.execPath, nodeArgs, {
    cwd: root,
    env: { ...envB, BENCH_KUBE_HOSTS: JSON.stringify(hosts.kube), BENCH_GIT_HOSTS: JSON.stringify(hosts.git), ...(bundled ? { BENCH_HANDLER: pathToFileURL(bundled.handler).href } : {}) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  worker.proc = proc;
  const ready = new Promise<void>((resolve, reject) => {
    proc.on("message", (m: WorkerMessage) => {
      if (m.type === "ready") (readyRss = m.maxRss), resolve();
      if (m.type === "batch") {
        reports.push(m.report);
        if (reports.length % 5 === 0) log(`  ${reports.length} batches reconciled (${m.report.round})`);
      }
      if (m.type === "error") log(`worker: ${m.message}`);
      if (m.type === "drained") waiters.get(m.round)?.();
      if (m.type === "final") finalRss = m.maxRss;
    });
    proc.on("exit", (code) => reject(new Error(`the worker exited (${code})`)));
  });
  await ready;
  const drain = (round: string, sample = false) =>
    new Promise<void>((resolve) => {
      waiters.set(round, resolve);
      proc.send({ cmd: "drain", round, sample });
    });
  const tB = Date.now();
  const ticksB: Awaited<ReturnType<typeof timedTick>>[] = [];
  log(`round "first": the tick enqueues ${RECONCILES} new clusters; the first reconciles render and store the snapshot`);
  ticksB.push(await timedTick(svcB, tB));
  await drain("first");
  log(`round "unchanged": one interval later, nothing changed`);
  ticksB.push(await timedTick(svcB, tB + INTERVAL_SECONDS * 1000));
  await drain("unchanged");
  const enqueue = (at: number) => svcB.queue!.send(onFirst.map((cluster) => ({ cluster, reason: "tick" as const, enqueuedAt: new Date(at).toISOString() })));
  log(`round "drifted": the guestbook-ui Deployment edited on the first API server; its ${onFirst.length} clusters reconciled`);
  kubectl(0, "-n", "fleet", "set", "image", "deployment/guestbook-ui", "guestbook-ui=registry.example/edited:1");
  await enqueue(tB + 2 * INTERVAL_SECONDS * 1000);
  await drain("drifted");
  const image = execFileSync("git", ["-C", bare, "show", "master:guestbook/guestbook-ui-deployment.yaml"], { encoding: "utf8" }).match(/image:\s*(\S+)/)![1]!;
  log(`round "reverted": the edit reverted; the same ${onFirst.length} clusters reconciled`);
  kubectl(0, "-n", "fleet", "set", "image", "deployment/guestbook-ui", `guestbook-ui=${image}`);
  await enqueue(tB + 3 * INTERVAL_SECONDS * 1000);
  await drain("reverted");
  log('round "render": 10 Helm clusters, each its own namespace (so 10 snapshots), reconciled in one batch: 10 helm processes at once; memory of the process tree sampled');
  const helmNames = Array.from({ length: 10 }, (_, i) => `helm-${i}`);
  for (const [i, name] of helmNames.entries()) await svcB.clusters.add({ ...spec(name, i), source: { repoUrl: bed.repoUrl, branch: "master", path: "helm-guestbook" }, namespace: `render-${i}` });
  await svcB.queue!.send(helmNames.map((cluster) => ({ cluster, reason: "tick" as const, enqueuedAt: new Date(tB + 4 * INTERVAL_SECONDS * 1000).toISOString() })));
  await drain("render", true);
  const finished = new Promise<void>((r) => proc.once("exit", () => r()));
  proc.send({ cmd: "exit" });
  await finished;
  const sample = (await svcB.clusters.get(recNames[1]!))!;
  const events = (await svcB.events.byCluster(recNames[0]!)).length;

  // ---------------------------------------------------------------------------------------------
  // results
  const out = (s = "") => process.stdout.write(`${s}\n`);
  const countLine = (c: Counts) =>
    `DynamoDB ${fmt(total(c.ddb))} requests (${ops(c.ddb)}), ${fmt(c.rru, 1)} RRU, ${fmt(c.wru, 1)} WRU${c.indexWru ? ` (${fmt(c.indexWru, 1)} to indexes)` : ""}${c.conditionFailed ? ` (${c.conditionFailed} failed conditions, 1 WRU each)` : ""}; SQS ${fmt(total(c.sqs))} requests (${ops(c.sqs)}), ${fmt(c.sqsMessages)} messages`;
  out(`Converge fleet benchmark: ${fmt(FLEET)} clusters; reconcile rounds of ${RECONCILES}; every figure measured on the local stack`);
  out("DynamoDB capacity: ConsumedCapacity (INDEXES) returned by DynamoDB Local for every request (the counting middleware sets ReturnConsumedCapacity); failed conditional writes counted as 1 WRU.");
  out();
  out(`(a) scale at ${fmt(FLEET)} clusters`);
  out(`  registering ${fmt(FLEET)} clusters: ${fmt(registration.ms / 1000, 1)} s (32 in parallel); ${countLine(registration.counts)}`);
  out(`  cluster item: about ${fmt(itemBytes(raw))} bytes (DynamoDB item size; spec, status, keys)`);
  out(
    `  this machine while measuring: ${os.cpus().length} cores, load average ${loadAtTicks}; ElasticMQ accepted ${fmt(mqRate)} FIFO messages/s after warm-up (so ${fmt(FLEET)} messages take at least ${fmt(FLEET / mqRate, 1)} s here)`,
  );
  for (const [label, t, depth] of [
    ["tick, first after registering (one-off due times cleared)", tick1, depth1],
    ["tick, steady state (due by cadence)", tick2, depth2],
  ] as const) {
    out(`  ${label}: ${fmt(t.result.due)} due, ${fmt(t.result.enqueued)} enqueued (queue depth ${fmt(depth)})`);
    out(
      `    found and enqueued in ${fmt(t.findEnqueueMs)} ms (the last task sent); then the due records read for the signals by ${fmt(t.readMs)} ms and the one-off due times cleared by ${fmt(t.settleMs)} ms; signals (not this change's code) ${fmt(t.signalsMs)} ms; whole tick ${fmt(t.ms)} ms; log ${fmt(t.logBytes)} bytes`,
    );
    out(`    ${countLine(t.counts)}`);
  }
  out(`  push through the webhook handler: HTTP ${push.status}, ${fmt(push.enqueued)} enqueued (queue depth ${fmt(depth3)}) in ${fmt(push.ms)} ms (signature check to answer, over HTTP)`);
  out(`    ${countLine(push.counts)}`);
  out(`  image scan (every minute; no cluster with image updates): ${fmt(scan.ms)} ms, ${scan.branches} branches; ${countLine(scan.counts)}`);
  out(
    `  target under 5 s each: tick ${tick2.findEnqueueMs < 5000 ? "met" : "MISSED"} (${fmt(tick2.findEnqueueMs / 1000, 2)} s steady, ${fmt(tick1.findEnqueueMs / 1000, 2)} s first), push ${push.ms < 5000 ? "met" : "MISSED"} (${fmt(push.ms / 1000, 2)} s)`,
  );

  out();
  out(`(b) per reconcile (${reports.reduce((a, r) => a + r.records, 0)} reconciles in ${reports.length} batches; worker: functions/reconcile handler, batches of up to 10 run concurrently)`);
  const rounds = ["first", "unchanged", "drifted", "reverted", "render"] as const;
  const stats = Object.fromEntries(
    rounds.map((round) => {
      const rs = reports.filter((r) => r.round === round && !r.cold);
      const all = reports.filter((r) => r.round === round);
      const n = all.reduce((a, r) => a + r.records, 0) || 1;
      const sum = (f: (c: Counts) => number) => all.reduce((a, r) => a + f(r.counts), 0) / n;
      return [
        round,
        {
          reconciles: n,
          batches: all.length,
          batchMs: mean((rs.length ? rs : all).map((r) => r.ms)),
          batchMsP95: pct(
            (rs.length ? rs : all).map((r) => r.ms),
            95,
          ),
          batchCpuMs: mean((rs.length ? rs : all).map((r) => r.cpuMs)),
          perBatch: n / all.length,
          maxRss: Math.max(...all.map((r) => r.maxRss)),
          heap: Math.max(...all.map((r) => r.heapUsed)),
          ddbReads: sum((c) => (c.ddb.GetItem ?? 0) + (c.ddb.Query ?? 0) + (c.ddb.BatchGetItem ?? 0) + (c.ddb.Scan ?? 0)),
          ddbWrites: sum((c) => (c.ddb.PutItem ?? 0) + (c.ddb.UpdateItem ?? 0) + (c.ddb.DeleteItem ?? 0) + (c.ddb.BatchWriteItem ?? 0) + (c.ddb.TransactWriteItems ?? 0)),
          ddbOps: perReconcile(all, n),
          rru: sum((c) => c.rru),
          wru: sum((c) => c.wru),
          sqs: sum((c) => total(c.sqs)),
          kube: sum((c) => c.kube),
          git: sum((c) => c.git),
          logBytes: all.reduce((a, r) => a + r.logBytes, 0) / n,
        },
      ];
    }),
  ) as Record<
    (typeof rounds)[number],
    {
      reconciles: number;
      batches: number;
      batchMs: number;
      batchMsP95: number;
      batchCpuMs: number;
      perBatch: number;
      maxRss: number;
      heap: number;
      ddbReads: number;
      ddbWrites: number;
      ddbOps: Record<string, number>;
      rru: number;
      wru: number;
      sqs: number;
      kube: number;
      git: number;
      logBytes: number;
    }
  >;
  const cold = reports.find((r) => r.cold);
  out("  round       reconciles  batch ms (mean, p95, CPU)  DynamoDB reads / writes (RRU / WRU)  SQS    Kubernetes  Git   log bytes");
  for (const round of rounds) {
    const s = stats[round];
    out(
      `  ${round.padEnd(10)}  ${String(s.reconciles).padStart(10)}  ${`${fmt(s.batchMs)}, ${fmt(s.batchMsP95)}, ${fmt(s.batchCpuMs)}`.padStart(25)}  ${`${fmt(s.ddbReads, 2)} / ${fmt(s.ddbWrites, 2)} (${fmt(s.rru, 2)} / ${fmt(s.wru, 2)})`.padStart(35)}  ${fmt(s.sqs, 2).padStart(4)}  ${fmt(s.kube, 1).padStart(10)}  ${fmt(s.git, 1).padStart(4)}  ${fmt(s.logBytes).padStart(9)}`,
    );
  }
  out(`  DynamoDB requests per reconcile: ${rounds.map((r) => `${r}: ${ops(Object.fromEntries(Object.entries(stats[r].ddbOps).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`).join("; ")}`);
  out("  (batch ms are warm invocations; SQS per reconcile = ReceiveMessage + DeleteMessageBatch of its batch; the tick's send is in (a))");
  if (cold) out(`  cold first batch: ${fmt(cold.ms)} ms for ${cold.records} reconciles (modules loaded, Git fetched, schemas and snapshot read)`);
  const peak = Math.max(finalRss, ...reports.map((r) => r.maxRss));
  out(
    `  memory: peak RSS ${fmt(peak / 2 ** 20)} MB (process.resourceUsage().maxRSS of the worker, ${bundled ? "running the reconcile bundle as it ships" : "running the sources under tsx"}; ${fmt(readyRss / 2 ** 20)} MB after loading), peak heap used ${fmt(Math.max(...reports.map((r) => r.heapUsed)) / 2 ** 20)} MB`,
  );
  out(`  sample status write: cluster ${sample.name} ${sample.status.sync}, ${events} drift events recorded for ${recNames[0]} (edit and revert)`);

  // the reconcile function's memory from the measurement: the smallest size holding, with room
  // to spare, both the steady state (1.5 x the Node process's peak over every round) and a batch
  // rendering 10 Helm sources at once (1.2 x the peak of the process and its helm children).
  // Lambda gives CPU in proportion to memory (1,769 MB = 1 vCPU), so below that the CPU part of a
  // batch stretches: estimated duration = measured wall - CPU + CPU x max(1, 1769 / MB)
  const render = reports.filter((r) => r.round === "render");
  const renderTree = Math.max(0, ...render.map((r) => r.treeRss));
  const unchanged = stats.unchanged;
  const floorMb = Math.ceil(Math.max((peak / 2 ** 20) * 1.5, (renderTree / 2 ** 20) * 1.2));
  const candidates = [256, 384, 512, 640, 768, 1024, 1536, 1769].filter((m) => m >= floorMb);
  const batchSeconds = (mb: number) => (unchanged.batchMs - unchanged.batchCpuMs + unchanged.batchCpuMs * Math.max(1, 1769 / mb)) / 1000;
  const batchesPerMonth = (clusters: number) => (clusters * ASSUMPTIONS.hoursPerMonth * 60) / (INTERVAL_SECONDS / 60) / unchanged.perBatch;
  const lambdaCost = (mb: number, clusters: number) => batchesPerMonth(clusters) * (batchSeconds(mb) * (mb / 1024) * PRICES.lambdaGbSecond + PRICES.lambdaRequestsPerMillion / 1e6);
  const memoryMb = RECONCILE_MEMORY_MB; // what infra/ deploys: the cost below is priced at it
  if (memoryMb < floorMb) out(`  warning: the deployed ${memoryMb} MB is under the ${floorMb} MB this run measured as needed`);
  out(
    `  render batch: ${render.reduce((a, r) => a + r.records, 0)} Helm reconciles, up to ${Math.max(0, ...render.map((r) => r.children))} child processes at once, process tree peak ${fmt(renderTree / 2 ** 20)} MB, ${fmt(mean(render.map((r) => r.ms)))} ms, CPU ${fmt(mean(render.map((r) => r.cpuMs)))} ms (Node's share)`,
  );
  out(
    `  reconcile memory: at least ${floorMb} MB (max of 1.5 x ${fmt(peak / 2 ** 20)} MB Node peak, 1.2 x ${fmt(renderTree / 2 ** 20)} MB render-batch tree); estimated unchanged batch and Lambda cost at 1,000 clusters by size:`,
  );
  out(`    ${candidates.map((m) => `${m} MB: ${fmt(batchSeconds(m) * 1000)} ms, $${fmt(lambdaCost(m, 1000), 2)}${m === memoryMb ? " (deployed)" : ""}`).join("; ")}`);

  // ---------------------------------------------------------------------------------------------
  // (c) the monthly cost of a fleet with nothing changing, every 5 minutes
  const [small, big] = [ticksB[1]!, tick2];
  const perDue = (f: (t: typeof small) => number) => (f(big) - f(small)) / (big.result.due - small.result.due);
  const atDue = (f: (t: typeof small) => number, due: number) => Math.max(0, f(small) + perDue(f) * (due - small.result.due));
  const month = (clusters: number) => {
    const minutes = ASSUMPTIONS.hoursPerMonth * 60;
    const reconciles = (clusters * minutes) / (INTERVAL_SECONDS / 60);
    const batches = reconciles / unchanged.perBatch;
    const ticks = ASSUMPTIONS.hoursPerMonth * ASSUMPTIONS.ticksPerHour;
    const duePerTick = clusters / (INTERVAL_SECONDS / 60);
    const tickMs = atDue((t) => t.ms, duePerTick);
    // the invocations of one tick arrive together (the tick enqueues every due cluster at once) and
    // start within about one batch duration: the reservoir traces one a second of that, then 5 %
    const xray = (perTick: number, spreadSeconds: number) => {
      const reservoir = Math.min(perTick, Math.max(1, spreadSeconds) * ASSUMPTIONS.xrayReservoirPerSecond);
      return ((ticks * (reservoir + ASSUMPTIONS.xrayRate * (perTick - reservoir))) / 1e6) * PRICES.xrayTracesPerMillion;
    };
    const alarm = alarmMonthlyCost({ clusters, intervalMinutes: INTERVAL_SECONDS / 60, unhealthyShare: 0, staleShare: 0, ticksPerMonth: ticks });
    // the tick and the image scan run once a minute each
    const logBytes = reconciles * unchanged.logBytes + (batches + 2 * ticks) * ASSUMPTIONS.platformLogBytesPerInvocation + ticks * (atDue((t) => t.logBytes, duePerTick) + scan.logBytes);
    const sqsFifo = reconciles * unchanged.sqs + ticks * atDue((t) => total(t.counts.sqs), duePerTick) + ticks * ASSUMPTIONS.esmPollsPerMinutePerQueue;
    // the resume queue and the image queue, however idle
    const sqsStandard = ticks * ASSUMPTIONS.esmPollsPerMinutePerQueue * 2;
    const wru = reconciles * unchanged.wru + ticks * atDue((t) => t.counts.wru, duePerTick);
    const rru = reconciles * unchanged.rru + ticks * (atDue((t) => t.counts.rru, duePerTick) + scan.counts.rru);
    const storageGb = (clusters * itemBytes(raw) * 2) / 1e9; // cluster items; snapshots and observed states are shared or small
    const items = {
      "Lambda reconcile (requests + GB-s)": lambdaCost(memoryMb, clusters),
      "Lambda tick (requests + GB-s)": ticks * ((tickMs / 1000) * (ASSUMPTIONS.tickMemoryMb / 1024) * PRICES.lambdaGbSecond + PRICES.lambdaRequestsPerMillion / 1e6),
      "Lambda image scan (requests + GB-s)": ticks * ((scan.ms / 1000) * (memoryMb / 1024) * PRICES.lambdaGbSecond + PRICES.lambdaRequestsPerMillion / 1e6),
      "EventBridge Scheduler (the tick, the image scan)": ((2 * ticks) / 1e6) * PRICES.schedulerInvocationsPerMillion,
      "SQS (FIFO sends, receives, deletes; idle polls)": (sqsFifo / 1e6) * PRICES.sqsFifoRequestsPerMillion + (sqsStandard / 1e6) * PRICES.sqsStandardRequestsPerMillion,
      "DynamoDB writes (WRU)": (wru / 1e6) * PRICES.dynamoWriteUnitsPerMillion,
      "DynamoDB reads (RRU)": (rru / 1e6) * PRICES.dynamoReadUnitsPerMillion,
      "DynamoDB storage + PITR": storageGb * (PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth),
      "CloudWatch Logs ingestion": (logBytes / 1e9) * PRICES.logsIngestionPerGb,
      "CloudWatch metrics, alarms, Contributor Insights (fixed)": alarm.fixed,
      "Contributor Insights matched events": alarm.matchedEvents,
      "X-Ray traces (reconcile + tick)": xray(batches / ticks, batchSeconds(memoryMb)) + xray(1, 1),
    };
    return { items, total: Object.values(items).reduce((a, b) => a + b, 0), reconciles, batches, wru, rru, sqsFifo, logBytes };
  };
  const fleets = [100, 1000, 10_000];
  const costs = fleets.map(month);
  out();
  out(`(c) monthly cost, us-east-1 list prices, every cluster reconciled every ${INTERVAL_SECONDS / 60} minutes, nothing changing (unchanged reconciles), ${ASSUMPTIONS.hoursPerMonth} h a month`);
  out(
    `  per reconcile (measured): ${fmt(unchanged.wru, 2)} WRU, ${fmt(unchanged.rru, 2)} RRU, ${fmt(unchanged.sqs, 2)} SQS requests, ${fmt(unchanged.logBytes)} log bytes; per batch of ${fmt(unchanged.perBatch, 1)}: ${fmt(batchSeconds(memoryMb) * 1000)} ms at ${memoryMb} MB`,
  );
  out(
    `  tick (fitted on ${fmt(small.result.due)} and ${fmt(big.result.due)} due): ${fmt(small.ms)} ms + ${fmt(
      perDue((t) => t.ms),
      3,
    )} ms, ${fmt(
      perDue((t) => t.counts.rru),
      3,
    )} RRU, ${fmt(
      perDue((t) => total(t.counts.sqs)),
      3,
    )} SQS requests per due cluster; 512 MB`,
  );
  const width = Math.max(...Object.keys(costs[0]!.items).map((k) => k.length));
  out(`  ${"item".padEnd(width)}  ${fleets.map((f) => `${fmt(f)} clusters`.padStart(16)).join("")}`);
  for (const k of Object.keys(costs[0]!.items)) out(`  ${k.padEnd(width)}  ${costs.map((c) => `$${fmt(c.items[k as keyof typeof c.items], 2)}`.padStart(16)).join("")}`);
  out(`  ${"total".padEnd(width)}  ${costs.map((c) => `$${fmt(c.total, 2)}`.padStart(16)).join("")}`);
  out(
    `  reconciles a month: ${costs.map((c) => fmt(c.reconciles)).join(" / ")}; invocations: ${costs.map((c) => fmt(c.batches)).join(" / ")}; log GB: ${costs.map((c) => fmt(c.logBytes / 1e9, 2)).join(" / ")}`,
  );
  out(
    `  assumptions: full batches of ${fmt(unchanged.perBatch, 1)} as measured; ${ASSUMPTIONS.esmPollsPerMinutePerQueue} idle ESM polls a minute per queue (FIFO, resume, image); ${ASSUMPTIONS.platformLogBytesPerInvocation} bytes of Lambda platform log lines per invocation; alarm side from shared/metrics/cost.ts (${ALARM_COST.insightRules} rules, ${ALARM_COST.alarmMetrics} alarm metrics, ${ALARM_COST.customMetrics} metrics, ${ALARM_COST.dashboards} dashboard); free tiers ignored`,
  );
  out(`  bench run time: ${fmt((Date.now() - started) / 1000)} s`);
  out(`monthly cost at 1,000 clusters: $${costs[1]!.total.toFixed(2)}`);
} finally {
  worker.proc?.kill();
  plainSqs.destroy();
  await Promise.allSettled(kube.map((c) => c.stop()));
  await bed.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(join(root, "node_modules", ".cache", "converge-fleet"), { recursive: true, force: true });
}
