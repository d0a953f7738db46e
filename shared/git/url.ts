/**
 * Repository URL normalization, so that a push payload's `clone_url`, `ssh_url` or
 * `html_url` and a registered `--repo` in any of the forms Git accepts map to the same key.
 */

/**
 * Normalizes a Git remote URL to `host[:port]/path`, lower-cased, without scheme, user,
 * trailing `/` or `.git`:
 * `https://GitHub.com/Org/Repo.git`, `git@github.com:org/repo.git`,
 * `ssh://git@github.com/org/repo` and `http://github.com/org/repo/` all give `github.com/org/repo`.
 * Case is folded because GitHub and GitLab resolve owner and repository names case-insensitively
 * (as Argo CD's `NormalizeGitURL` does). Default ports (443, 80, 22) are dropped.
 * @throws Error when `url` is not an http(s), ssh, git or scp-like URL.
 */
export function normalizeRepoUrl(url: string): string {
  const raw = url.trim();
  let host: string;
  let path: string;
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/.exec(raw);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`invalid repository URL: ${url}`);
    }
    if (!["http:", "https:", "ssh:", "git:"].includes(u.protocol)) throw new Error(`unsupported repository URL scheme ${u.protocol} in ${url}`);
    const defaultPort = { "http:": "80", "https:": "443", "ssh:": "22", "git:": "9418" }[u.protocol];
    host = u.hostname + (u.port && u.port !== defaultPort ? `:${u.port}` : "");
    path = u.pathname;
  } else if (scp) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    throw new Error(`invalid repository URL: ${url} (expected https://host/org/repo or git@host:org/repo)`);
  }
  path = path
    .replace(/\/+$/, "")
    .replace(/\.git$/i, "")
    .replace(/^\/+/, "");
  if (!host || !path) throw new Error(`invalid repository URL: ${url} (no host or path)`);
  return `${host}/${path}`.toLowerCase();
}

/** The key of the `byRepo` index: normalized URL and branch, `github.com/org/repo#main`. */
export function repoKey(url: string, branch: string): string {
  return `${normalizeRepoUrl(url)}#${branch}`;
}
