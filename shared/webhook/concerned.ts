/**
 * Which clusters tracking a pushed branch the push concerns: the pure filter between the
 * `byRepoWithInputs` index (ClusterStore.forEachTracking: each cluster's name and the inputs
 * of its last render, shared/render/inputs.ts) and the reconcile tasks the webhook enqueues.
 * Dependency-free, so the webhook's bundle carries no render code.
 *
 * An input is a repository-relative, `/`-separated path in one of three forms:
 * - `p`: the file `p`, or the folder `p` with everything under it: covers `p` and `p/...`;
 * - `p/*`: the files directly in folder `p` (a non-recursive directory source), `./*` for the
 *   repository's top level: covers the paths whose folder is `p`;
 * - `.`: the whole repository: covers every path.
 */

/** The whole repository as an input. */
export const WHOLE_REPOSITORY = ".";

/**
 * Every input that covers the repository path `path`: `.`, the `<folder>/*` of its folder,
 * each enclosing folder and the path itself (`a/b/c.yaml` → `.`, `a/b/*`, `a`, `a/b`,
 * `a/b/c.yaml`; `x.yaml` → `.`, `./*`, `x.yaml`).
 */
export function coveringInputs(path: string): string[] {
  const parts = path.split("/");
  const out = [WHOLE_REPOSITORY, `${parts.length > 1 ? parts.slice(0, -1).join("/") : WHOLE_REPOSITORY}/*`];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/** Whether input `entry` covers the repository path `path` (see `coveringInputs`). */
export function covers(entry: string, path: string): boolean {
  return coveringInputs(path).includes(entry);
}

/**
 * The names of the clusters of `page` that the push concerns, in page order. A cluster is
 * concerned when
 * - `changed` is undefined: the push does not say what it changed (the payload lists no
 *   files, or a truncated list; a new branch; see GitSource.changedFiles), or
 * - the cluster has no inputs: it was never rendered, its last render failed, or its
 *   registration changed since, or
 * - one of its inputs covers a changed path (a changed file is an input file, lies under an
 *   input folder, is a direct child of a `p/*` input, or an input is `.`).
 * A push that changes nothing (`[]`) concerns only the clusters without inputs. Cost: one set
 * lookup per input, after one pass over `changed`.
 * @param page clusters as the index holds them (`inputs`: repository-relative paths).
 * @param changed repository-relative paths the push added, modified or removed; undefined
 *   when unknown.
 */
export function concerned(page: { name: string; inputs?: string[] }[], changed: string[] | undefined): string[] {
  if (changed === undefined) return page.map((c) => c.name);
  const touched = new Set(changed.flatMap(coveringInputs));
  return page.filter((c) => c.inputs === undefined || c.inputs.some((input) => touched.has(input))).map((c) => c.name);
}
