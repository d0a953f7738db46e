/**
 * Which Git host API serves a source's repository, for the calls Converge makes besides Git
 * itself (commit statuses, pull requests): GitHub's REST API for github.com, the one given by the source's
 * `statuses` setting otherwise (GitHub Enterprise, Gitea).
 */
import type { ClusterSpec } from "../cluster/spec.js";

/** Where a repository's host API is. */
export interface HostApi {
  host: "github" | "gitea";
  /** API base URL without a trailing `/`: `https://api.github.com`, `https://ghe.example.com/api/v3`, `https://gitea.example.com/api/v1`. */
  baseUrl: string;
  owner: string;
  repo: string;
}

/** Host, path prefix and the last two path segments of a repository URL in any form Git takes (https://, ssh://, git@host:org/repo). */
function parseRepo(repoUrl: string): { hostname: string; origin: string; prefix: string; owner: string; repo: string } | undefined {
  const raw = repoUrl.trim();
  let hostname: string;
  let origin: string;
  let path: string;
  if (/^https?:\/\//i.test(raw)) {
    const u = new URL(raw);
    hostname = u.hostname.toLowerCase();
    origin = u.origin;
    path = u.pathname;
  } else {
    const m = /^(?:ssh:\/\/)?(?:[^@/\s]+@)?([^:/\s]+)(?::\d+)?[:/](.+)$/i.exec(raw.replace(/^git:\/\//i, ""));
    if (!m) return undefined;
    hostname = m[1]!.toLowerCase();
    origin = `https://${hostname}`;
    path = m[2]!;
  }
  const parts = path
    .replace(/\.git\/?$/i, "")
    .split("/")
    .filter(Boolean);
  if (parts.length < 2) return undefined;
  return {
    hostname,
    origin,
    prefix: parts
      .slice(0, -2)
      .map((p) => `/${p}`)
      .join(""),
    owner: parts.at(-2)!,
    repo: parts.at(-1)!,
  };
}

/**
 * The host API of `source`: `statuses.host` when given (`none` turns it off), else GitHub for
 * github.com. The base URL is `statuses.apiUrl` when given, else `https://api.github.com` for
 * github.com, `https://<host>/api/v3` for GitHub Enterprise
 * (https://docs.github.com/en/enterprise-server/rest/quickstart), `<origin>[/<sub-path>]/api/v1`
 * for Gitea (https://docs.gitea.com/development/api-usage). Owner and repository are the last
 * two segments of the repository URL's path, without `.git`.
 * @returns undefined when no host API applies (another host without the setting, `none`, or a
 *   URL without owner and repository).
 */
export function hostApi(source: Pick<ClusterSpec["source"], "repoUrl" | "statuses">): HostApi | undefined {
  const r = parseRepo(source.repoUrl);
  if (!r) return undefined;
  const host = source.statuses?.host ?? (r.hostname === "github.com" ? "github" : undefined);
  if (!host || host === "none") return undefined;
  const given = source.statuses?.apiUrl?.replace(/\/+$/, "");
  const baseUrl = given ?? (host === "gitea" ? `${r.origin}${r.prefix}/api/v1` : r.hostname === "github.com" ? "https://api.github.com" : `${r.origin}/api/v3`);
  return { host, baseUrl, owner: r.owner, repo: r.repo };
}

/** The message of a failed host API request: HTTP status and the host's own message when it sent one. */
export function hostFailure(err: unknown): string {
  const e = err as { status?: number; message?: string; response?: { data?: { message?: string } } };
  const hostMessage = e.response?.data?.message;
  return e.status ? `HTTP ${e.status}${hostMessage ? `: ${hostMessage}` : e.message ? `: ${e.message}` : ""}` : String(e.message ?? err);
}
