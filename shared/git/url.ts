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

/** Host names of cloud metadata services (GCP: https://cloud.google.com/compute/docs/metadata/overview). */
const METADATA_NAMES = ["metadata.google.internal", "metadata.goog"];

/** The eight 16-bit groups of an IPv6 address as WHATWG URL writes it (hex, `::` compressed, no dotted tail), or undefined. */
function ipv6Groups(h: string): number[] | undefined {
  const [head = "", tail, extra] = h.split("::");
  if (extra !== undefined) return undefined;
  const parse = (s: string) => (s ? s.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const a = parse(head);
  const b = parse(tail ?? "");
  const groups = tail === undefined ? a : [...a, ...Array(8 - a.length - b.length).fill(0), ...b];
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * Why a connection to `hostname` is refused, or undefined when it is allowed. Refused: link-local
 * addresses (169.254.0.0/16, fe80::/10, also as IPv4-mapped IPv6 `::ffff:169.254.x.y`), where
 * cloud metadata services answer (AWS IMDS 169.254.169.254 and fd00:ec2::254:
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html), the
 * unspecified and "this network" addresses (0.0.0.0/8, `::`: the local host on Linux), and the
 * metadata host names above. A name resolving to such an address is not detected.
 * @param hostname as `new URL(...).hostname` gives it: IPv4 dotted (decimal and hex forms already
 *   normalized), IPv6 in brackets, compressed.
 */
export function refusedHost(hostname: string): string | undefined {
  const h = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (METADATA_NAMES.includes(h)) return `${hostname} is a cloud metadata service`;
  const g = h.includes(":") ? ipv6Groups(h) : undefined;
  const mapped = g?.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff ? [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255] : undefined;
  const v4 = mapped ?? (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? h.split(".").map(Number) : undefined);
  if (v4?.[0] === 169 && v4[1] === 254) return `${hostname} is a link-local address, where cloud metadata services answer`;
  if (v4?.[0] === 0) return `${hostname} is the unspecified address (this host)`;
  if (!g || mapped) return undefined;
  if (g.every((x) => x === 0)) return `${hostname} is the unspecified address (this host)`;
  if ((g[0]! & 0xffc0) === 0xfe80) return `${hostname} is a link-local address, where cloud metadata services answer`;
  if (g.join(":") === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(":")) return `${hostname} is a cloud metadata service (AWS IMDS over IPv6)`;
  return undefined;
}

/**
 * Why the repository or API server at `url` is refused (see refusedHost), or undefined. Takes
 * http(s), ssh and git URLs and scp-like `user@host:path`; anything it cannot parse is left to
 * the caller's own validation.
 */
export function refusedUrl(url: string): string | undefined {
  const raw = url.trim();
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)/.exec(raw);
  try {
    const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? new URL(raw).hostname : scp?.[1];
    // an http URL normalizes the host as a resolver reads it (`2852039166`, `0xa9.254.169.254`)
    return host ? refusedHost(new URL(`http://${host}`).hostname) : undefined;
  } catch {
    return undefined;
  }
}
