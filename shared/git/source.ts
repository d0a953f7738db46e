/**
 * The Git side of a reconcile: resolve a branch head, fetch one revision shallowly, read the
 * files under a path straight from the object store (no checkout, so no file on disk can be a
 * symlink leaving it). Uses isomorphic-git (pure JS, runs in Lambda without a git binary).
 *
 * A bare repository per remote is kept under `<workDir>/git/`, so a warm Lambda reuses what
 * it fetched before: a revision already present is not fetched again.
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { join, posix } from "node:path";
import git, { type GitHttpRequest, type HttpClient } from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { normalizeRepoUrl } from "./url.js";

/** HTTPS credentials for a private repository (a token as the password). Never logged. */
export interface GitAuth {
  username?: string;
  password: string;
}

/** A file of the source: path relative to the repository root (`/`-separated) and its text. */
export interface SourceFile {
  path: string;
  content: string;
}

/** Largest file read from a source: 10 MiB. Bigger files fail the render (design brief: huge files). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** A problem with the source itself (missing path, oversized file, unknown branch): the cluster goes to Error. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = "SourceError";
  }
}

/**
 * Most objects one fetch may bring: 50,000 (`CONVERGE_MAX_FETCH_OBJECTS` overrides). A depth-1 fetch brings one object per file and
 * folder of the revision, and isomorphic-git receives the whole pack in memory and indexes it
 * in JavaScript: measured here, 100,000 tiny files took 30-38 s and 300 MB more resident memory
 * to fetch (the reconcile function has 512 MB), 50,000 about two thirds of that memory. Five
 * times what one source may read (shared/render/budget.ts MAX_SOURCE_FILES), for a repository
 * holding many sources.
 */
export const MAX_FETCH_OBJECTS = 50_000;

/**
 * The body of an upload-pack answer, unchanged, stopped at the pack's header when it announces
 * more than `limit` objects: the answer is pkt-lines (4 hex digits of length, then
 * the data), the pack comes on side band 1 and starts `PACK`, a version and the object count,
 * 32-bit big-endian (https://git-scm.com/docs/pack-format,
 * https://git-scm.com/docs/protocol-common#_pkt_line_format). The server sends the header once
 * it has counted the objects, so an oversized fetch ends before any object is received.
 * @throws SourceError naming the repository, the count and the limit (isomorphic-git's fetch rejects with it).
 */
async function* packGuard(body: AsyncIterableIterator<Uint8Array>, url: string, limit: number): AsyncGenerator<Uint8Array> {
  let lines = Buffer.alloc(0);
  let pack = Buffer.alloc(0);
  let checked = false;
  for await (const chunk of body) {
    if (!checked) lines = Buffer.concat([lines, chunk]);
    while (!checked && lines.length >= 4) {
      const length = Number.parseInt(lines.subarray(0, 4).toString("latin1"), 16);
      checked = Number.isNaN(length); // not pkt-lines: isomorphic-git reports it
      if (checked || (length >= 4 && lines.length < length)) break;
      const payload = lines.subarray(4, Math.max(4, length));
      lines = lines.subarray(Math.max(4, length));
      if (payload[0] === 1) pack = Buffer.concat([pack, payload.subarray(1)]);
      if (pack.length < 12) continue;
      checked = true;
      const objects = pack.readUInt32BE(8);
      if (pack.subarray(0, 4).toString("latin1") === "PACK" && objects > limit) {
        throw new SourceError(`repository ${url}: the fetch would bring ${objects} objects (files and folders), more than the limit of ${limit}`);
      }
    }
    if (checked) lines = Buffer.alloc(0);
    yield chunk;
  }
}

/** isomorphic-git's HTTP client with `packGuard` on every upload-pack answer; `url` (the repository's, as registered) names it in the error. */
function guardedHttp(url: string): HttpClient {
  const limit = Number(process.env.CONVERGE_MAX_FETCH_OBJECTS) || MAX_FETCH_OBJECTS;
  return {
    async request(req: GitHttpRequest) {
      const res = await http.request(req);
      return req.method === "POST" && req.url.endsWith("/git-upload-pack") && res.body ? { ...res, body: packGuard(res.body, url, limit) } : res;
    },
  };
}

/**
 * Turns isomorphic-git's HTTP errors that no retry can fix (404 repository not found,
 * 401/403 credentials refused) into a SourceError; anything else (network, 5xx) is rethrown
 * so the task is retried.
 */
function permanent(err: unknown, url: string): never {
  const e = err as { code?: string; data?: { statusCode?: number } };
  const status = e?.code === "HttpError" ? e.data?.statusCode : undefined;
  if (status === 404) throw new SourceError(`repository ${url} not found (HTTP 404)`);
  if (status === 401 || status === 403) throw new SourceError(`repository ${url} refused the credentials (HTTP ${status})`);
  throw err;
}

/** The branch asked for is not in the repository (the repository itself answered). */
export class BranchNotFoundError extends SourceError {
  constructor(
    message: string,
    readonly branch: string,
  ) {
    super(message);
    this.name = "BranchNotFoundError";
  }
}

/** A push the remote refused: the branch moved on since the commit's parent, or the server refused the update. Fetch the new head and try again. */
export class PushRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PushRejectedError";
  }
}

/**
 * Writes the tree `oid` (at repository folder `dir`) with the files of `files` under it
 * replaced by new blobs, and returns the new tree's id; subtrees without a change keep theirs.
 * @throws SourceError when a path of `files` under `dir` is not a file there.
 */
async function replaceInTree(gitdir: string, oid: string, dir: string, files: Map<string, string>): Promise<string> {
  const { tree } = await git.readTree({ fs, gitdir, oid });
  const prefix = dir ? `${dir}/` : "";
  const under = [...files.keys()].filter((p) => p.startsWith(prefix));
  const entries = [];
  for (const entry of tree) {
    const p = `${prefix}${entry.path}`;
    if (entry.type === "tree" && under.some((f) => f.startsWith(`${p}/`))) entries.push({ ...entry, oid: await replaceInTree(gitdir, entry.oid, p, files) });
    else if (entry.type === "blob" && files.has(p)) entries.push({ ...entry, oid: await git.writeBlob({ fs, gitdir, blob: Buffer.from(files.get(p)!, "utf8") }) });
    else entries.push(entry);
  }
  for (const f of under) {
    const rest = f.slice(prefix.length);
    const head = rest.split("/")[0]!;
    const entry = tree.find((e) => e.path === head);
    if (!entry || (rest === head && entry.type !== "blob") || (rest !== head && entry.type !== "tree")) throw new SourceError(`${f}: not a file of the commit written on`, f);
  }
  return git.writeTree({ fs, gitdir, tree: entries });
}

/** Fetches and reads revisions of remote repositories. */
export class GitSource {
  /** Number of network round trips (ref listings and fetches) made, for tests and benchmarks. */
  requests = 0;

  /** Tail of the chain of operations on each cached repository (see `exclusive`). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly workDir: string) {}

  /**
   * Runs `fn` after every earlier operation on `gitdir` settled: a batch reconciles clusters
   * in parallel, and two of them tracking one repository must not read it while the other's
   * fetch writes packs into it.
   */
  private exclusive<T>(gitdir: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(gitdir) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(gitdir, tail);
    void tail.then(() => {
      if (this.locks.get(gitdir) === tail) this.locks.delete(gitdir);
    });
    return next;
  }

  private gitdir(url: string): string {
    return join(this.workDir, "git", `${createHash("sha256").update(normalizeRepoUrl(url)).digest("hex").slice(0, 24)}.git`);
  }

  private onAuth(auth?: GitAuth) {
    return auth ? () => ({ username: auth.username ?? "x-access-token", password: auth.password }) : undefined;
  }

  /**
   * The commit SHA at the head of `branch` on the remote: one ref listing, nothing fetched.
   * @throws BranchNotFoundError (a SourceError) when the branch does not exist; SourceError when
   *   the repository does not exist or credentials are refused; network errors as thrown by isomorphic-git.
   */
  async resolveBranch(url: string, branch: string, auth?: GitAuth): Promise<string> {
    this.requests++;
    const refs = await git.listServerRefs({ http, url, prefix: `refs/heads/${branch}`, onAuth: this.onAuth(auth) }).catch((e: unknown) => permanent(e, url));
    const ref = refs.find((r) => r.ref === `refs/heads/${branch}`);
    if (!ref) throw new BranchNotFoundError(`branch "${branch}" not found in ${url}`, branch);
    return ref.oid;
  }

  /**
   * The commit a `ref` names: a 40-character SHA as it is, otherwise a tag (annotated tags
   * peeled to their commit): one ref listing.
   * @throws SourceError when no such tag exists.
   */
  async resolveRef(url: string, ref: string, auth?: GitAuth): Promise<string> {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    this.requests++;
    const refs = await git.listServerRefs({ http, url, prefix: `refs/tags/${ref}`, peelTags: true, onAuth: this.onAuth(auth) }).catch((e: unknown) => permanent(e, url));
    const tag = refs.find((r) => r.ref === `refs/tags/${ref}`);
    if (!tag) throw new SourceError(`tag "${ref}" not found in ${url}`);
    return tag.peeled ?? tag.oid;
  }

  /**
   * Makes `revision` (a commit SHA) available locally: nothing when already fetched; else a
   * depth-1 fetch of that SHA (servers must allow SHA wants, as GitHub does and
   * `uploadpack.allowReachableSHA1InWant` enables), falling back to fetching `branch`
   * deeper until the commit appears. Each fetch stops when its pack holds more than
   * MAX_FETCH_OBJECTS objects.
   * @throws SourceError when the revision cannot be found on the remote, or a fetch would bring
   *   more than MAX_FETCH_OBJECTS objects.
   */
  async fetch(url: string, revision: string, branch: string, auth?: GitAuth): Promise<void> {
    return this.exclusive(this.gitdir(url), () => this.fetchUnlocked(url, revision, branch, auth));
  }

  private async fetchUnlocked(url: string, revision: string, branch: string, auth?: GitAuth): Promise<void> {
    const gitdir = this.gitdir(url);
    if (await this.hasCommit(gitdir, revision)) return;
    await fs.promises.mkdir(gitdir, { recursive: true });
    await git.init({ fs, gitdir, bare: true });
    await git.addRemote({ fs, gitdir, remote: "origin", url, force: true });
    const common = { fs, http: guardedHttp(url), gitdir, remote: "origin", url, singleBranch: true, tags: false, onAuth: this.onAuth(auth) };
    try {
      this.requests++;
      await git.fetch({ ...common, ref: revision, remoteRef: revision, depth: 1 });
    } catch (err) {
      if (err instanceof SourceError) throw err;
      // the server refused a SHA want: fetch the branch, deepening until the commit is there
    }
    for (const depth of [1, 20, 200, undefined]) {
      if (await this.hasCommit(gitdir, revision)) return;
      this.requests++;
      await git.fetch({ ...common, ref: branch, depth }).catch((e: unknown) => permanent(e, url));
    }
    if (!(await this.hasCommit(gitdir, revision))) throw new SourceError(`revision ${revision} not found in ${url} (branch ${branch})`);
  }

  /**
   * Whether commit `ancestor` is reachable from commit `descendant` through parent links (Git's
   * `merge-base --is-ancestor`; a commit is its own ancestor). Both are fetched first. The local
   * copy is shallow, so a walk that reaches its shallow boundary deepens `branch` (20, 200
   * commits, then all) and walks again; the answer is definitive once a walk ends without
   * reaching the boundary.
   * @throws SourceError when either commit cannot be fetched; network errors as `fetch` throws them.
   */
  async isAncestor(url: string, ancestor: string, descendant: string, branch: string, auth?: GitAuth): Promise<boolean> {
    if (ancestor === descendant) return true;
    await this.fetch(url, descendant, branch, auth);
    await this.fetch(url, ancestor, branch, auth);
    const gitdir = this.gitdir(url);
    return this.exclusive(gitdir, async () => {
      for (const depth of [20, 200, undefined]) {
        const found = await this.walkTo(gitdir, descendant, ancestor);
        if (found !== undefined) return found;
        this.requests++;
        await git
          .fetch({ fs, http, gitdir, remote: "origin", url, singleBranch: true, tags: false, onAuth: this.onAuth(auth), ref: branch, ...(depth ? { depth } : {}) })
          .catch((e: unknown) => permanent(e, url));
      }
      return (await this.walkTo(gitdir, descendant, ancestor)) ?? false;
    });
  }

  /**
   * The paths that differ between the trees of commits `before` and `after`, sorted: every
   * file added, modified (content or mode) or removed, and a file replaced by a folder or the
   * reverse (both sides listed) — what a push changed when its payload does not say. Both
   * commits are fetched as `fetch` does (depth 1, else `branch` deepened until they are
   * there); the two trees are walked together and a subtree with the same object on both
   * sides is not descended into, so a push touching one folder reads only the trees on its way.
   * @returns undefined when it cannot be known: `before` all zeros (the push created the
   *   branch) or either commit not found in the repository (a force push dropped `before`,
   *   or the repository is gone or refuses the credentials). Then every cluster is concerned.
   * @throws network errors as `fetch` throws them.
   */
  async changedFiles(url: string, before: string, after: string, branch: string, auth?: GitAuth): Promise<string[] | undefined> {
    if (/^0{40}$/.test(before)) return undefined;
    try {
      await this.fetch(url, after, branch, auth);
      await this.fetch(url, before, branch, auth);
    } catch (err) {
      if (err instanceof SourceError) return undefined;
      throw err;
    }
    const gitdir = this.gitdir(url);
    return this.exclusive(gitdir, async () => {
      const changed: string[] = [];
      await git.walk({
        fs,
        gitdir,
        cache: {},
        trees: [git.TREE({ ref: before }), git.TREE({ ref: after })],
        map: async (path, [a, b]) => {
          const [typeA, typeB, oidA, oidB, modeA, modeB] = await Promise.all([a?.type(), b?.type(), a?.oid(), b?.oid(), a?.mode(), b?.mode()]);
          if (typeA === typeB && oidA === oidB && modeA === modeB) return null; // the same file, or the same subtree: not descended
          if ((typeA && typeA !== "tree") || (typeB && typeB !== "tree")) changed.push(path);
          return typeA === "tree" || typeB === "tree" ? undefined : null;
        },
      });
      return changed.sort();
    });
  }

  /** Breadth-first walk of the parents of `from` looking for `to`: true / false, or undefined when the walk reached the shallow boundary first. */
  private async walkTo(gitdir: string, from: string, to: string): Promise<boolean | undefined> {
    const shallow = new Set(
      await fs.promises
        .readFile(join(gitdir, "shallow"), "utf8")
        .then((s) => s.split("\n").filter(Boolean))
        .catch(() => []),
    );
    const seen = new Set([from]);
    let incomplete = false;
    for (const queue = [from]; queue.length > 0; ) {
      const oid = queue.shift()!;
      if (oid === to) return true;
      const parents = await git
        .readCommit({ fs, gitdir, oid })
        .then((c) => c.commit.parent)
        .catch(() => undefined);
      if (parents?.includes(to)) return true;
      if (!parents || shallow.has(oid)) {
        incomplete = true; // history beyond this commit is not here
        continue;
      }
      for (const p of parents.filter((p) => !seen.has(p))) {
        seen.add(p);
        queue.push(p);
      }
    }
    return incomplete ? undefined : false;
  }

  private async hasCommit(gitdir: string, oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, gitdir, oid });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Writes a commit on top of `parent` (fetched already) in the local copy, nothing sent: the
   * files of `files` (repository path → new text; each must exist at `parent`) replaced, every
   * other entry kept, author and committer `author` at `now`.
   * @returns the new commit's SHA.
   * @throws SourceError when a path of `files` is not a file at `parent`.
   */
  async commit(url: string, parent: string, files: Map<string, string>, message: string, author: { name: string; email: string }, now = Date.now()): Promise<string> {
    const gitdir = this.gitdir(url);
    return this.exclusive(gitdir, async () => {
      const { commit } = await git.readCommit({ fs, gitdir, oid: parent });
      const tree = await replaceInTree(gitdir, commit.tree, "", files);
      const who = { ...author, timestamp: Math.floor(now / 1000), timezoneOffset: 0 };
      return git.writeCommit({ fs, gitdir, commit: { message, tree, parent: [parent], author: who, committer: who } });
    });
  }

  /**
   * Pushes commit `oid` (written by `commit`) to `branch`, which must still be at its parent:
   * no force. One ref listing and one pack sent.
   * @throws PushRejectedError when the branch moved on (not a fast-forward) or the server
   *   refused the update; SourceError when the credentials are refused or the repository is
   *   gone; network errors as isomorphic-git throws them.
   */
  async push(url: string, branch: string, oid: string, auth?: GitAuth): Promise<void> {
    const gitdir = this.gitdir(url);
    return this.exclusive(gitdir, async () => {
      const ref = `refs/heads/converge-push-${oid}`;
      await git.writeRef({ fs, gitdir, ref, value: oid, force: true });
      this.requests++;
      try {
        await git.push({ fs, http, gitdir, url, ref, remoteRef: `refs/heads/${branch}`, onAuth: this.onAuth(auth) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "PushRejectedError" || code === "GitPushError") throw new PushRejectedError(`${url} refused the push to ${branch}: ${(err as Error).message.trim()}`);
        permanent(err, url);
      } finally {
        await git.deleteRef({ fs, gitdir, ref }).catch(() => undefined);
      }
    });
  }

  /**
   * Names of the entries directly under `path` at `revision` (no file contents read): enough
   * to detect the source type. `fetch` must have run first.
   * @throws SourceError when `path` does not exist at that revision.
   */
  async listNames(url: string, revision: string, path: string): Promise<string[]> {
    const gitdir = this.gitdir(url);
    return this.exclusive(gitdir, async () => {
      try {
        return (await git.readTree({ fs, gitdir, oid: revision, filepath: path })).tree.map((e) => e.path);
      } catch {
        throw new SourceError(`path "${path || "/"}" not found at revision ${revision.slice(0, 12)}`, path);
      }
    });
  }

  /**
   * Files under `path` (recursively) at `revision`, read from the object store, sorted by path:
   * those `plan` reads. The trees are listed first (no file content read), then `plan` gets
   * the paths of every file under `path` and reads what it needs, so a source can be refused
   * on its listing (shared/render/budget.ts: the read budget). Submodules and symbolic links
   * inside the repository are skipped with a warning. `fetch` must have run first.
   * `strictUnder` (default `path`): oversized files and links leaving the repository fail the
   * read under it and are skipped with a warning elsewhere (Kustomize lists the whole
   * repository for its bases, but only what the source reaches should fail it).
   * @throws SourceError when `path` does not exist at that revision, a file under `strictUnder`
   *   that `plan` reads exceeds MAX_FILE_BYTES, or a link under it points outside the
   *   repository or starts a chain of links that loops (`a -> b -> a`, a link to itself: see
   *   refuseLinkLoop); what `plan` throws.
   */
  async readFiles(url: string, revision: string, path: string, opts: { strictUnder?: string; plan: ReadPlan }): Promise<{ files: SourceFile[]; warnings: string[] }> {
    return this.exclusive(this.gitdir(url), () => this.readFilesUnlocked(url, revision, path, opts.strictUnder ?? path, opts.plan));
  }

  private async readFilesUnlocked(url: string, revision: string, path: string, strictUnder: string, plan: ReadPlan): Promise<{ files: SourceFile[]; warnings: string[] }> {
    const gitdir = this.gitdir(url);
    const strict = (p: string) => !strictUnder || p === strictUnder || p.startsWith(`${strictUnder}/`);
    const cache = {};
    const { blobs, links, warnings } = await listTree(gitdir, revision, path, strict, cache);
    for (const p of [...links.keys()].sort()) if (strict(p)) refuseLinkLoop(p, links);
    const read = async function* (paths: string[]): AsyncGenerator<SourceFile> {
      for (const p of paths) {
        const oid = blobs.get(p);
        if (oid === undefined) continue;
        const { blob } = await git.readBlob({ fs, gitdir, oid, cache });
        if (blob.byteLength > MAX_FILE_BYTES) {
          if (strict(p)) throw new SourceError(`${p}: file of ${blob.byteLength} bytes exceeds the ${MAX_FILE_BYTES}-byte limit`, p);
          warnings.push(`${p}: file of ${blob.byteLength} bytes over the limit skipped`);
          continue;
        }
        yield { path: p, content: Buffer.from(blob).toString("utf8") };
      }
    };
    const files = await plan([...blobs.keys()].sort(), read);
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, warnings };
  }
}

/**
 * Chooses what `GitSource.readFiles` returns: given the paths of every file under the read
 * path (sorted, from the trees alone) and a reader yielding the files of the paths asked for
 * (read from the object store one by one, as the iteration goes), returns the files it read,
 * or throws to stop the read. It runs while the repository is locked: it must not call the
 * GitSource.
 */
export type ReadPlan = (paths: string[], read: (paths: string[]) => AsyncIterable<SourceFile>) => Promise<SourceFile[]>;

/** The listing of a tree: file path → blob id, link path → the repository path it names, warnings. */
interface TreeListing {
  blobs: Map<string, string>;
  links: Map<string, string>;
  warnings: string[];
}

/**
 * Lists the files under `path` at `revision` from the trees (a link's target is read: it is
 * its blob). Submodules and links get a warning each.
 * @throws SourceError when `path` does not exist, or a link under `strict` leaves the repository.
 */
async function listTree(gitdir: string, revision: string, path: string, strict: (p: string) => boolean, cache: object): Promise<TreeListing> {
  const listing: TreeListing = { blobs: new Map(), links: new Map(), warnings: [] };
  const walk = async (dir: string): Promise<void> => {
    let tree: Awaited<ReturnType<typeof git.readTree>>;
    try {
      tree = await git.readTree({ fs, gitdir, oid: revision, filepath: dir, cache });
    } catch {
      throw new SourceError(`path "${dir || "/"}" not found at revision ${revision.slice(0, 12)}`, dir);
    }
    for (const entry of tree.tree) {
      const p = dir ? `${dir}/${entry.path}` : entry.path;
      if (entry.type === "tree") await walk(p);
      else if (entry.type === "commit") listing.warnings.push(`${p}: submodule skipped`);
      else if (entry.mode === "120000") {
        // a link's blob is its target; one that leaves the repository is refused outright
        const { blob } = await git.readBlob({ fs, gitdir, oid: entry.oid, cache });
        const target = Buffer.from(blob).toString("utf8");
        const resolved = posix.normalize(posix.join(posix.dirname(p), target));
        if ((target.startsWith("/") || resolved === ".." || resolved.startsWith("../")) && strict(p)) throw new SourceError(`${p}: symbolic link to ${target} leaves the repository`, p);
        listing.links.set(p, resolved);
        listing.warnings.push(`${p}: symbolic link to ${target} skipped`);
      } else listing.blobs.set(p, entry.oid);
    }
  };
  await walk(path);
  return listing;
}

/** Most links followed in a chain, as Linux's path resolution allows (MAXSYMLINKS, path_resolution(7)). */
const MAX_LINK_HOPS = 40;

/**
 * Follows the chain of links from `start` through `links` (link path → the repository path it
 * names, both `/`-separated).
 * @throws SourceError when the chain comes back to a link already seen, or is longer than
 *   MAX_LINK_HOPS (the ELOOP the kernel reports, which fails Argo CD's read of the file).
 */
function refuseLinkLoop(start: string, links: Map<string, string>): void {
  const chain = [start];
  for (let next = links.get(start); next !== undefined; next = links.get(next)) {
    const looped = chain.includes(next);
    chain.push(next);
    if (looped || chain.length > MAX_LINK_HOPS) throw new SourceError(`${start}: symbolic link loop: ${chain.join(" -> ")}`, start);
  }
}
