/**
 * What every Git host module (`hosts/*.ts`) provides, and the one normalized push they all
 * turn their own payload into, so the pipeline (`receive.ts`) handles them alike.
 */

/** The hosts Converge accepts pushes from; also the keys of the webhook secret (`secrets.ts`). */
export const HOST_NAMES = ["github", "gitlab", "bitbucket-cloud", "bitbucket-server", "gitea", "azure-devops"] as const;

/** One of `HOST_NAMES`. `gitea` covers Gitea, Forgejo and Gogs (same payload and signature). */
export type HostName = (typeof HOST_NAMES)[number];

/** The all-zero object id hosts send as `before` of a created ref and `after` of a deleted one. */
export const ZERO_SHA = "0".repeat(40);

/** A commit id: 40 hex digits (SHA-1) or 64 (SHA-256 repositories). */
export const COMMIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** One ref a delivery reports as pushed, whichever host sent it. */
export interface Push {
  host: HostName;
  /** The host's id of the delivery (retries and manual redeliveries keep it). */
  deliveryId: string;
  /** Every URL form of the repository the payload gives (clone, SSH, web), as given. */
  repoUrls: string[];
  /** Full ref name, `refs/heads/main`. */
  ref: string;
  /** Set for `refs/heads/*`. */
  branch?: string;
  /** Set for `refs/tags/*`. */
  tag?: string;
  /** Commit before the push; `ZERO_SHA` when the ref was created. */
  before: string;
  /** Commit after the push; `ZERO_SHA` when the ref was deleted. */
  after: string;
  deleted: boolean;
  /**
   * Union of the paths added, modified and removed by the pushed commits; undefined when the
   * payload lists no files (Bitbucket, Azure DevOps) or may list only part of the commits.
   */
  changed?: string[];
  /** Who pushed, as the host names them. */
  pusher?: string;
}

/** What a host module makes of a verified, parsed delivery. */
export type Interpretation = { ping: true } | { ignored: string } | { error: string } | { pushes: Push[] };

/** Headers with lower-case names. */
export type Headers = Record<string, string | undefined>;

/** One Git host: how its deliveries are recognised, verified and read. */
export interface GitHost {
  name: HostName;
  /** True when the headers say this host sent the request (checked in `receive.ts`'s order). */
  recognises(h: Headers): boolean;
  /** Undefined when the delivery proves it knows one of `secrets`, else the reason it does not. */
  verify(h: Headers, body: Buffer, secrets: readonly string[]): string | undefined;
  /** The delivery's meaning: a ping, an event to ignore, a malformed payload, or the pushed refs. */
  interpret(h: Headers, payload: unknown): Interpretation;
}

/** `branch` / `tag` of a full ref name. */
export function refKind(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
  if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
  return {};
}

/** A commit as GitHub, GitLab and Gitea list it, with its changed paths when the host gives them. */
export interface ListedCommit {
  added?: string[];
  modified?: string[];
  removed?: string[];
}

/**
 * The union of the listed commits' added, modified and removed paths, or undefined when it may
 * be incomplete: no commit listed (a rewind or a new branch without commits), a commit without
 * its file lists, `total` saying more commits were pushed than listed, or `cap` or more listed
 * (the host truncates the list at `cap`).
 */
export function changedPaths(commits: readonly ListedCommit[] | undefined, total: number | undefined, cap: number): string[] | undefined {
  if (!commits?.length || commits.length >= cap || (total !== undefined && total > commits.length)) return undefined;
  const paths = new Set<string>();
  for (const c of commits) {
    if (!c.added || !c.modified || !c.removed) return undefined;
    for (const p of [...c.added, ...c.modified, ...c.removed]) paths.add(p);
  }
  return [...paths].sort();
}

/** The defined, distinct strings of `urls`. */
export function urlForms(...urls: (string | null | undefined)[]): string[] {
  return [...new Set(urls.filter((u): u is string => typeof u === "string" && u.length > 0))];
}

/** The zod issues of a failed parse as one line: `path: message; ...`. */
export function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; ");
}
