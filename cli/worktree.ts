/**
 * A local checkout read as the reconcile reads a revision (shared/git/source.ts): the files
 * Git would commit (tracked, or untracked and not ignored), paths relative to the repository
 * root, with the same rules — symbolic links are skipped with a warning, and refused when one
 * under the source path leaves the repository; oversized files fail the read under the source
 * path and are skipped elsewhere; submodules are skipped. Outside a Git repository the folder
 * itself is the root and every file under it is read.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { MAX_FILE_BYTES, SourceError } from "../shared/git/source.js";
import type { SourceFile } from "../shared/render/directory.js";

/** What `readWorkTree` read. */
export interface WorkTree {
  files: SourceFile[];
  warnings: string[];
}

/**
 * The root of the Git work tree holding `dir` (an absolute, real path): `git rev-parse
 * --show-toplevel`, else the nearest ancestor with a `.git` (no git binary), else `dir` itself.
 */
export function repositoryRoot(dir: string): string {
  try {
    return execFileSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    for (let d = dir; ; d = dirname(d)) {
      if (existsSync(join(d, ".git"))) return d;
      if (dirname(d) === d) return dir;
    }
  }
}

/** Paths (relative to `root`, `/`-separated) of the files Git would commit under `under`; undefined when `root` is no Git work tree or git is missing. */
function gitListing(root: string, under: string): string[] | undefined {
  try {
    const out = execFileSync("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", under || "."], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 256 * 1024 * 1024,
    });
    return [...new Set(out.split("\0").filter(Boolean))];
  } catch {
    return undefined;
  }
}

/** Every entry path under `under` found by walking the folder (no Git): `.git` folders left out. */
function walkListing(root: string, under: string): string[] {
  const walk = (rel: string): string[] =>
    readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
      const p = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? (e.name === ".git" ? [] : walk(p)) : [p];
    });
  return walk(under);
}

/**
 * Reads the files under `under` (repository-relative, `''` for all) of the checkout at `root`.
 * `strictUnder` (default `under`): where links leaving the repository and oversized files fail
 * the read rather than being skipped with a warning.
 * @returns the files, sorted by path, and the warnings.
 * @throws SourceError for a link leaving the repository or an oversized file under `strictUnder`.
 */
export function readWorkTree(root: string, under: string, strictUnder = under): WorkTree {
  const strict = (p: string) => !strictUnder || p === strictUnder || p.startsWith(`${strictUnder}/`);
  const files: SourceFile[] = [];
  const warnings: string[] = [];
  for (const p of (gitListing(root, under) ?? walkListing(root, under)).sort()) {
    const abs = join(root, p);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) continue; // tracked, but deleted in the work tree
    if (st.isDirectory()) warnings.push(`${p}: submodule skipped`);
    else if (st.isSymbolicLink()) {
      const target = readlinkSync(abs);
      const resolved = posix.normalize(posix.join(posix.dirname(p), target));
      if ((target.startsWith("/") || resolved === ".." || resolved.startsWith("../")) && strict(p)) throw new SourceError(`${p}: symbolic link to ${target} leaves the repository`, p);
      warnings.push(`${p}: symbolic link to ${target} skipped`);
    } else if (st.size > MAX_FILE_BYTES) {
      if (strict(p)) throw new SourceError(`${p}: file of ${st.size} bytes exceeds the ${MAX_FILE_BYTES}-byte limit`, p);
      warnings.push(`${p}: file of ${st.size} bytes over the limit skipped`);
    } else if (st.isFile()) files.push({ path: p, content: readFileSync(abs, "utf8") });
  }
  return { files, warnings };
}
