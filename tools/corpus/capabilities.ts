/**
 * Records the API versions a plain Kubernetes API server offers, the way helm computes
 * `.Capabilities.APIVersions` when it installs into a cluster (every `group/version`, and
 * `group/version/Kind` for every resource, subresources included), so that `helm template`
 * renders the corpus as `helm install` into that cluster would (charts test e.g.
 * `.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"`; offline helm only knows
 * bare group/versions and would fall back to policy/v1beta1).
 *
 *   npx tsx tools/corpus/capabilities.ts <kubeconfig>   (a fresh cluster: no CRDs, no APIServices added)
 *
 * writes tools/corpus/api-versions.txt, one entry a line.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { kubectlBinaries } from "../testbed/binaries.js";
import { apiVersionsFile } from "./corpus.js";

function main(argv: string[]): number {
  const [kubeconfig] = argv;
  if (!kubeconfig) {
    console.error("usage: capabilities.ts <kubeconfig>");
    return 2;
  }
  const { kubectl } = kubectlBinaries();
  const k = (...args: string[]) => execFileSync(kubectl, ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 1 << 26 }).toString();
  const serverVersion = JSON.parse(k("version", "-o", "json")).serverVersion.gitVersion as string;
  const set = new Set<string>();
  for (const gv of k("api-versions").split("\n").filter(Boolean)) {
    set.add(gv);
    const list = JSON.parse(k("get", "--raw", gv === "v1" ? "/api/v1" : `/apis/${gv}`)) as { resources: { kind: string }[] };
    for (const r of list.resources) set.add(`${gv}/${r.kind}`);
  }
  const lines = [...set].sort();
  writeFileSync(apiVersionsFile, `# .Capabilities.APIVersions of a Kubernetes ${serverVersion} API server (recorded by tools/corpus/capabilities.ts)\n${lines.join("\n")}\n`);
  console.error(`${lines.length} entries from ${serverVersion} -> ${apiVersionsFile}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
