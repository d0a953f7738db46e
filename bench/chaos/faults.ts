/**
 * Checks "injected faults" and "wire faults": reconciles and syncs with a fault at a random
 * point, each followed by what SQS and the tick do next, and the history audited after each.
 *
 * Subjects: per check, a cluster with policy `apply` and self-heal and one with `detect`, on
 * the test bed's kube-apiservers, tracking one folder (the ConfigMap `chaos-settings`) of a
 * repository on the test bed's Git server. Each iteration changes things (`change`: a new commit
 * with a new value, live edits of the ConfigMap with kubectl), then reconciles every subject,
 * one of them under a fault, until 200 faults fired (25 with `--quick`; the wire check runs 100
 * iterations, 15 quick):
 * - "injected faults" (`./inject.ts`): the k-th I/O call of that reconcile (k drawn up to the
 *   most calls a clean reconcile of it made) throws, times out after doing its work, or kills the
 *   process; the calls are DynamoDB, Git, Kubernetes, SQS, events and metrics;
 * - "wire faults" (`./proxy.ts`): the reconcile talks to DynamoDB Local, ElasticMQ, the Git
 *   server and a kube-apiserver through fault proxies that break a share of its requests (5xx,
 *   throttling, resets before and after the work, latency).
 * A reconcile that threw or was killed is redelivered (same message, same first-receive time)
 * once SQS's visibility timeout has passed; one that ended (e.g. `Unknown`) is followed by the
 * next tick; then ticks come at the interval, at most `SETTLE_TICKS`, until the subject
 * converges. Time is virtual (the reconcile's clock), so the lease of a killed sync expires.
 *
 * After each iteration, for each subject (`audit`): its status matches the live state at the
 * branch head (apply: Synced with the head's value live; detect: Synced iff the live value is
 * the head's), no operation is Running, the lease is free, the drift history of the ConfigMap
 * and the sync-status history each form one chain (each change starts where the previous
 * ended: a repeat is `doubled`, a gap `lost`) ending at the live truth, and no operation that
 * succeeded applied a revision older than an earlier one's (the live value never goes back).
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ChaosCheck, ChaosResult } from "./check.js";
import { chaosInstall, settingsConfigMap, tickTask, type ChaosInstall } from "./clusters.js";
import { Injector, type FaultKind } from "./inject.js";
import { faultProxy, type FaultProxy } from "./proxy.js";
import { stackEnv, type TestCluster } from "../../test/support/stack.js";
import { loadConfig, type ConvergeConfig } from "../../shared/config.js";
import { createReconcileServices, reconcileDeps, type ReconcileServices } from "../../shared/compose/reconcile.js";
import { dynamo } from "../../shared/compose/stores.js";
import { reconcileCluster, type ReconcileDeps } from "../../shared/reconcile/reconcile.js";
import type { ClusterRecord } from "../../shared/store/clusters.js";
import { sqsClient, TaskQueue, type ReconcileTask } from "../../shared/queue/tasks.js";

const execAsync = promisify(execFile);
const MIN = 60_000;
/** When a failed or killed message comes back: past SQS's visibility timeout (6 × the reconcile's 5-minute timeout) and so past the 15-minute sync lease. */
const REDELIVERY_MS = 31 * MIN;
/** The subjects' interval: when the next tick brings them back. */
const INTERVAL_MS = 5 * MIN;
/** Clean ticks allowed after a fault for a subject to converge (a failed sync's retry backoff, a self-heal). */
const SETTLE_TICKS = 3;
/** Share of requests the wire check's proxies fault during a faulty reconcile. */
const WIRE_RATE = 0.2;

/** Seeded PRNG (mulberry32), so a run can be replayed with `CHAOS_SEED`. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A cluster under test: its name, API server (for kubectl), policy. */
interface Subject {
  name: string;
  cluster: TestCluster;
  apply: boolean;
  /** Most I/O calls a clean reconcile of it made: the range a fault's call is drawn from. */
  calls: number;
  /** Live value at the previous audit (apply: never goes back to an older revision's). */
  liveIndex: number;
}

/** The branch as the iterations made it: each commit's value, in order. */
interface Branch {
  commits: { sha: string; value: string }[];
}

/** What the audits found, counted once per offending record. */
interface Findings {
  lost: Set<string>;
  doubled: Set<string>;
  problems: Set<string>;
}

/** The shared state of one check's run. */
interface Run {
  install: ChaosInstall;
  services: ReconcileServices;
  clean: ReconcileDeps;
  branch: Branch;
  rnd: () => number;
  /** Virtual time offset, ms (redeliveries and ticks move it forward). */
  offset: number;
  findings: Findings;
  reconciles: number;
}

const kubectlAsync = async (c: TestCluster, ...args: string[]) => (await execAsync(stackEnv().kubectl, ["--kubeconfig", c.kubeconfig, "--context", c.context, ...args])).stdout.trim();

async function liveValue(s: Subject): Promise<string | undefined> {
  try {
    return await kubectlAsync(s.cluster, "-n", s.name, "get", "configmap", "chaos-settings", "-o", "jsonpath={.data.value}");
  } catch {
    return undefined;
  }
}

/** Registers `subjects` tracking the install's folder; `kubeconfig` overrides the access (the wire check's proxy). */
async function register(run: Pick<Run, "install">, subjects: Subject[], repoUrl: string, kubeconfig?: string): Promise<void> {
  for (const s of subjects) {
    await kubectlAsync(s.cluster, "create", "namespace", s.name);
    if (!s.apply) await kubectlAsync(s.cluster, "-n", s.name, "create", "configmap", "chaos-settings", "--from-literal=value=initial");
    await run.install.iso.services.clusters.add({
      name: s.name,
      source: { repoUrl, branch: "master", path: run.install.path },
      namespace: s.name,
      access: { type: "kubeconfig", kubeconfig: kubeconfig ?? s.cluster.kubeconfig, context: kubeconfig ? "chaos-proxy" : s.cluster.context },
      intervalSeconds: INTERVAL_MS / 1000,
      syncPolicy: s.apply ? "apply" : "detect",
      selfHeal: s.apply,
    });
  }
}

/**
 * One iteration's changes: a commit with a new value half the time; the detect subject's live
 * value toggled between the head's and an edit (so its status changes at nearly every
 * iteration); the apply subject's live value edited a third of the time (self-heal's work).
 */
async function change(run: Run, subjects: Subject[], i: number): Promise<void> {
  if (run.rnd() < 0.5) {
    const value = String(i);
    const sha = await run.install.repo.commit({ [`${run.install.path}/settings.yaml`]: settingsConfigMap(value) }, `chaos: value ${value}`);
    run.branch.commits.push({ sha, value });
  }
  for (const s of subjects) {
    if (s.apply && run.rnd() >= 1 / 3) continue;
    const value = !s.apply && (await liveValue(s)) !== head(run).value ? head(run).value : `edited-${i}`;
    await kubectlAsync(s.cluster, "-n", s.name, "patch", "configmap", "chaos-settings", "--type", "merge", "-p", JSON.stringify({ data: { value } }));
  }
}

const head = (run: Pick<Run, "branch">) => run.branch.commits.at(-1)!;
const now = (run: Run) => Date.now() + run.offset;
/** A tick task for `s` at the run's virtual time (a tick's tasks of one minute share a deduplication id). */
const taskOf = (run: Run, s: Subject): ReconcileTask => ({ ...tickTask(s.name), enqueuedAt: new Date(now(run)).toISOString() });

/** A clean reconcile at the run's virtual time. */
async function clean(run: Run, s: Subject, task = taskOf(run, s), detectedAt = new Date(now(run)).toISOString()): Promise<void> {
  run.reconciles++;
  const counter = new Injector(0, "throw");
  await reconcileCluster(counter.deps(run.clean), task, detectedAt);
  s.calls = Math.max(s.calls, counter.calls);
}

/** Whether `s`'s status, as observed, is what its live state at the head calls for. */
function converged(run: Run, s: Subject, { rec, live }: Observed): boolean {
  if (!rec || rec.status.revision !== head(run).sha || rec.status.operation) return false;
  if (s.apply) return rec.status.sync === "Synced" && live === head(run).value;
  return rec.status.sync === (live === head(run).value ? "Synced" : "OutOfSync");
}

/** What the audit reads of a subject: its registry record and its live value. */
interface Observed {
  rec?: ClusterRecord;
  live?: string;
}

async function observe(run: Run, s: Subject): Promise<Observed> {
  return { rec: await run.services.clusters.get(s.name, now(run)), live: await liveValue(s) };
}

/** Clean ticks at the interval until `s` converges (at most SETTLE_TICKS). @returns the last observation. */
async function settle(run: Run, s: Subject): Promise<Observed> {
  let seen = await observe(run, s);
  for (let t = 0; t < SETTLE_TICKS && !converged(run, s, seen); t++) {
    run.offset += INTERVAL_MS;
    await clean(run, s);
    seen = await observe(run, s);
  }
  return seen;
}

/** Checks one chain of changes (`from` → `to`, oldest first): a repeat of the previous change is doubled, any other break lost. */
function chain(xs: { at: string; from: string; to: string }[], what: string, f: Findings): void {
  for (let i = 1; i < xs.length; i++) {
    const [a, b] = [xs[i - 1]!, xs[i]!];
    if (b.from === a.to) continue;
    const id = `${what} at ${b.at}: ${a.from}→${a.to} then ${b.from}→${b.to}`;
    (b.from === a.from && b.to === a.to ? f.doubled : f.lost).add(id);
  }
}

/** The audit of `s` after an iteration: see the module doc. */
async function audit(run: Run, s: Subject, seen: Observed): Promise<void> {
  const f = run.findings;
  const { config, events, operations } = run.services;
  const { rec, live } = seen;
  const truth = live === head(run).value ? "Synced" : "Modified";
  if (!converged(run, s, seen)) f.lost.add(`${s.name}: not converged at ${head(run).sha.slice(0, 7)} (status ${rec?.status.sync}, live ${live}, head ${head(run).value})`);
  if (await operations.running(s.name)) f.problems.add(`${s.name}: an operation left Running`);
  const raw = (await dynamo(config).send(new GetCommand({ TableName: config.tables.clusters, Key: { name: s.name }, ConsistentRead: true }))).Item;
  if (raw?.leaseOwner && Number(raw.leaseUntil) > now(run)) f.problems.add(`${s.name}: lease still held by ${raw.leaseOwner}`);
  const drift = (await events.byCluster(s.name)).filter((e) => e.kind === "ConfigMap" && e.name === "chaos-settings");
  chain(drift, `${s.name} drift`, f);
  const last = drift.at(-1)?.to ?? "Synced";
  if (!s.apply && last !== truth) f.lost.add(`${s.name} drift: last change ends ${last}, live is ${truth} at ${head(run).sha.slice(0, 7)}`);
  chain(await events.syncChanges(s.name), `${s.name} sync status`, f);
  const index = run.branch.commits.findIndex((c) => c.value === live);
  if (s.apply && index < s.liveIndex) f.problems.add(`${s.name}: live value ${live} is from an older revision than ${run.branch.commits[s.liveIndex]?.value}`);
  if (s.apply) s.liveIndex = Math.max(s.liveIndex, index);
}

/** Runs `faulty` for the target and clean reconciles for the others, redelivers, settles, audits. */
async function iteration(run: Run, subjects: Subject[], target: Subject, faulty: (task: ReconcileTask, detectedAt: string) => Promise<"returned" | "threw" | "killed">): Promise<void> {
  for (const s of subjects) {
    const task = taskOf(run, s);
    const detectedAt = new Date(now(run)).toISOString();
    if (s !== target) {
      await clean(run, s, task, detectedAt);
      continue;
    }
    run.reconciles++;
    const ended = await faulty(task, detectedAt);
    run.offset += ended === "returned" ? INTERVAL_MS : REDELIVERY_MS;
    // a message that failed (threw) or whose process died comes back as it was; one that ended is followed by the next tick
    if (ended === "returned") await clean(run, s);
    else await clean(run, s, task, detectedAt);
  }
  for (const s of subjects) {
    await audit(run, s, await settle(run, s));
  }
}

/** One reconcile under the injector; a kill is detected by its `death` (the reconcile's promise never settles then). */
async function underInjector(run: Run, inj: Injector, task: ReconcileTask, detectedAt: string): Promise<"returned" | "threw" | "killed"> {
  const done = reconcileCluster(inj.deps(run.clean), task, detectedAt).then(
    () => "returned" as const,
    () => "threw" as const,
  );
  // in-flight calls of a killed process may still land: give them a moment, as the service would
  const ended = await Promise.race([done, inj.death.then(() => new Promise<"killed">((r) => setTimeout(() => r("killed"), 200)))]);
  if (!inj.killed) return ended;
  inj.closeClients();
  return "killed";
}

/** Sets up a check's run: an installation, its first commit, the clean dependencies on the run's virtual clock. */
async function start(prefix: string, seed: number): Promise<Run> {
  const install = await chaosInstall(prefix);
  const services = createReconcileServices(loadConfig(install.iso.env));
  const branch: Branch = { commits: [{ sha: await install.repo.commit({ [`${install.path}/settings.yaml`]: settingsConfigMap("initial") }, "chaos: initial value"), value: "initial" }] };
  const run: Run = {
    install,
    services,
    clean: undefined as unknown as ReconcileDeps,
    branch,
    rnd: seeded(seed),
    offset: 0,
    findings: { lost: new Set(), doubled: new Set(), problems: new Set() },
    reconciles: 0,
  };
  run.clean = reconcileDeps(services, { now: () => now(run), metrics: () => {}, syncWaitMs: 2_000 });
  return run;
}

const subjectsOf = (prefix: string): Subject[] => stackEnv().clusters.map((cluster, i) => ({ name: `${prefix}-${i === 0 ? "apply" : "detect"}`, cluster, apply: i === 0, calls: 1, liveIndex: 0 }));

/** The result line and totals from a run. */
function result(run: Run, name: string, faults: number, detail: string, log: (s: string) => void): ChaosResult {
  const { lost, doubled, problems } = run.findings;
  for (const x of [...lost, ...doubled, ...problems]) log(`found: ${x}`);
  const ok = lost.size === 0 && doubled.size === 0 && problems.size === 0;
  return {
    ok,
    faults,
    lost: lost.size,
    doubled: doubled.size,
    line: `${name}: ${faults} faults (${detail}) over ${run.reconciles} reconciles of ${run.branch.commits.length} revisions; ${lost.size} lost, ${doubled.size} doubled, ${problems.size} other problems${problems.size ? `: ${[...problems][0]}` : ""}`,
  };
}

const seedOf = () => Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

async function runInjected({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult> {
  const seed = seedOf();
  const run = await start("chaos-inject", seed);
  const subjects = subjectsOf("inj");
  await register(run, subjects, run.install.repo.url);
  for (const s of subjects) await clean(run, s);
  const fired: Record<FaultKind, number> = { throw: 0, timeout: 0, kill: 0 };
  const targets = new Map<string, number>();
  const wanted = quick ? 25 : 200;
  for (let i = 1; fired.throw + fired.timeout + fired.kill < wanted; i++) {
    await change(run, subjects, i);
    const target = subjects[Math.floor(run.rnd() * subjects.length)]!;
    const kind = (["throw", "timeout", "kill"] as const)[Math.floor(run.rnd() * 3)]!;
    const inj = new Injector(1 + Math.floor(run.rnd() * target.calls), kind);
    await iteration(run, subjects, target, (task, at) => underInjector(run, inj, task, at));
    if (inj.fired) {
      fired[kind]++;
      const port = inj.fired.target.split(".")[0]!;
      targets.set(port, (targets.get(port) ?? 0) + 1);
    }
    if (i % 10 === 0) log(`${i} iterations, ${fired.throw + fired.timeout + fired.kill}/${wanted} faults, ${run.reconciles} reconciles, seed ${seed}`);
  }
  const faults = fired.throw + fired.timeout + fired.kill;
  const where = [...targets].map(([p, n]) => `${p} ${n}`).join(", ");
  return result(run, "injected faults", faults, `${fired.throw} throw, ${fired.timeout} timeout, ${fired.kill} kill; at ${where}; seed ${seed}`, log);
}

/** A kubeconfig that reaches the test bed's first API server through `proxy` (its own CA, a token the proxy swaps for the client certificate). */
function proxiedKubeconfig(dir: string, proxy: FaultProxy): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "chaos-proxy.kubeconfig");
  const ca = Buffer.from(proxy.ca!).toString("base64");
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: chaos-proxy\n  cluster: {server: "${proxy.url}", certificate-authority-data: ${ca}}\nusers:\n- name: chaos\n  user: {token: chaos}\ncontexts:\n- name: chaos-proxy\n  context: {cluster: chaos-proxy, user: chaos}\ncurrent-context: chaos-proxy\n`,
  );
  return path;
}

/** The wire check's proxies, the reconcile dependencies and the task queue that go through them. */
interface Wire {
  proxies: FaultProxy[];
  deps: ReconcileDeps;
  /** The task queue through the SQS proxy, and a client reading the queue directly. */
  queue: TaskQueue;
  sqs: SQSClient;
  kubeconfig: string;
  repoUrl: string;
}

async function wire(run: Run): Promise<Wire> {
  const stack = stackEnv();
  const first = stack.clusters[0]!;
  const proxies = [
    await faultProxy("dynamodb", stack.dynamodbEndpoint, 0, run.rnd),
    await faultProxy("sqs", stack.sqsEndpoint, 0, run.rnd),
    await faultProxy("git", stack.gitBase, 0, run.rnd),
    await faultProxy("kubernetes", { kubeconfig: first.kubeconfig, context: first.context }, 0, run.rnd),
  ];
  const [ddb, sqs, git, kube] = proxies as [FaultProxy, FaultProxy, FaultProxy, FaultProxy];
  const config: ConvergeConfig = loadConfig({ ...run.install.iso.env, CONVERGE_DYNAMODB_ENDPOINT: ddb.url, CONVERGE_SQS_ENDPOINT: sqs.url });
  const deps = reconcileDeps(createReconcileServices(config), { now: () => now(run), metrics: () => {}, syncWaitMs: 2_000 });
  const repoUrl = run.install.repo.url.replace(new URL(stack.gitBase).origin, git.url);
  const queue = new TaskQueue(sqsClient(config), run.install.iso.queueUrl);
  return { proxies, deps, queue, sqs: sqsClient(loadConfig(run.install.iso.env)), kubeconfig: proxiedKubeconfig(run.install.iso.env.CONVERGE_WORK_DIR ?? stack.gitRoot, kube), repoUrl };
}

/** Tries of a tick to enqueue a task whose send failed (the next tick's runs, a minute apart). */
const SEND_TRIES = 3;

/**
 * Enqueues `s`'s tick task through the faulty SQS proxy (a failed send is tried again, as the
 * next tick would), then reads the FIFO queue directly: exactly one message must be there, the
 * FIFO deduplication absorbing the SDK's retries of a send whose answer was lost.
 * @returns the task as received, or undefined when none arrived (counted lost) .
 */
async function enqueue(run: Run, w: Wire, s: Subject): Promise<ReconcileTask | undefined> {
  const task = taskOf(run, s);
  for (let t = 0; t < SEND_TRIES; t++) {
    try {
      await w.queue.send([task]);
      break;
    } catch {
      // the tick fails; its next run sends the same task again
    }
  }
  const { sqs } = w;
  const got: ReconcileTask[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: run.install.iso.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!out.Messages?.length) break;
    for (const m of out.Messages) {
      got.push(JSON.parse(m.Body!) as ReconcileTask);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: run.install.iso.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  if (got.length > 1) run.findings.doubled.add(`${s.name}: task of ${task.enqueuedAt} enqueued ${got.length} times`);
  if (got.length === 0) run.findings.lost.add(`${s.name}: task of ${task.enqueuedAt} never enqueued in ${SEND_TRIES} tries`);
  return got[0];
}

async function runWire({ quick, log }: { quick: boolean; log: (s: string) => void }): Promise<ChaosResult> {
  const seed = seedOf();
  const run = await start("chaos-wire", seed);
  const w = await wire(run);
  const subjects = subjectsOf("wire").map((s) => ({ ...s, cluster: stackEnv().clusters[0]! }));
  await register(run, subjects, w.repoUrl, w.kubeconfig);
  try {
    for (const s of subjects) await clean(run, s);
    const iterations = quick ? 15 : 100;
    for (let i = 1; i <= iterations; i++) {
      await change(run, subjects, i);
      const target = subjects[Math.floor(run.rnd() * subjects.length)]!;
      await iteration(run, subjects, target, async (tick, at) => {
        for (const p of w.proxies) p.rate = WIRE_RATE;
        try {
          const task = await enqueue(run, w, target);
          if (!task) return "returned";
          Object.assign(tick, task);
          await reconcileCluster(w.deps, task, at);
          return "returned";
        } catch {
          return "threw";
        } finally {
          for (const p of w.proxies) p.rate = 0;
        }
      });
      if (i % 5 === 0) log(`${i}/${iterations} iterations, ${run.reconciles} reconciles, seed ${seed}`);
    }
  } finally {
    for (const p of w.proxies) await p.stop();
  }
  const kinds: Record<string, number> = {};
  for (const p of w.proxies) for (const [k, n] of Object.entries(p.faults)) kinds[k] = (kinds[k] ?? 0) + n;
  const faults = Object.values(kinds).reduce((a, b) => a + b, 0);
  const requests = w.proxies.map((p, i) => `${["dynamodb", "sqs", "git", "kubernetes"][i]} ${p.requests}`).join(", ");
  return result(
    run,
    "wire faults",
    faults,
    `${Object.entries(kinds)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ")}; requests ${requests}; seed ${seed}`,
    log,
  );
}

/** Faults at the k-th I/O call of a reconcile (throw, timeout, kill). */
export const injectedFaults: ChaosCheck = { name: "injected faults", run: runInjected };

/** Faults on the wire between the reconcile and DynamoDB, SQS, Git and a kube-apiserver. */
export const wireFaults: ChaosCheck = { name: "wire faults", run: runWire };
