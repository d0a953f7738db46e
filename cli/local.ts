/**
 * `converge render` and the offline `converge diff`: a local folder rendered as the reconcile
 * renders a revision (shared/reconcile/reconcile.ts `renderRevision`) — read inside its
 * repository with the reconcile's rules (cli/worktree.ts): the source folder for a directory or
 * a Helm chart, the whole repository for Kustomize, so `../` bases resolve and nothing outside
 * the repository is reached — then `renderSource`, the reconcile's renderer.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { renderDirectory, type RenderResult, type SourceFile } from "../shared/render/directory.js";
import { detectTypeFromNames, renderSource, type SourceType } from "../shared/render/source.js";
import { diffFiles, readTree, type DiffResult } from "../shared/reconcile/diff-cluster.js";
import { UsageError } from "./errors.js";
import { repositoryRoot, readWorkTree } from "./worktree.js";

/** Options of a local render (the CLI's flags). */
export interface LocalRenderOptions {
  type?: SourceType;
  /** Helm value files: relative to the chart folder (Argo CD's rule), or any local file (absolute, or relative to `cwd`). */
  values?: string[];
  release?: string;
  namespace: string;
  /** Where relative `values` that are not in the chart folder are looked up (default: process.cwd()). */
  cwd?: string;
}

/** A local render: the objects, the render's and the read's warnings, the type and the folder's place in its repository. */
export interface LocalRender extends RenderResult {
  type: SourceType;
  readWarnings: string[];
  root: string;
  path: string;
}

/**
 * The value files for a chart at `path` (repository-relative) of the checkout `root`, for
 * HelmOptions.valueFiles: a file of the chart folder stays a repository path, as a
 * registration would give it; any other existing file (relative to the chart folder, absolute,
 * or relative to `cwd`) is read here and passed by content.
 * @throws UsageError naming the places looked at when a file does not exist.
 */
export function helmValueFiles(values: string[], root: string, path: string, chartFiles: SourceFile[], cwd = process.cwd()): (string | SourceFile)[] {
  return values.map((v) => {
    if (!isAbsolute(v)) {
      const inRepo = posix.normalize(posix.join(path, v.split(sep).join("/")));
      if (chartFiles.some((f) => f.path === inRepo)) return v;
      const nearChart = join(root, path, v);
      if (existsSync(nearChart) && statSync(nearChart).isFile()) return { path: v, content: readFileSync(nearChart, "utf8") };
    }
    const local = resolve(cwd, v);
    if (existsSync(local) && statSync(local).isFile()) return { path: local, content: readFileSync(local, "utf8") };
    throw new UsageError(`--values ${v}: no such file${isAbsolute(v) ? "" : ` in the chart folder ${join(root, path)} nor`} at ${local}`);
  });
}

/**
 * Renders the local folder (or single manifest file) `target` with the reconcile's code.
 * @throws UsageError when `target` does not exist or a value file is missing; RenderError /
 *   SourceError for a bad source; Error when kubectl or helm cannot be found.
 */
export async function renderLocal(target: string, o: LocalRenderOptions): Promise<LocalRender> {
  let abs: string;
  try {
    abs = realpathSync(resolve(target));
  } catch {
    throw new UsageError(`${target}: no such file or folder`);
  }
  if (statSync(abs).isFile()) {
    const r = renderDirectory(readTree(abs), { path: "" });
    return { ...r, type: "directory", readWarnings: [], root: abs, path: "" };
  }
  const root = repositoryRoot(abs);
  const path = relative(root, abs).split(sep).join("/");
  const type = detectTypeFromNames(readdirSync(abs), o.type);
  if (o.values?.length && type !== "helm") throw new UsageError(`--values: ${target} is a ${type} source, not a Helm chart`);
  // what renderRevision reads: the whole repository for Kustomize, else the source folder
  const read = readWorkTree(root, type === "kustomize" ? "" : path, path);
  const helm = type === "helm" ? { releaseName: o.release ?? basename(abs), valueFiles: helmValueFiles(o.values ?? [], root, path, read.files, o.cwd) } : undefined;
  const r = await renderSource(read.files, { path, type, helm }, { namespace: o.namespace });
  return { ...r, readWarnings: read.warnings, root, path };
}

/**
 * Offline diff of a local source against live manifests on disk: the desired side rendered by
 * `renderLocal`, then compared by `diffFiles` (shared/reconcile/diff-cluster.ts), the offline
 * diff of `converge diff --desired <file>`, so both follow one set of rules. The rendered
 * objects reach it as one JSON `List` in a temporary file (JSON: no YAML 1.1 reading of
 * strings such as `yes` or `0644`).
 * @throws what renderLocal and diffFiles throw.
 */
export async function diffLocal(desiredPath: string, livePath: string, o: LocalRenderOptions): Promise<DiffResult & { warnings: string[] }> {
  const rendered = await renderLocal(desiredPath, o);
  const tmp = mkdtempSync(join(tmpdir(), "converge-diff-"));
  try {
    const file = join(tmp, "desired.json");
    writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: rendered.objects.map((d) => d.object) }));
    return { ...diffFiles(file, resolve(livePath), o.namespace), warnings: [...rendered.readWarnings, ...rendered.warnings] };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
