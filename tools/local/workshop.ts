/**
 * The GitOps workshop of `npm run demo`, run against the local control plane (control-plane.ts)
 * while it runs by itself — nothing here ticks or drains the queue. Each step prints the
 * commands a user would type, does them, waits for their effect and prints the `converge
 * status` / `converge sync history` that shows it:
 * 1. register a cluster with `--sync apply --self-heal --prune` → its first sync;
 * 2. delete a Deployment with kubectl → recreated by self-heal at the next reconcile;
 * 3. change `replicas` in Git and `git push` → the push hook's webhook syncs it;
 * 4. remove a file from Git and push → the object is pruned;
 * 5. `converge rollback` → the earlier revision's state is back, automation paused, then
 *    `converge sync --resume` follows Git again.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Services } from "../../shared/services.js";
import type { OperationSummary } from "../../shared/store/operations.js";

/** What the workshop runs with. */
export interface Workshop {
  print(line: string): void;
  /** Prints a step's title. */
  say(title: string): void;
  /** Runs (and prints) a `converge` command in-process; throws on a non-zero exit. */
  converge(...args: string[]): Promise<void>;
  /** Runs (and prints) kubectl against the workshop's cluster; returns its output. */
  kubectl(...args: string[]): string;
  cluster: { kubeconfig: string; context: string };
  repoUrl: string;
  webhookUrl: string;
  /** Folder for the working clone (replaced). */
  workDir: string;
  services: Pick<Services, "operations" | "clusters">;
  /** Prints the control plane's pending event lines (LocalControlPlane.check). */
  settle?: () => Promise<void>;
  /** Another cluster tracking the same path with `--sync apply` only (its Service is kept, Extra). */
  neighbour?: string;
}

const NAME = "guestbook-auto";
const NS = "guestbook";
const DEPLOYMENT = "guestbook/guestbook-ui-deployment.yaml";
const SERVICE = "guestbook/guestbook-ui-svc.yaml";
const run = promisify(execFile);

/** Runs the five steps. @throws Error when an effect does not show within its time limit. */
export async function runWorkshop(w: Workshop): Promise<void> {
  const t0 = new Date().toISOString();
  await register(w, t0);
  await selfHeal(w);
  await pushReplicas(w);
  await pushPrune(w);
  await rollback(w);
}

/**
 * Polls the cluster's operations until one started after `since` matches and is finished, and
 * the reconcile that ran it has recorded the cluster's status.
 */
async function operation(w: Workshop, since: string, what: string, match: (op: OperationSummary) => boolean, timeoutMs = 90_000): Promise<OperationSummary> {
  w.print(`# waiting for ${what} (the lines with a time are the control plane's events)`);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const { operations } = await w.services.operations.summaries(NAME, { since, limit: 20 });
    const op = operations.find((o) => o.finishedAt && match(o));
    if (op && op.phase !== "Succeeded") throw new Error(`${what}: operation ${op.id} ${op.phase}: ${op.message ?? ""}`);
    const status = op && (await w.services.clusters.get(NAME))?.status;
    if (op && status && !status.operation && (status.lastReconcileAt ?? "") >= op.finishedAt!) {
      await w.settle?.();
      return op;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s: see .converge/demo.log`);
}

async function show(w: Workshop): Promise<void> {
  await w.converge("status");
  await w.converge("sync", "history", "--cluster", NAME, "--limit", "5");
}

async function register(w: Workshop, since: string): Promise<void> {
  w.say("GitOps workshop 1/5: register a cluster with automated sync, self-heal and prune");
  w.print(`# from here on the control plane runs by itself: a tick every 2 s, a worker on the queue, the webhook at ${w.webhookUrl}`);
  const { kubeconfig, context } = w.cluster;
  await w.converge(
    "cluster",
    "add",
    NAME,
    "--repo",
    w.repoUrl,
    "--branch",
    "master",
    "--path",
    "guestbook",
    "--namespace",
    NS,
    "--kubeconfig",
    kubeconfig,
    "--context",
    context,
    "--interval",
    "30s",
    "--sync",
    "apply",
    "--self-heal",
    "--prune",
    "--sync-option",
    "CreateNamespace=true",
  );
  await operation(w, since, "the first sync (the next tick enqueues the new cluster)", () => true);
  await show(w);
}

async function selfHeal(w: Workshop): Promise<void> {
  w.say("GitOps workshop 2/5: delete a Deployment behind Git's back: self-heal recreates it");
  const since = new Date().toISOString();
  w.print(w.kubectl("-n", NS, "delete", "deployment", "guestbook-ui").trim());
  await operation(w, since, "the next reconcile (30 s interval) to find it Missing and heal it", (op) => op.trigger.type === "self-heal");
  w.print(w.kubectl("-n", NS, "get", "deployment", "guestbook-ui").trim());
  await show(w);
}

/** Runs git in the working clone, printing the command as a user types it. */
async function git(w: Workshop, ...args: string[]): Promise<string> {
  w.print(`$ git ${args.map((a) => (/[\s"'$]/.test(a) ? `"${a}"` : a)).join(" ")}`);
  const env = { ...process.env, GIT_AUTHOR_NAME: "Workshop", GIT_AUTHOR_EMAIL: "workshop@converge.local", GIT_COMMITTER_NAME: "Workshop", GIT_COMMITTER_EMAIL: "workshop@converge.local" };
  const { stdout, stderr } = await run("git", ["-C", w.workDir, ...args], { env, encoding: "utf8" });
  for (const line of `${stderr}${stdout}`.split("\n").filter((l) => l.trim())) w.print(line);
  return stdout.trim();
}

/** Commits what `change` did and pushes it (asynchronously: the hook calls the webhook served by this process). */
async function commitAndPush(w: Workshop, message: string): Promise<string> {
  await git(w, "commit", "-q", "-am", message);
  await git(w, "push", "origin", "master");
  return (await run("git", ["-C", w.workDir, "rev-parse", "HEAD"], { encoding: "utf8" })).stdout.trim();
}

async function pushReplicas(w: Workshop): Promise<void> {
  w.say("GitOps workshop 3/5: change replicas in Git and push: the push webhook syncs it");
  rmSync(w.workDir, { recursive: true, force: true });
  w.print(`$ git clone -q ${w.repoUrl} ${w.workDir} && cd ${w.workDir}`);
  await run("git", ["clone", "-q", w.repoUrl, w.workDir]);
  const since = new Date().toISOString();
  w.print(`$ sed -i 's/replicas: 1/replicas: 3/' ${DEPLOYMENT}`);
  const file = join(w.workDir, DEPLOYMENT);
  writeFileSync(file, readFileSync(file, "utf8").replace("replicas: 1", "replicas: 3"));
  const sha = await commitAndPush(w, "guestbook: 3 replicas");
  await operation(w, since, `the sync of ${sha.slice(0, 12)}`, (op) => op.revision === sha && op.trigger.type === "push");
  w.print(w.kubectl("-n", NS, "get", "deployment", "guestbook-ui", "-o", "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas").trim());
  await show(w);
}

async function pushPrune(w: Workshop): Promise<void> {
  w.say("GitOps workshop 4/5: remove a file from Git and push: prune deletes the object");
  const since = new Date().toISOString();
  await git(w, "rm", "-q", SERVICE);
  const sha = await commitAndPush(w, "guestbook: no Service");
  await operation(w, since, `the sync of ${sha.slice(0, 12)} with prune`, (op) => op.revision === sha);
  w.print(w.kubectl("-n", NS, "get", "services", "-o", "name").trim() || "(no Service left in namespace guestbook)");
  if (w.neighbour) {
    for (let i = 0; i < 60 && (await w.services.clusters.get(w.neighbour))?.status.revision !== sha; i++) await new Promise((r) => setTimeout(r, 500));
    await w.settle?.();
    w.print(`# ${w.neighbour} tracks the same path with --sync apply and no --prune: it keeps its Service, reported Extra`);
  }
  await show(w);
}

async function rollback(w: Workshop): Promise<void> {
  w.say("GitOps workshop 5/5: roll back to the revision before: the Service is back, automation paused until resumed");
  await w.converge("rollback", "--cluster", NAME);
  w.print(w.kubectl("-n", NS, "get", "services", "-o", "name").trim());
  await show(w);
  await w.converge("sync", "--cluster", NAME, "--resume");
  w.print(w.kubectl("-n", NS, "get", "services", "-o", "name").trim() || "(no Service left in namespace guestbook: Git's state again)");
  await show(w);
}
