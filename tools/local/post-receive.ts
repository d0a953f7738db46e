/**
 * The program of the local Git server's `post-receive` hook (installed by `push-hook.ts`; git
 * runs it in the bare repository after a push, the updated refs on stdin). For each ref it
 * POSTs a signed GitHub `push` delivery to `$CONVERGE_WEBHOOK_URL` and prints the answer, which
 * the pusher sees as `remote: converge: ...`. A webhook that does not answer is reported, never
 * fails the push (the refs are already updated, as on GitHub).
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { sign } from "@octokit/webhooks-methods";
import { githubPushPayload, type PushCommit, type PushedRef } from "./push-hook.js";

const ZERO = "0".repeat(40);
const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

/** The commits `before..after` brought (the new head alone for a new branch), oldest first, with their changed files. */
function commits(before: string, after: string): PushCommit[] {
  if (after === ZERO) return [];
  const range = before === ZERO ? ["-1", after] : ["--reverse", "--max-count=20", `${before}..${after}`];
  const out = git("log", "--no-renames", "--name-status", "--format=%x1e%H%x1f%aI%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%B%x1f", ...range);
  return out
    .split("\x1e")
    .filter((r) => r.trim())
    .map((r) => {
      const [id = "", timestamp = "", an = "", ae = "", cn = "", ce = "", message = "", files = ""] = r.split("\x1f");
      const changes = files
        .split("\n")
        .map((l) => l.split("\t"))
        .filter((f) => f.length === 2);
      const of = (s: string) => changes.filter(([k]) => k === s).map(([, p]) => p!);
      return {
        id,
        timestamp,
        message: message.trim(),
        author: { name: an, email: ae },
        committer: { name: cn, email: ce },
        added: of("A"),
        removed: of("D"),
        modified: changes.filter(([k]) => k !== "A" && k !== "D").map(([, p]) => p!),
      };
    });
}

/** Whether `before` is not an ancestor of `after` (a force push). */
function forced(before: string, after: string): boolean {
  if (before === ZERO || after === ZERO) return false;
  try {
    git("merge-base", "--is-ancestor", before, after);
    return false;
  } catch {
    return true;
  }
}

/** The webhook's JSON answer in a few words. */
function summary(status: number, text: string): string {
  try {
    const a = JSON.parse(text) as { enqueued?: number; clusters?: string[]; error?: string; ignored?: string; duplicate?: boolean };
    if (a.error) return `${status} ${a.error}`;
    if (a.ignored) return `${status} ignored: ${a.ignored}`;
    if (a.duplicate) return `${status} duplicate delivery`;
    return `${status}, ${a.enqueued ?? 0} cluster(s) enqueued${a.clusters?.length ? `: ${a.clusters.join(", ")}` : ""}`;
  } catch {
    return `${status} ${text.slice(0, 200)}`;
  }
}

/** Delivers one ref update. */
async function deliver(url: string, secret: string, repoUrl: string, push: PushedRef): Promise<string> {
  const body = JSON.stringify(githubPushPayload(repoUrl, push, process.env.USER ?? "converge-local"));
  const headers = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/converge-local",
    "x-github-event": "push",
    "x-github-delivery": randomUUID(),
    "x-hub-signature-256": await sign(secret, body),
  };
  try {
    const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(20_000) });
    return `converge: push ${push.ref} ${push.after.slice(0, 12)} -> ${url} ${summary(res.status, await res.text())}`;
  } catch (err) {
    return `converge: the webhook ${url} did not answer (${(err as Error).message}): is \`npm run demo -- --keep\` still running?`;
  }
}

const { CONVERGE_WEBHOOK_URL: url, CONVERGE_WEBHOOK_SECRET: secret, CONVERGE_HOOK_REPO_URL: repoUrl } = process.env;
if (!url || !secret || !repoUrl) {
  console.log("converge: post-receive hook without CONVERGE_WEBHOOK_URL, CONVERGE_WEBHOOK_SECRET or CONVERGE_HOOK_REPO_URL: no webhook delivered");
} else {
  for (const line of readFileSync(0, "utf8").split("\n").filter(Boolean)) {
    const [before = ZERO, after = ZERO, ref = ""] = line.trim().split(/\s+/);
    console.log(await deliver(url, secret, repoUrl, { ref, before, after, forced: forced(before, after), commits: commits(before, after) }));
  }
}
