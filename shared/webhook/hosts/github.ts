/**
 * GitHub (and GitHub Enterprise Server) deliveries: recognised by `X-GitHub-Event`, signed with
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, identified by `X-GitHub-Delivery`
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads#push). `ping` is answered 200.
 */
import * as z from "zod";
import { changedPaths, describeIssues, refKind, urlForms, ZERO_SHA, type GitHost, type Interpretation } from "../host.js";
import { checkSha256Header } from "../verify.js";

const Commit = z.object({ added: z.array(z.string()).optional(), modified: z.array(z.string()).optional(), removed: z.array(z.string()).optional() });

const PushPayload = z.object({
  ref: z.string(),
  before: z.string().optional(),
  after: z.string(),
  deleted: z.boolean().optional(),
  commits: z.array(Commit).optional(),
  /** Gitea's count of all pushed commits: its list stops at `[ui] FEED_MAX_COMMIT_NUM` (https://docs.gitea.com/administration/config-cheat-sheet). */
  total_commits: z.number().optional(),
  pusher: z.object({ name: z.string().optional() }).nullish(),
  repository: z.object({
    full_name: z.string().optional(),
    clone_url: z.string().optional(),
    ssh_url: z.string().optional(),
    html_url: z.string().optional(),
    git_url: z.string().optional(),
  }),
});

/**
 * Commits GitHub lists at most in the push event's `commits` (its docs state 20 for timeline
 * events); a list this long is taken as possibly truncated, so `changed` is left undefined.
 */
const LISTED_COMMITS_CAP = 20;

/** The GitHub host module. */
export const github: GitHost = {
  name: "github",
  recognises: (h) => !!h["x-github-event"],
  verify: (h, body, secrets) => checkSha256Header("X-Hub-Signature-256", h["x-hub-signature-256"], body, secrets),
  interpret: (h, payload) => interpretGithubShaped(payload, { host: "github", event: h["x-github-event"], delivery: h["x-github-delivery"], cap: LISTED_COMMITS_CAP }),
};

/** How to read a GitHub-shaped delivery: its host, event name, delivery id and commit-list cap. */
export interface GithubShape {
  host: "github" | "gitea";
  event: string | undefined;
  delivery: string | undefined;
  /** Commits the host lists at most (see `changedPaths`). */
  cap: number;
}

/** Reads a GitHub-shaped `ping` or `push` (Gitea, Forgejo and Gogs send the same shape, `gitea.ts`). */
export function interpretGithubShaped(payload: unknown, { host, event, delivery, cap }: GithubShape): Interpretation {
  if (event === "ping") return { ping: true };
  if (event !== "push") return { ignored: `event "${event ?? "(none)"}" is not handled` };
  if (!delivery) return { error: `missing delivery id header of ${host}` };
  const parsed = PushPayload.safeParse(payload);
  if (!parsed.success) return { error: `not a push payload: ${describeIssues(parsed.error.issues)}` };
  const p = parsed.data;
  const r = p.repository;
  return {
    pushes: [
      {
        host,
        deliveryId: delivery,
        repoUrls: urlForms(r.clone_url, r.ssh_url, r.html_url, r.git_url),
        ref: p.ref,
        ...refKind(p.ref),
        before: p.before ?? ZERO_SHA,
        after: p.after,
        deleted: p.deleted === true || p.after === ZERO_SHA,
        changed: changedPaths(p.commits, p.total_commits, cap),
        pusher: p.pusher?.name,
      },
    ],
  };
}
