/**
 * GitHub's webhook for the local Git server: a `post-receive` hook installed in a bare
 * repository that `git http-backend` serves. After every push, git runs it with one line
 * `<old> <new> <ref>` per updated ref; it POSTs one GitHub `push` delivery per ref — the payload
 * GitHub sends (https://docs.github.com/en/webhooks/webhook-events-and-payloads#push), signed
 * with `X-Hub-Signature-256` — to the local webhook function, and prints the answer, which git
 * shows the pusher as `remote:` lines. The hook's program is `post-receive.ts` (run by tsx).
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One commit as a push payload lists it. */
export interface PushCommit {
  id: string;
  message: string;
  /** ISO 8601 author date. */
  timestamp: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
  added: string[];
  removed: string[];
  modified: string[];
}

/** What a push changed: the ref, its old and new commit, and the commits it brought. */
export interface PushedRef {
  ref: string;
  before: string;
  after: string;
  forced: boolean;
  commits: PushCommit[];
}

const ZERO = "0".repeat(40);

/**
 * The GitHub `push` payload for `push` to the repository served at `repoUrl` (owner `local`,
 * name = the URL's path). Commits are listed as GitHub does: at most 20, oldest first.
 */
export function githubPushPayload(repoUrl: string, push: PushedRef, pusher = "converge-local"): Record<string, unknown> {
  const name = new URL(repoUrl).pathname.replace(/^\//, "").replace(/\.git$/, "");
  const html = repoUrl.replace(/\.git$/, "");
  const commits = push.commits.slice(-20).map((c) => ({ ...c, distinct: true, url: `${html}/commit/${c.id}` }));
  return {
    ref: push.ref,
    before: push.before,
    after: push.after,
    created: push.before === ZERO,
    deleted: push.after === ZERO,
    forced: push.forced,
    base_ref: null,
    compare: `${html}/compare/${push.before.slice(0, 12)}...${push.after.slice(0, 12)}`,
    commits,
    head_commit: commits.at(-1) ?? null,
    repository: {
      name: name.split("/").pop(),
      full_name: `local/${name}`,
      private: false,
      owner: { name: "local", login: "local" },
      html_url: html,
      url: html,
      clone_url: repoUrl,
      git_url: repoUrl.replace(/^https?:/, "git:"),
      ssh_url: `git@${new URL(repoUrl).hostname}:${name}.git`,
      default_branch: "master",
    },
    pusher: { name: pusher, email: `${pusher}@localhost` },
    sender: { login: pusher, type: "User" },
  };
}

/** Where the hook delivers: the webhook function's URL, the shared secret, the repository's URL as clusters name it. */
export interface HookTarget {
  webhookUrl: string;
  secret: string;
  repoUrl: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Installs (or replaces) `<bareDir>/hooks/post-receive`: a shell script running
 * `post-receive.ts` with this Node and tsx, the target in its environment.
 * @returns the hook's path.
 */
export function installPushHook(bareDir: string, target: HookTarget): string {
  const hook = join(bareDir, "hooks", "post-receive");
  const script = fileURLToPath(new URL("./post-receive.ts", import.meta.url));
  const env = { CONVERGE_WEBHOOK_URL: target.webhookUrl, CONVERGE_WEBHOOK_SECRET: target.secret, CONVERGE_HOOK_REPO_URL: target.repoUrl };
  const lines = [
    "#!/bin/sh",
    "# Installed by Converge's local mode (tools/local/push-hook.ts): delivers a signed GitHub push webhook.",
    `${Object.entries(env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(" ")} exec ${quote(process.execPath)} --import ${quote(import.meta.resolve("tsx"))} ${quote(script)}`,
  ];
  writeFileSync(hook, `${lines.join("\n")}\n`);
  chmodSync(hook, 0o755);
  return hook;
}
