/**
 * The reconcile "Lambda" of the fleet benchmark: a child process of `bench/fleet.ts` that runs
 * the real reconcile handler (`functions/reconcile`) on real SQS batches, as Lambda's event
 * source would (receive up to 10, run the handler, delete the successful ones), and reports
 * each batch to its parent over IPC: records, wall and CPU time of the handler, resident and
 * heap memory, requests sent (DynamoDB by operation with consumed capacity, SQS, Kubernetes,
 * Git) and the bytes the handler wrote to stdout and stderr (what Lambda ships to CloudWatch
 * Logs: Powertools logger lines and EMF documents). Its own process, so its memory is the
 * reconcile's alone (the test bed's Git server runs in the parent).
 *
 * Messages from the parent: `{ cmd: "drain", round, sample? }` (poll until the queue is empty),
 * `{ cmd: "exit" }`. To the parent: `ready`, `batch`, `drained`, `final` (see `WorkerMessage`).
 * Environment: the Converge variables of the installation to reconcile, plus `BENCH_KUBE_HOSTS`
 * and `BENCH_GIT_HOSTS` (JSON arrays of `host:port`) and `BENCH_HANDLER` (file URL of the
 * function's bundle; unset: the sources). The benchmark runs this file bundled, without tsx,
 * so the memory measured is Node's and the shipped bundle's.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { SQSEvent, SQSBatchResponse, Context } from "aws-lambda";
import { installCounters, minus, type Counts } from "./fleet-counter.js";

/** One handled batch. */
export interface BatchReport {
  round: string;
  records: number;
  failed: number;
  /** Wall time of the handler (the billed duration of one invocation), ms. */
  ms: number;
  /** CPU time of the process during the handler (user + system), ms. */
  cpuMs: number;
  /** Resident set after the batch, and the process's peak so far (`resourceUsage().maxRSS`), bytes. */
  rss: number;
  maxRss: number;
  heapUsed: number;
  /**
   * Largest resident memory of this process plus its child processes (kubectl kustomize, helm
   * template) seen while the handler ran (sampled from /proc every 20 ms), bytes, and the most
   * children seen at once: a Lambda's memory limit counts them all.
   */
  treeRss: number;
  children: number;
  /** Requests of the whole batch: the receive and delete around the handler and what the handler sent. */
  counts: Counts;
  /** Bytes written to stdout and stderr by the handler. */
  logBytes: number;
  /** The first batch of this process (its modules freshly loaded, caches empty). */
  cold: boolean;
}

/** What the worker tells its parent. */
export type WorkerMessage =
  | { type: "ready"; rss: number; maxRss: number }
  | { type: "batch"; report: BatchReport }
  | { type: "drained"; round: string }
  | { type: "final"; maxRss: number }
  | { type: "error"; message: string };

const snapshot = installCounters({ kube: JSON.parse(process.env.BENCH_KUBE_HOSTS ?? "[]") as string[], git: JSON.parse(process.env.BENCH_GIT_HOSTS ?? "[]") as string[] });
const send = (m: WorkerMessage) => process.send!(m);

// every byte the handler writes is counted (and kept off the parent's terminal; the last lines are kept for errors)
let logBytes = 0;
const tail: string[] = [];
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array) => {
    logBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    tail.push(String(chunk).slice(0, 500));
    if (tail.length > 20) tail.shift();
    return true;
  }) as typeof stream.write;
}

// the reconcile function as it ships (its bundle, `BENCH_HANDLER`), else its sources
const { handler } = (await (process.env.BENCH_HANDLER ? import(process.env.BENCH_HANDLER) : import("../functions/reconcile/index.js"))) as {
  handler: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;
};
const { pollOnce } = await import("../tools/local/lambda.js");
const { loadConfig } = await import("../shared/config.js");
const { sqsClient } = await import("../shared/queue/tasks.js");
const cfg = loadConfig();

/** Resident memory of this process and its descendants (Linux /proc), bytes, and how many descendants. */
function treeRss(): { rss: number; children: number } {
  const pids = [String(process.pid)];
  let rss = 0;
  for (let i = 0; i < pids.length; i++) {
    try {
      const m = readFileSync(`/proc/${pids[i]}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      if (m) rss += Number(m[1]) * 1024;
      for (const t of readdirSync(`/proc/${pids[i]}/task`)) pids.push(...readFileSync(`/proc/${pids[i]}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean));
    } catch {
      // the process ended meanwhile
    }
  }
  return { rss, children: pids.length - 1 };
}
const sqs = sqsClient(cfg);
let cold = true;

/** Drains the queue; with `sample`, the memory of the process tree is sampled while the handler runs (it costs some CPU). */
async function drain(round: string, sample: boolean): Promise<void> {
  for (;;) {
    const c0 = snapshot();
    const l0 = logBytes;
    let timing = { ms: 0, cpuMs: 0 };
    const tree = { treeRss: 0, children: 0 };
    const r = await pollOnce(
      sqs,
      cfg.queueUrl!,
      async (event, context) => {
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        const sampler = sample
          ? setInterval(() => {
              const t = treeRss();
              tree.treeRss = Math.max(tree.treeRss, t.rss);
              tree.children = Math.max(tree.children, t.children);
            }, 20)
          : undefined;
        const out = await handler(event, context).finally(() => clearInterval(sampler));
        const used = process.cpuUsage(cpu);
        timing = { ms: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 };
        return out;
      },
      1,
    );
    if (r.received === 0) break;
    const mem = process.memoryUsage();
    if (r.failed > 0) send({ type: "error", message: `${r.failed} of ${r.received} failed; last output:\n${tail.join("")}` });
    send({
      type: "batch",
      report: {
        round,
        records: r.received,
        failed: r.failed,
        ...tree,
        ...timing,
        rss: mem.rss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        heapUsed: mem.heapUsed,
        counts: minus(snapshot(), c0),
        logBytes: logBytes - l0,
        cold,
      },
    });
    cold = false;
  }
  send({ type: "drained", round });
}

process.on("message", (m: { cmd: string; round?: string; sample?: boolean }) => {
  if (m.cmd === "drain")
    drain(m.round ?? "", m.sample === true).catch((err: unknown) => {
      send({ type: "error", message: `${(err as Error).stack}\n${tail.join("")}` });
      send({ type: "drained", round: m.round ?? "" });
    });
  if (m.cmd === "exit") {
    send({ type: "final", maxRss: process.resourceUsage().maxRSS * 1024 });
    setTimeout(() => process.exit(0), 100);
  }
});
send({ type: "ready", rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 });
