/**
 * The CommitStatusPort over HTTP: GitHub's "create a commit status" call
 * (`POST /repos/{owner}/{repo}/statuses/{sha}`,
 * https://docs.github.com/en/rest/commits/statuses#create-a-commit-status) through
 * @octokit/request, sent to GitHub, GitHub Enterprise or Gitea, whose API takes the same call
 * and body (https://docs.gitea.com/api/ — `repoCreateStatus`) under `<origin>/api/v1`.
 */
import { request } from "@octokit/request";
import { authorizedHost } from "./auth.js";
import type { CommitStatus, CommitStatusPort } from "./commit-status.js";
import { hostFailure } from "./host.js";

/** Options of createCommitStatusPort. */
export interface CommitStatusPortOptions {
  /** AWS region of the Secrets Manager secrets holding Git tokens. */
  region: string;
  /** Where `tokenEnv` credentials are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Limit of one write, milliseconds (default 10,000). */
  timeoutMs?: number;
}

/**
 * A port writing statuses with the source's Git token (shared/secrets.ts `gitToken`) as
 * `Authorization: token <token>`, which GitHub and Gitea both accept. The token needs
 * GitHub's `repo:status` scope (classic), "Commit statuses: write" (fine-grained) or Gitea's
 * `write:repository`.
 * `write` throws an Error naming the context, repository, commit and cause when: the source has
 * no host API (hostApi), no credentials, the token cannot be read, or the host answers an error
 * or does not answer within the time limit.
 */
export function createCommitStatusPort(o: CommitStatusPortOptions): CommitStatusPort {
  return {
    async write(source, sha, status: CommitStatus) {
      const { api, authorization, what } = await authorizedHost(source, `commit status ${status.context} on`, o);
      const where = `${what}@${sha.slice(0, 7)}`;
      try {
        await request("POST /repos/{owner}/{repo}/statuses/{sha}", {
          baseUrl: api.baseUrl,
          headers: { authorization },
          owner: api.owner,
          repo: api.repo,
          sha,
          state: status.state,
          context: status.context,
          description: status.description,
          ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
          request: { signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) },
        });
      } catch (err) {
        throw new Error(`${where} via ${api.host} ${api.baseUrl} failed: ${hostFailure(err)}`);
      }
    },
  };
}
