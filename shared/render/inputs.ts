/**
 * The input files of a render: the repository paths whose change may change what a source
 * renders to, so a push that touches none of them cannot concern a cluster tracking it
 * (shared/webhook/concerned.ts reads them).
 *
 * An input is a repository-relative, `/`-separated path in one of three forms (matched
 * against a push's changed paths by shared/webhook/concerned.ts, which holds the rule):
 * - `p`: the file `p`, or the directory `p` with everything under it;
 * - `p/*`: the files directly in directory `p` (a non-recursive directory source); `./*` for
 *   the repository's top level;
 * - `.`: the whole repository.
 *
 * What each source type reads (Argo CD's source types,
 * https://argo-cd.readthedocs.io/en/stable/user-guide/tool_detection/):
 * - directory: its path (`p`, or `p/*` when not recursive); `include` / `exclude` globs are
 *   ignored, which only over-matches;
 * - Helm: the chart folder, each repository value file (relative to the chart folder, as
 *   Argo CD takes them), and each `file://` dependency of `Chart.yaml` or `requirements.yaml`
 *   (https://helm.sh/docs/topics/charts/#chart-dependencies), followed through the
 *   dependency's own `Chart.yaml` when the render read it;
 * - Kustomize: the kustomization's folder, and every local path its kustomization names
 *   (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/): `resources`,
 *   `bases`, `components`, `crds`, `configurations`, `transformers` / `generators` /
 *   `validators` given as paths, `patchesStrategicMerge` file entries, the `path` of
 *   `patches`, `patchesJson6902`, `replacements` and `openapi`, `files` (`key=path` too), `envs`
 *   and `env` of `configMapGenerator` / `secretGenerator`, `helmCharts` value files and
 *   `helmGlobals.chartHome` (default `charts`) — followed recursively through each named
 *   folder holding a kustomization, so a base or component outside the source path counts.
 *
 * When in doubt the set over-matches, never misses: a kustomization that does not parse, a
 * remote reference (a URL, `github.com/...`, a `helmCharts` `repo`), or a path leaving the
 * repository makes the whole repository the input (`.`; such a render fails anyway). A set
 * larger than `MAX_INPUT_BYTES` is coarsened (entries replaced by their folders) until it fits.
 */
import { posix } from "node:path";
import { parse } from "yaml";
import type { SourceFile } from "./directory.js";
import { coveringInputs, WHOLE_REPOSITORY } from "../webhook/concerned.js";

/**
 * Most bytes the inputs of one render take, joined (4 KiB): they are stored on the cluster
 * item and read by every push from the `byRepoWithInputs` index, so they stay small.
 */
export const MAX_INPUT_BYTES = 4096;

/** The names a kustomization file may have, in kustomize's order of preference. */
export const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** URLs and host paths kustomize would fetch (no network at render time). */
const REMOTE = /^(https?:\/\/|git@|ssh:\/\/|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)/;

/** A folder path normalized: `''`, `.`, `./` → `.`; `a/b/` → `a/b`; undefined when it leaves the repository. */
function normalize(path: string): string | undefined {
  const p = posix.normalize(path || ".").replace(/\/+$/, "");
  if (posix.isAbsolute(p) || p === ".." || p.startsWith("../")) return undefined;
  return p === "" ? "." : p;
}

/** `ref` taken relative to `folder`, normalized; undefined for an absolute `ref` or one leaving the repository. */
function resolve(folder: string, ref: string): string | undefined {
  return posix.isAbsolute(ref) ? undefined : normalize(posix.join(folder, ref));
}

/** What a walk of kustomizations found: the inputs, and the references kustomize could not render here. */
export interface KustomizeWalk {
  inputs: Set<string>;
  /**
   * Remote references (`<kustomization file>: <ref>`) and local ones leaving the repository
   * (`<kustomization file>: <ref> (leaves the repository)`) among `resources`, `bases`,
   * `components` and `helmCharts` repositories: the render refuses them.
   */
  refused: string[];
}

/** Strings of a list field, entries of other types skipped. */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Objects of a list field, entries of other types skipped. */
export function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x)) : [];
}

/** The local file paths a kustomization names besides its resources (see the module doc). */
function filesNamed(k: Record<string, unknown>): string[] {
  const generators = [...objects(k.configMapGenerator), ...objects(k.secretGenerator)];
  const charts = objects(k.helmCharts);
  const globals = (k.helmGlobals ?? {}) as Record<string, unknown>;
  const paths = [
    ...strings(k.crds),
    ...strings(k.configurations),
    ...strings(k.patchesStrategicMerge),
    ...[...objects(k.patches), ...objects(k.patchesJson6902), ...objects(k.replacements), ...objects([k.openapi])].map((p) => p.path),
    ...generators.flatMap((g) => [...strings(g.files).map((f) => f.slice(f.indexOf("=") + 1)), ...strings(g.envs), g.env]),
    ...charts.flatMap((c) => [c.valuesFile, ...strings(c.additionalValuesFiles)]),
    ...(charts.length > 0 ? [typeof globals.chartHome === "string" ? globals.chartHome : "charts"] : []),
  ];
  return paths.filter((p): p is string => typeof p === "string" && p !== "");
}

/**
 * The inputs of the kustomization in folder `dir` (see the module doc) and the references the
 * render refuses, following every referenced folder that holds a kustomization.
 * @param files every file of the revision (repository-relative paths).
 * @param dir the kustomization's folder (`''` or `.` = the repository root).
 */
export function kustomizeInputs(files: SourceFile[], dir: string): KustomizeWalk {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const walk: KustomizeWalk = { inputs: new Set(), refused: [] };
  const seen = new Set<string>();
  const visit = (folder: string): void => {
    if (seen.has(folder)) return;
    seen.add(folder);
    walk.inputs.add(folder);
    const file = KUSTOMIZATION_NAMES.map((n) => byPath.get(folder === "." ? n : `${folder}/${n}`)).find((f) => f !== undefined);
    if (!file) return;
    let k: Record<string, unknown>;
    try {
      const parsed: unknown = parse(file.content);
      k = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
    } catch {
      walk.inputs.add(WHOLE_REPOSITORY); // kustomize reports the syntax error itself
      return;
    }
    const refusable = [...strings(k.resources), ...strings(k.bases), ...strings(k.components)];
    const plugins = [...strings(k.transformers), ...strings(k.generators), ...strings(k.validators)];
    for (const repo of objects(k.helmCharts).map((c) => c.repo)) {
      if (typeof repo === "string" && repo) walk.refused.push(`${file.path}: ${repo}`);
    }
    // an inline patch or plugin configuration holds YAML: a path has no newline
    for (const ref of [...refusable, ...plugins, ...filesNamed(k)].filter((r) => !r.includes("\n"))) {
      const target = REMOTE.test(ref) ? undefined : resolve(folder, ref);
      if (target === undefined) {
        walk.inputs.add(WHOLE_REPOSITORY);
        if (refusable.includes(ref)) walk.refused.push(REMOTE.test(ref) ? `${file.path}: ${ref}` : `${file.path}: ${ref} (leaves the repository)`);
        continue;
      }
      if (refusable.includes(ref) || plugins.includes(ref)) visit(target);
      else walk.inputs.add(target);
    }
  };
  const root = normalize(dir);
  if (root === undefined) walk.inputs.add(WHOLE_REPOSITORY);
  else visit(root);
  return walk;
}

/**
 * The inputs of the Helm chart in folder `chart`: the folder, its `file://` dependencies
 * (followed through their `Chart.yaml` / `requirements.yaml` when among `files`) and
 * `valueFiles` (relative to the chart folder, Argo CD's rule).
 */
export function helmInputs(files: SourceFile[], chart: string, valueFiles: string[] = []): Set<string> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const inputs = new Set<string>();
  const visit = (folder: string): void => {
    if (inputs.has(folder)) return;
    inputs.add(folder);
    for (const name of ["Chart.yaml", "requirements.yaml"]) {
      const file = byPath.get(folder === "." ? name : `${folder}/${name}`);
      if (!file) continue;
      let deps: Record<string, unknown>[];
      try {
        deps = objects((parse(file.content) as Record<string, unknown> | null)?.dependencies);
      } catch {
        inputs.add(WHOLE_REPOSITORY); // helm reports the syntax error itself
        continue;
      }
      for (const repo of deps.map((d) => d.repository)) {
        if (typeof repo !== "string" || !repo.startsWith("file://")) continue;
        const target = resolve(folder, repo.slice("file://".length));
        if (target === undefined) inputs.add(WHOLE_REPOSITORY);
        else visit(target);
      }
    }
  };
  const root = normalize(chart);
  if (root === undefined) return new Set([WHOLE_REPOSITORY]);
  visit(root);
  for (const v of valueFiles) inputs.add(resolve(root, v) ?? WHOLE_REPOSITORY);
  return inputs;
}

/** The inputs of a directory source at `path`: the folder, or only its direct files when not `recursive`. */
export function directoryInputs(path: string, recursive = true): Set<string> {
  const root = normalize(path);
  if (root === undefined) return new Set([WHOLE_REPOSITORY]);
  return new Set([recursive ? root : `${root}/*`]);
}

/**
 * The inputs as stored: sorted, without an entry another one covers, and coarsened to their
 * folders (then to `.`) until they take at most `MAX_INPUT_BYTES` joined.
 */
export function compactInputs(inputs: Iterable<string>): string[] {
  let set = [...new Set(inputs)];
  for (;;) {
    if (set.includes(WHOLE_REPOSITORY)) return [WHOLE_REPOSITORY];
    // only a file-or-folder entry subsumes another: `q/*` cannot tell whether `q/x` is a file
    const plain = new Set(set.filter((e) => !e.endsWith("/*")));
    set = set.filter((e) => !coveringInputs(e.endsWith("/*") ? e.slice(0, -2) : e).some((o) => o !== e && plain.has(o))).sort();
    if (set.join("\n").length <= MAX_INPUT_BYTES) return set;
    set = [...new Set(set.map((e) => (e.endsWith("/*") ? e.slice(0, -2) : posix.dirname(e))))];
  }
}
