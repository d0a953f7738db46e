/**
 * `npm run demo`: the main job on real input, with nothing configured.
 * 1. starts the local stack (DynamoDB Local, ElasticMQ, Git server, two Kubernetes clusters);
 * 2. registers two clusters tracking `guestbook` and `sock-shop/base` of the Argo CD example
 *    repository (sync policy apply);
 * 3. pushes the real commit 0d521c6 of that repository to the Git server and delivers a
 *    signed GitHub push webhook for it; the reconcile function applies it;
 * 4. changes a live Deployment with kubectl, waits for the clusters' interval and lets a
 *    tick detect it;
 * 5. prints `converge status` and `converge drift history` showing that Modified drift;
 * 6. starts the local control plane (tools/local/control-plane.ts: tick, queue worker, webhook
 *    URL, a post-receive hook on the Git server) and runs the GitOps workshop on it
 *    (tools/local/workshop.ts): self-heal, a pushed change applied, a removed file pruned;
 * 7. image update automation on it (tools/local/images-demo.ts): a real registry, a push of
 *    podinfo:6.7.1 with crane becomes a commit in Git, then a rollout.
 * The terminal shows the steps, the CLI's output and one line per control-plane event; the
 * functions' JSON logs and EMF metric lines (and anything else written to stdout/stderr in this
 * process) go to `.converge/demo.log`. `.converge/local.env` holds the variables to use the
 * CLI, git and kubectl against it from another shell. With `--keep`, the control plane keeps
 * running until Ctrl-C.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "@octokit/webhooks-methods";
import { startTestbed, type Testbed } from "./testbed/index.js";
import { drain, serveFunctionUrl, localContext } from "./local/lambda.js";
import { routeOutputToLog } from "./local/output.js";
import { startControlPlane, type LocalControlPlane } from "./local/control-plane.js";
import { writeLocalEnv } from "./local/env-file.js";
import { runWorkshop } from "./local/workshop.js";
import { runImagesDemo } from "./local/images-demo.js";
import { CRANE_VERSION, type Registry } from "./testbed/registry.js";
import { cacheDir } from "./testbed/cache.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const REAL_COMMIT = "0d521c6e049889134f3122eb32d7ed342f43ca0d";
const SECRET = randomBytes(16).toString("hex");
const REGISTRY_TOKEN = randomBytes(16).toString("hex");
const keep = process.argv.includes("--keep");
const logFile = join(root, ".converge", "demo.log");
const envFile = join(root, ".converge", "local.env");
const term = routeOutputToLog(logFile);
const print = term.out;
const say = (s: string) => print(`\n\x1b[1m== ${s}\x1b[0m`);
const reconciled = (r: { received: number; failed: number }) => print(`the reconcile function handled ${r.received} task(s), ${r.failed} failed`);
const logName = relative(process.cwd(), logFile) || logFile;
const t0 = Date.now();
let finished = false;
let plane: LocalControlPlane | undefined;
let registry: Registry | undefined;

type Cluster = Testbed["clusters"][number];
type ReconcileHandler = Parameters<typeof drain>[2];

const bed = await startTestbed({ clusters: 2, prefix: "demo", log: (s) => term.err(`[testbed] ${s}`) }).catch((err: unknown) => {
  term.restore();
  throw err;
});
const bare = join(bed.gitRoot, "argocd-example-apps.git");
const git = (...args: string[]) => execFileSync("git", ["-C", bare, ...args], { encoding: "utf8" }).trim();
const kubectl = (c: Cluster, ...args: string[]) => {
  print(`$ kubectl --context ${c.context} ${args.join(" ")}`);
  return execFileSync(bed.kubectl, ["--kubeconfig", c.kubeconfig, "--context", c.context, ...args], { encoding: "utf8" });
};
Object.assign(process.env, bed.env, { CONVERGE_WEBHOOK_SECRET: SECRET, CONVERGE_REGISTRY_TOKEN: REGISTRY_TOKEN });
const converge = async (...args: string[]) => {
  print(`$ converge ${args.join(" ")}`);
  const { main } = await import("../cli/main.js");
  const code = await main(["node", "converge", ...args], print, term.err);
  if (code !== 0) throw new Error(`converge ${args.join(" ")} exited ${code}`);
};

/** Steps 2 and 3: two clusters registered, the real commit pushed and its webhook delivered, the queue drained. */
async function registerAndPush(c1: Cluster, c2: Cluster, reconcile: ReconcileHandler): Promise<void> {
  say("the Git server serves the example repository one commit before the real push we replay");
  const parent = git("rev-parse", `${REAL_COMMIT}^`);
  git("update-ref", "refs/heads/master", parent);
  print(`${bed.repoUrl} master = ${parent.slice(0, 12)}`);

  say("register two clusters");
  kubectl(c2, "create", "namespace", "sock-shop");
  await converge(
    "cluster",
    "add",
    "guestbook-prod",
    "--repo",
    bed.repoUrl,
    "--branch",
    "master",
    "--path",
    "guestbook",
    "--namespace",
    "default",
    "--kubeconfig",
    c1.kubeconfig,
    "--context",
    c1.context,
    "--interval",
    "30s",
    "--sync",
    "apply",
  );
  await converge(
    "cluster",
    "add",
    "sockshop-prod",
    "--repo",
    bed.repoUrl,
    "--branch",
    "master",
    "--path",
    "sock-shop/base",
    "--namespace",
    "sock-shop",
    "--kubeconfig",
    c2.kubeconfig,
    "--context",
    c2.context,
    "--interval",
    "30s",
    "--sync",
    "apply",
  );
  await converge("cluster", "list");

  say(`push the real commit ${REAL_COMMIT.slice(0, 7)} and deliver a signed GitHub push webhook`);
  git("update-ref", "refs/heads/master", REAL_COMMIT);
  const webhook = await import("../functions/webhook/index.js");
  const served = await serveFunctionUrl(webhook.handler as Parameters<typeof serveFunctionUrl>[0]);
  const { createRequire } = await import("node:module");
  const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: Record<string, unknown>[] }[];
  const payload = structuredClone(examples.find((e) => e.name === "push")!.examples.find((p) => String(p.ref).startsWith("refs/heads/"))!) as Record<string, unknown> & {
    repository: Record<string, unknown>;
  };
  // the example's commit list names another repository's files: none listed, the webhook reads the push's files from Git
  Object.assign(payload, { ref: "refs/heads/master", before: parent, after: REAL_COMMIT, commits: [], head_commit: null });
  payload.repository = { ...payload.repository, full_name: "argoproj/argocd-example-apps", clone_url: bed.repoUrl, html_url: bed.repoUrl.replace(/\.git$/, "") };
  const body = JSON.stringify(payload);
  const res = await fetch(served.url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": `demo-${Date.now()}`, "x-hub-signature-256": await sign(SECRET, body) },
  });
  const answer = (await res.json().catch(() => ({}))) as { revision?: string; enqueued?: number; clusters?: string[]; error?: string };
  print(`the webhook answered ${res.status}: ${answer.error ?? `revision ${answer.revision?.slice(0, 12)}, ${answer.enqueued} cluster(s) enqueued: ${answer.clusters?.join(", ")}`}`);
  await served.close();

  say("the reconcile function consumes the queue: fetch, render, apply, compare");
  reconciled(await drainQueue(reconcile));
  await converge("status");
}

async function drainQueue(reconcile: ReconcileHandler) {
  const { sqsClient } = await import("../shared/queue/tasks.js");
  const { loadConfig } = await import("../shared/config.js");
  return drain(sqsClient(loadConfig()), process.env.CONVERGE_QUEUE_URL!, reconcile);
}

/** Steps 4 and 5: a live edit, found by the tick after the interval; status and drift history. */
async function editAndDetect(c1: Cluster, reconcile: ReconcileHandler): Promise<void> {
  say("change a live Deployment behind Git's back");
  kubectl(c1, "-n", "default", "set", "image", "deployment/guestbook-ui", "guestbook-ui=nginx:1.27-edited-by-hand");
  kubectl(c1, "-n", "default", "scale", "deployment/guestbook-ui", "--replicas=3");

  say("wait for the 30 s interval, then the scheduled tick enqueues the due clusters");
  const tickFn = await import("../functions/tick/index.js");
  const { createServices } = await import("../shared/services.js");
  const due = Math.max(...(await createServices().clusters.listAll()).map((c) => c.nextDueAt));
  const waitMs = Math.max(0, due - Date.now() + 500);
  print(`waiting ${(waitMs / 1000).toFixed(0)} s`);
  await new Promise((r) => setTimeout(r, waitMs));
  const ticked = (await (tickFn.handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)({}, localContext("converge-tick"))) as { due: number; enqueued: number; clusters: string[] };
  print(`the tick found ${ticked.due} cluster(s) due and enqueued ${ticked.enqueued}: ${ticked.clusters.join(", ")}`);
  reconciled(await drainQueue(reconcile));

  say("the central view and the drift history");
  await converge("status");
  await converge("drift", "history", "--cluster", "guestbook-prod", "--since", "1h");
}

/** Step 6: the control plane on its own (kept in `plane`), the workshop on it. */
async function workshop(c2: Cluster): Promise<void> {
  say("start the local control plane: tick, queue worker, webhook URL, push hook on the Git server");
  const cp = await startControlPlane({ tickMs: 2_000, hooks: [{ dir: bare, url: bed.repoUrl }], onEvent: (line) => print(`\x1b[2m${line}\x1b[0m`) });
  plane = cp;
  writeLocalEnv(envFile, { env: bed.env, webhookUrl: cp.webhookUrl, secret: SECRET, kubectl: bed.kubectl, clusters: bed.clusters });
  print(`webhook ${cp.webhookUrl}; ${relative(process.cwd(), envFile)} written`);
  const { createServices } = await import("../shared/services.js");
  await runWorkshop({
    print,
    say,
    converge,
    kubectl: (...args) => kubectl(c2, ...args),
    cluster: c2,
    repoUrl: bed.repoUrl,
    webhookUrl: cp.webhookUrl,
    workDir: join(root, ".converge", "workshop"),
    services: createServices(),
    neighbour: "guestbook-prod",
    settle: () => cp.check(),
  });
}

/**
 * Resolves at the first SIGINT or SIGTERM. The test bed's own handlers (tools/testbed/proc.ts:
 * kill its processes and exit at once) are set aside so that the control plane, the clusters and
 * the services stop in order; a second signal exits at once (the test bed's exit hooks still
 * kill its processes). tsx's hidden relay handler is not among `process.listeners()` and stays.
 */
function untilSignal(): Promise<void> {
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const sig of signals) for (const l of process.listeners(sig)) process.off(sig, l);
  let first = true;
  return new Promise((resolve) => {
    const on = () => {
      if (!first) {
        print("stopping at once");
        process.exit(130);
      }
      first = false;
      resolve();
    };
    for (const sig of signals) process.on(sig, on);
  });
}

/** Until Ctrl-C (or SIGTERM): the control plane keeps running, its events on the terminal. */
async function keepRunning(): Promise<void> {
  say("the control plane keeps running; Ctrl-C stops it");
  const env = relative(process.cwd(), envFile);
  for (const line of [
    `in another shell:  source ${env}`,
    "  npx converge status | npx converge sync history --cluster guestbook-auto | npx converge cluster add ...",
    '  git clone "$CONVERGE_GIT_URL" work && cd work   # commit and git push: the Git server\'s post-receive hook delivers the signed webhook',
    `  kubectl --context ${bed.clusters[1]!.context} -n guestbook delete deployment guestbook-ui   # self-heal puts it back at the next reconcile (<= 30 s)`,
    ...(registry
      ? [
          `  ${join(cacheDir("bin", `crane-${CRANE_VERSION}`), "crane")} append --oci-empty-base -f <a .tar> -t ${registry.host}/podinfo:6.7.2 --insecure   # a new tag: Converge commits it, podinfo-dev rolls it out`,
        ]
      : []),
    `functions' logs: ${logName}`,
  ])
    print(line);
  await untilSignal();
  print("stopping the control plane, the clusters and the services");
}

try {
  const [c1, c2] = bed.clusters as [Cluster, Cluster];
  const reconcile = (await import("../functions/reconcile/index.js")).handler as ReconcileHandler;
  await registerAndPush(c1, c2, reconcile);
  await editAndDetect(c1, reconcile);
  await workshop(c2);
  const { createServices } = await import("../shared/services.js");
  registry = await runImagesDemo({
    print,
    say,
    converge,
    kubectl: (...args) => kubectl(c1, ...args),
    cluster: c1,
    repoUrl: bed.repoUrl,
    receiveUrl: plane!.imageReceiveUrl!,
    token: REGISTRY_TOKEN,
    workDir: join(root, ".converge", "images"),
    services: createServices(),
    log: (line) => term.err(`[registry] ${line}`),
  });
  print(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(0)} s; the functions' JSON logs and EMF metrics are in ${logName}`);
  finished = true;
  if (keep) await keepRunning();
} finally {
  await plane?.stop();
  await registry?.stop();
  await bed.stop();
  if (keep && finished) print("stopped");
  term.restore();
  if (!finished) console.error(`the functions' logs: ${logName}`);
}
