/**
 * GitLab deliveries: recognised by `X-Gitlab-Event`, authenticated by `X-Gitlab-Token` (the
 * webhook's secret token sent as is, compared in constant time), identified by
 * `Idempotency-Key` (the same across retries, GitLab 17.4+) or else `X-Gitlab-Event-UUID`
 * (https://docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers). A `Push Hook`
 * is read from the documented payload (https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events);
 * `Tag Push Hook` and other events are ignored.
 */
import * as z from "zod";
import { changedPaths, describeIssues, refKind, urlForms, ZERO_SHA, type GitHost } from "../host.js";
import { matchesToken } from "../verify.js";

const Commit = z.object({ added: z.array(z.string()).optional(), modified: z.array(z.string()).optional(), removed: z.array(z.string()).optional() });

const Repo = z.object({ git_http_url: z.string().optional(), git_ssh_url: z.string().optional(), web_url: z.string().optional(), homepage: z.string().optional() });

const PushPayload = z.object({
  ref: z.string(),
  before: z.string(),
  after: z.string(),
  user_username: z.string().optional(),
  project: Repo.optional(),
  repository: Repo.optional(),
  commits: z.array(Commit).optional(),
  total_commits_count: z.number().optional(),
});

/** GitLab lists the newest 20 commits of a push at most (`total_commits_count` has the real number). */
const LISTED_COMMITS_CAP = 20;

/** The GitLab host module. */
export const gitlab: GitHost = {
  name: "gitlab",
  recognises: (h) => !!h["x-gitlab-event"],
  verify(h, _body, secrets) {
    const token = h["x-gitlab-token"];
    if (!token) return "missing X-Gitlab-Token header";
    return matchesToken(token, secrets) ? undefined : "X-Gitlab-Token does not match";
  },
  interpret(h, payload) {
    const event = h["x-gitlab-event"];
    if (event === "Tag Push Hook") return { ignored: "tag pushes are not handled" };
    if (event !== "Push Hook") return { ignored: `event "${event}" is not handled` };
    const delivery = h["idempotency-key"] ?? h["x-gitlab-event-uuid"];
    if (!delivery) return { error: "missing Idempotency-Key / X-Gitlab-Event-UUID header" };
    const parsed = PushPayload.safeParse(payload);
    if (!parsed.success) return { error: `not a push payload: ${describeIssues(parsed.error.issues)}` };
    const p = parsed.data;
    const repoUrls = urlForms(p.project?.git_http_url, p.project?.git_ssh_url, p.project?.web_url, p.repository?.git_http_url, p.repository?.git_ssh_url, p.repository?.homepage);
    return {
      pushes: [
        {
          host: "gitlab",
          deliveryId: delivery,
          repoUrls,
          ref: p.ref,
          ...refKind(p.ref),
          before: p.before,
          after: p.after,
          deleted: p.after === ZERO_SHA,
          // total_commits_count above the listed commits means the list was cut; without it, a full list may have been
          changed: changedPaths(p.commits, p.total_commits_count, p.total_commits_count === undefined ? LISTED_COMMITS_CAP : Number.POSITIVE_INFINITY),
          pusher: p.user_username,
        },
      ],
    };
  },
};
