/**
 * The read budget of a render: which files a source reads, and how many of them it may read.
 *
 * A source reads only what its render needs (the reconcile from a revision's trees,
 * `GitSource.readFiles`, and `renderSource` from the files it is given, so the CLI obeys the
 * same rules):
 * - directory: its manifests — `.yaml`, `.yml`, `.json` under its path (direct children only
 *   when not recursive), `include` / `exclude` applied; a folder holding no manifest but a
 *   Jsonnet file is refused from the listing (unsupported source type);
 * - Helm: the files its inputs cover (./inputs.ts `helmInputs`: the chart folder, `file://`
 *   dependencies, repository value files);
 * - Kustomize: the files its inputs cover (./inputs.ts `kustomizeInputs`: the kustomization's
 *   folder and every local path a kustomization it reaches names; only those kustomizations
 *   are read to find them), so a Kustomize source in a large repository neither reads nor
 *   copies the rest of it into the tool's scratch folder.
 *
 * Budget: at most `MAX_SOURCE_FILES` files and `MAX_SOURCE_BYTES` bytes per source. The file
 * count is checked on the listing, before any content is read; the bytes as files are read,
 * stopping at the first file that takes the total over. Either is a RenderError naming the
 * source and the limit. Rationale: Argo CD's repo server caps the combined size of a
 * directory application's `.yaml`/`.yml`/`.json` files
 * (`reposerver.max.combined.directory.manifests.size`, flag
 * `--max-combined-directory-manifests-size`, default `10M`,
 * https://argo-cd.readthedocs.io/en/release-2.4/operator-manual/server-commands/argocd-repo-server/),
 * introduced for GHSA-jhqp-vf4w-rpwq (https://github.com/advisories/GHSA-jhqp-vf4w-rpwq)
 * because parsed manifests take many times their size in memory. Converge applies the bound to
 * every source type (the reconcile runs in a 512 MB Lambda and Kustomize and Helm get the files
 * copied), and adds a count because reading costs per file: 100,000 one-object files took
 * 44 s to read from a Git object store and 12 s to parse.
 */
import { minimatch } from "minimatch";
import type { ReadPlan } from "../git/source.js";
import { coveringInputs, WHOLE_REPOSITORY } from "../webhook/concerned.js";
import { MANIFEST, normalizeDir, RenderError, type SourceFile } from "./directory.js";
import { directoryInputs, helmInputs, KUSTOMIZATION_NAMES, kustomizeInputs, type KustomizeWalk } from "./inputs.js";
import type { SourceSpec, SourceType } from "./source.js";

/** Most files one source may read: 10,000. */
export const MAX_SOURCE_FILES = 10_000;

/** Most bytes one source may read, its files together: 10 MiB (Argo CD: 10M for a directory application). */
export const MAX_SOURCE_BYTES = 10 * 1024 * 1024;

const JSONNET = /\.(jsonnet|libsonnet)$/;

/** Reads files by repository path: lazily (a Git object store) or from memory; paths it does not hold are left out. */
export type FileReader = (paths: string[]) => Iterable<SourceFile> | AsyncIterable<SourceFile>;

/** What a render reads: the files, the file its errors name, and its inputs (./inputs.ts, not yet compacted). */
export interface SourceRead {
  files: SourceFile[];
  anchor: string;
  inputs: Set<string>;
}

/** @throws RenderError at `anchor` when `count` files exceed MAX_SOURCE_FILES. */
function checkCount(count: number, anchor: string): void {
  if (count > MAX_SOURCE_FILES) throw new RenderError(anchor, 1, `${count} files to read, more than the limit of ${MAX_SOURCE_FILES} files per source`);
}

/**
 * A reader over `read` that keeps every file it returns, over all its calls, within
 * MAX_SOURCE_BYTES together.
 * @throws RenderError at `anchor` on the first file that takes the total over (nothing after it is read).
 */
function bytesBudget(read: FileReader, anchor: string): (paths: string[]) => Promise<SourceFile[]> {
  let bytes = 0;
  return async (paths) => {
    const out: SourceFile[] = [];
    for await (const f of read(paths)) {
      bytes += Buffer.byteLength(f.content);
      if (bytes > MAX_SOURCE_BYTES) throw new RenderError(anchor, 1, `the files to read exceed the limit of ${MAX_SOURCE_BYTES} bytes per source (${bytes} bytes with ${f.path})`);
      out.push(f);
    }
    return out;
  };
}

/**
 * The manifests a directory source reads among `paths` (see the module doc).
 * @throws RenderError when the folder holds no manifest at all but a Jsonnet file.
 */
function directoryReads(paths: string[], spec: Pick<SourceSpec, "path" | "recursive" | "include" | "exclude">): string[] {
  const base = normalizeDir(spec.path);
  const prefix = base ? `${base}/` : "";
  const mine = paths.filter((p) => p.startsWith(prefix));
  const jsonnet = mine.find((p) => JSONNET.test(p));
  if (jsonnet && !mine.some((p) => MANIFEST.test(p))) throw new RenderError(jsonnet, 1, "unsupported source type: Jsonnet (Converge renders plain YAML/JSON, Kustomize and Helm)");
  return mine.filter((p) => {
    const rel = p.slice(prefix.length);
    if (!MANIFEST.test(p) || (spec.recursive === false && rel.includes("/"))) return false;
    return (!spec.include || minimatch(rel, spec.include, { dot: true })) && (!spec.exclude || !minimatch(rel, spec.exclude, { dot: true }));
  });
}

/** The paths among `paths` that an input of `inputs` covers (./inputs.ts forms). */
function covered(paths: string[], inputs: Set<string>): string[] {
  if (inputs.has(WHOLE_REPOSITORY)) return paths;
  return paths.filter((p) => coveringInputs(p).some((e) => inputs.has(e)));
}

/**
 * Walks the descriptors of a Kustomize or Helm source (kustomizations; `Chart.yaml` and
 * `requirements.yaml`), reading only those of the folders the walk reaches: `walk` runs on the
 * descriptors read so far until it reaches no folder whose descriptor is listed and unread.
 * @throws RenderError when the descriptors alone exceed the budget.
 */
async function walkDescriptors<W extends { inputs: Set<string> }>(
  paths: string[],
  names: string[],
  walk: (known: SourceFile[]) => W,
  read: (paths: string[]) => Promise<SourceFile[]>,
  anchor: string,
): Promise<{ walk: W; known: SourceFile[] }> {
  const listed = new Set(paths);
  const tried = new Set<string>();
  const known: SourceFile[] = [];
  for (;;) {
    const result = walk(known);
    const missing = [...result.inputs].flatMap((folder) => names.map((n) => (folder === WHOLE_REPOSITORY ? n : `${folder}/${n}`))).filter((p) => listed.has(p) && !tried.has(p));
    if (missing.length === 0) return { walk: result, known };
    for (const p of missing) tried.add(p);
    checkCount(tried.size, anchor);
    known.push(...(await read(missing)));
  }
}

/** The file a source's errors name: the kustomization or `Chart.yaml` in its folder, else the folder. */
function anchorOf(paths: string[], spec: SourceSpec & { type: SourceType }): string {
  const prefix = spec.path ? `${spec.path}/` : "";
  if (spec.type === "directory") return spec.path || ".";
  if (spec.type === "helm") return `${prefix}Chart.yaml`;
  return paths.find((p) => KUSTOMIZATION_NAMES.some((k) => p === `${prefix}${k}`)) ?? `${prefix}${KUSTOMIZATION_NAMES[0]}`;
}

/**
 * Reads what a render of `spec` needs (see the module doc), within the budget.
 * @param paths every file `read` may return (a revision's listing, or the files at hand),
 *   repository-relative; for Kustomize the whole repository, so `../` bases can be found.
 * @returns the files (sorted by path), the file errors name, the inputs.
 * @throws RenderError: over MAX_SOURCE_FILES (before reading) or MAX_SOURCE_BYTES; a Jsonnet
 *   directory; remote or repository-leaving Kustomize resources.
 */
export async function readForRender(paths: string[], spec: SourceSpec & { type: SourceType }, read: FileReader): Promise<SourceRead> {
  const anchor = anchorOf(paths, spec);
  const budgeted = bytesBudget(read, anchor);
  if (spec.type === "directory") {
    const wanted = directoryReads(paths, spec);
    checkCount(wanted.length, anchor);
    return { files: await budgeted(wanted), anchor, inputs: directoryInputs(spec.path, spec.recursive) };
  }
  const valueFiles = (spec.helm?.valueFiles ?? []).filter((v): v is string => typeof v === "string");
  const { walk, known } =
    spec.type === "kustomize"
      ? await walkDescriptors<KustomizeWalk>(paths, KUSTOMIZATION_NAMES, (k) => kustomizeInputs(k, spec.path), budgeted, anchor)
      : await walkDescriptors(paths, ["Chart.yaml", "requirements.yaml"], (k) => ({ inputs: helmInputs(k, spec.path, valueFiles), refused: [] }), budgeted, anchor);
  if (walk.refused.length) throw new RenderError(anchor, 1, `remote Kustomize resources are not rendered (no network at render time, nothing outside the repository): ${walk.refused.join(", ")}`);
  const wanted = covered(paths, walk.inputs);
  checkCount(wanted.length, anchor);
  const have = new Set(known.map((f) => f.path));
  const want = new Set(wanted);
  const files = [...known.filter((f) => want.has(f.path)), ...(await budgeted(wanted.filter((p) => !have.has(p))))];
  return { files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), anchor, inputs: walk.inputs };
}

/** The read plan of `spec` for `GitSource.readFiles`: `readForRender` on the revision's listing. */
export function readPlan(spec: SourceSpec & { type: SourceType }): ReadPlan {
  return async (paths, read) => (await readForRender(paths, spec, read)).files;
}
