/**
 * `npm run demo`: the main job on real input, with nothing configured.
 * 1. starts the local stack (DynamoDB Local, ElasticMQ, Git server, two Kubernetes clusters);
 * 2. registers two clusters tracking `guestbook` and `sock-shop/base` of the Argo CD example
 *    repository (sync policy apply);
 * 3. pushes the real commit 0d521c6 of that repository to the Git server and delivers a
 *    signed GitHub push webhook for it; the reconcile function applies it;
 * 4. changes a live Deployment with kubectl, waits for the clusters' interval and lets a
 *    tick detect it;
 * 5. prints `converge status` and `converge drift history` showing that Modified drift.
 * The terminal shows the steps and the CLI's output; the functions' JSON logs and EMF metric
 * lines (and anything else written to stdout/stderr in this process) go to `.converge/demo.log`.
 * With `--keep`, the stack stays up (Ctrl-C stops it) and `.converge/local.env` holds the
 * variables to use the CLI against it from another shell.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "@octokit/webhooks-methods";
import { startTestbed } from "./testbed/index.js";
import { drain, serveFunctionUrl, localContext } from "./local/lambda.js";
import { routeOutputToLog } from "./local/output.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const REAL_COMMIT = "0d521c6e049889134f3122eb32d7ed342f43ca0d";
const SECRET = "demo-webhook-secret";
const keep = process.argv.includes("--keep");
const logFile = join(root, ".converge", "demo.log");
const term = routeOutputToLog(logFile);
const print = term.out;
const say = (s: string) => print(`\n\x1b[1m== ${s}\x1b[0m`);
const reconciled = (r: { received: number; failed: number }) => print(`the reconcile function handled ${r.received} task(s), ${r.failed} failed`);
const logName = relative(process.cwd(), logFile) || logFile;
const t0 = Date.now();
let finished = false;

const bed = await startTestbed({ clusters: 2, prefix: "demo", log: (s) => term.err(`[testbed] ${s}`) }).catch((err: unknown) => {
  term.restore();
  throw err;
});
try {
  const [c1, c2] = bed.clusters as [(typeof bed.clusters)[number], (typeof bed.clusters)[number]];
  Object.assign(process.env, bed.env, { CONVERGE_WEBHOOK_SECRET: SECRET });
  mkdirSync(join(root, ".converge"), { recursive: true });
  writeFileSync(join(root, ".converge", "local.env"), Object.entries({ ...bed.env, CONVERGE_WEBHOOK_SECRET: SECRET }).filter(([k]) => k.startsWith("CONVERGE_") || k.startsWith("AWS_")).map(([k, v]) => `export ${k}='${v}'`).join("\n") + "\n");
  const { main } = await import("../cli/main.js");
  const converge = async (...args: string[]) => {
    print(`$ converge ${args.join(" ")}`);
    const code = await main(["node", "converge", ...args], print, term.err);
    if (code !== 0) throw new Error(`converge ${args.join(" ")} exited ${code}`);
  };
  const kubectl = (c: typeof c1, ...args: string[]) => {
    print(`$ kubectl --context ${c.context} ${args.join(" ")}`);
    return execFileSync(bed.kubectl, ["--kubeconfig", c.kubeconfig, "--context", c.context, ...args], { encoding: "utf8" });
  };
  const git = (...args: string[]) => execFileSync("git", ["-C", join(bed.gitRoot, "argocd-example-apps.git"), ...args], { encoding: "utf8" }).trim();

  say("the Git server serves the example repository one commit before the real push we replay");
  const parent = git("rev-parse", `${REAL_COMMIT}^`);
  git("update-ref", "refs/heads/master", parent);
  print(`${bed.repoUrl} master = ${parent.slice(0, 12)}`);

  say("register two clusters");
  kubectl(c2, "create", "namespace", "sock-shop");
  await converge("cluster", "add", "guestbook-prod", "--repo", bed.repoUrl, "--branch", "master", "--path", "guestbook", "--namespace", "default", "--kubeconfig", c1.kubeconfig, "--context", c1.context, "--interval", "30s", "--sync", "apply");
  await converge("cluster", "add", "sockshop-prod", "--repo", bed.repoUrl, "--branch", "master", "--path", "sock-shop/base", "--namespace", "sock-shop", "--kubeconfig", c2.kubeconfig, "--context", c2.context, "--interval", "30s", "--sync", "apply");
  await converge("cluster", "list");

  say(`push the real commit ${REAL_COMMIT.slice(0, 7)} and deliver a signed GitHub push webhook`);
  git("update-ref", "refs/heads/master", REAL_COMMIT);
  const webhook = await import("../functions/webhook/index.js");
  const reconcile = await import("../functions/reconcile/index.js");
  const tickFn = await import("../functions/tick/index.js");
  const served = await serveFunctionUrl(webhook.handler as Parameters<typeof serveFunctionUrl>[0]);
  const { createRequire } = await import("node:module");
  const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as { name: string; examples: Record<string, unknown>[] }[];
  const payload = structuredClone(examples.find((e) => e.name === "push")!.examples.find((p) => String(p.ref).startsWith("refs/heads/"))!) as Record<string, unknown> & { repository: Record<string, unknown> };
  Object.assign(payload, { ref: "refs/heads/master", before: parent, after: REAL_COMMIT });
  payload.repository = { ...payload.repository, full_name: "argoproj/argocd-example-apps", clone_url: bed.repoUrl, html_url: bed.repoUrl.replace(/\.git$/, "") };
  const body = JSON.stringify(payload);
  const res = await fetch(served.url, { method: "POST", body, headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": `demo-${Date.now()}`, "x-hub-signature-256": await sign(SECRET, body) } });
  print(`POST ${served.url} -> ${res.status} ${await res.text()}`);
  await served.close();

  const { sqsClient } = await import("../shared/queue/tasks.js");
  const { loadConfig } = await import("../shared/config.js");
  const sqs = sqsClient(loadConfig());
  const queueUrl = process.env.CONVERGE_QUEUE_URL!;
  say("the reconcile function consumes the queue: fetch, render, apply, compare");
  reconciled(await drain(sqs, queueUrl, reconcile.handler as Parameters<typeof drain>[2]));
  await converge("status");

  say("change a live Deployment behind Git's back");
  kubectl(c1, "-n", "default", "set", "image", "deployment/guestbook-ui", "guestbook-ui=nginx:1.27-edited-by-hand");
  kubectl(c1, "-n", "default", "scale", "deployment/guestbook-ui", "--replicas=3");

  say("wait for the 30 s interval, then the scheduled tick enqueues the due clusters");
  const { createServices } = await import("../shared/services.js");
  const s = createServices();
  const due = Math.max(...(await s.clusters.listAll()).map((c) => c.nextDueAt));
  const waitMs = Math.max(0, due - Date.now() + 500);
  print(`waiting ${(waitMs / 1000).toFixed(0)} s`);
  await new Promise((r) => setTimeout(r, waitMs));
  print(`tick -> ${JSON.stringify(await (tickFn.handler as unknown as (e: unknown, c: unknown) => Promise<unknown>)({}, localContext("converge-tick")))}`);
  reconciled(await drain(sqs, queueUrl, reconcile.handler as Parameters<typeof drain>[2]));

  say("the central view and the drift history");
  await converge("status");
  await converge("drift", "history", "--cluster", "guestbook-prod", "--since", "1h");
  print(`\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(0)} s; the functions' JSON logs and EMF metrics are in ${logName}`);
  finished = true;
  if (keep) {
    print("stack kept running; in another shell: source .converge/local.env && npx converge status   (Ctrl-C stops)");
    await new Promise<void>((r) => process.once("SIGINT", () => r()));
  }
} finally {
  await bed.stop();
  term.restore();
  if (!finished) console.error(`the functions' logs: ${logName}`);
}
