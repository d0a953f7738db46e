/**
 * Pull requests: how an image update proposes its commit instead of pushing it to the tracked
 * branch. GitHub's pulls API (https://docs.github.com/en/rest/pulls/pulls: list with `head`
 * and `base`, create with `title`, `head`, `base`, `body`) through @octokit/request, sent to
 * GitHub, GitHub Enterprise or Gitea, whose API takes the same calls and bodies
 * (https://docs.gitea.com/api/ — `repoListPullRequests`, `repoCreatePullRequest`) under
 * `<origin>/api/v1`. The host and its API URL are the source's (./host.ts).
 */
import { request } from "@octokit/request";
import type { ClusterSpec } from "../cluster/spec.js";
import { authorizedHost } from "./auth.js";
import { hostFailure } from "./host.js";

/** A pull request open from `head` into `base`. */
export interface PullRequest {
  number: number;
  /** Its page on the host. */
  url: string;
  /** False when one was open already for the same branches (the new commit joined it). */
  created: boolean;
}

/** What to open: the branch with the commits, the branch to merge into, title and description. */
export interface PullRequestDraft {
  head: string;
  base: string;
  title: string;
  body: string;
}

/**
 * Opens a pull request on a cluster source's repository, or finds the one already open from
 * `head` into `base`. Implementations throw an Error naming the repository, the branches and
 * the cause when the host has no API, no token, or answers an error.
 */
export interface PullRequestPort {
  open(source: ClusterSpec["source"], draft: PullRequestDraft): Promise<PullRequest>;
}

interface PullJson {
  number: number;
  html_url: string;
  head: { ref: string };
  base: { ref: string };
}

/**
 * A port calling the host with the source's Git token (./auth.ts), which needs GitHub's `repo` scope (classic), "Pull requests: write" and "Contents: write"
 * (fine-grained), or Gitea's `write:repository`.
 * @param o.region AWS region of the Secrets Manager secrets holding Git tokens.
 * @param o.timeoutMs limit of one call, milliseconds (default 10,000).
 */
export function createPullRequestPort(o: { region: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): PullRequestPort {
  return {
    async open(source, draft) {
      const { api, authorization, what } = await authorizedHost(source, `pull request ${draft.head} → ${draft.base} on`, o);
      const call = { baseUrl: api.baseUrl, headers: { authorization }, owner: api.owner, repo: api.repo, request: { signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) } };
      // GitHub filters by head and base; Gitea lists the open ones (newest first), filtered here
      const findOpen = async () => {
        const { data } = await request("GET /repos/{owner}/{repo}/pulls", { ...call, state: "open", head: `${api.owner}:${draft.head}`, base: draft.base, per_page: 50, limit: 50 });
        const pr = (data as PullJson[]).find((p) => p.head.ref === draft.head && p.base.ref === draft.base);
        return pr && { number: pr.number, url: pr.html_url, created: false };
      };
      try {
        const open = await findOpen();
        if (open) return open;
        const { data } = await request("POST /repos/{owner}/{repo}/pulls", { ...call, ...draft });
        return { number: (data as PullJson).number, url: (data as PullJson).html_url, created: true };
      } catch (err) {
        throw new Error(`${what} via ${api.host} ${api.baseUrl} failed: ${hostFailure(err)}`);
      }
    },
  };
}
