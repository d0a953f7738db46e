/**
 * What a call to a Git host's API needs besides its own body: where the API is (./host.ts)
 * and the source's Git token as `Authorization: token <token>`, which GitHub and Gitea both
 * accept (https://docs.github.com/en/rest/authentication, https://docs.gitea.com/development/api-usage).
 */
import type { ClusterSpec } from "../cluster/spec.js";
import { gitToken } from "../secrets.js";
import { hostApi, type HostApi } from "./host.js";

/**
 * The host API of `source` and the authorization header of its token.
 * @param label what the call does (`commit status converge on`), for the errors; the
 *   repository is added to it.
 * @param o.region AWS region of the Secrets Manager secrets holding Git tokens; `o.env` where
 *   `tokenEnv` credentials are read (default process.env).
 * @returns `what`: the label with the repository, for the caller's own errors.
 * @throws Error naming the label, the repository and what to set when the source has no host
 *   API, no credentials, or its token cannot be read.
 */
export async function authorizedHost(source: ClusterSpec["source"], label: string, o: { region: string; env?: NodeJS.ProcessEnv }): Promise<{ api: HostApi; authorization: string; what: string }> {
  const api = hostApi(source);
  const what = `${label} ${api ? `${api.owner}/${api.repo}` : source.repoUrl}`;
  if (!api) throw new Error(`${what}: no host API for ${source.repoUrl} (github.com, or set the cluster's --status-host github|gitea)`);
  if (!source.credentials) throw new Error(`${what}: the source has no Git token for the host's API (--git-token-env, --git-token-file or --git-token-secret)`);
  const token = await gitToken(source.credentials, o.region, o.env).catch((err: Error) => {
    throw new Error(`${what}: ${err.message}`);
  });
  return { api, authorization: `token ${token}`, what };
}
