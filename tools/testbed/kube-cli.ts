/**
 * Manual use of the test bed's clusters:
 *
 *   npx tsx tools/testbed/kube-cli.ts up <name...>     start clusters (left running), print their kubeconfigs
 *   npx tsx tools/testbed/kube-cli.ts down <name...>   stop them
 *
 * The clusters live under `<cache>/kwok/cli/<name>/` (kubeconfig: `<that>/kubeconfig`,
 * component logs: `<that>/clusters/<name>/logs/`).
 */
import { cacheDir } from "./cache.js";
import { kubectlBinaries } from "./binaries.js";
import { startClusters, stopClusters } from "./kube.js";

const usage = "usage: kube-cli.ts up <name...> | down <name...>";

/**
 * Runs the CLI.
 * @param argv the arguments after the script (`["up", "a", "b"]`).
 * @returns the exit code (0 on success, 2 on a usage error).
 * @throws what startClusters / stopClusters throw.
 */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...names] = argv;
  const log = (s: string) => console.error(s);
  const root = cacheDir("kwok", "cli");
  if (cmd === "up" && names.length > 0) {
    const t0 = Date.now();
    const clusters = await startClusters(names, { root, detached: true, log });
    const { kubectl } = kubectlBinaries();
    for (const c of clusters) console.log(`${c.name}\tserver ${c.server}\tcontext ${c.context}\tkubeconfig ${c.kubeconfig}`);
    console.error(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; try: ${kubectl} --kubeconfig ${clusters[0]!.kubeconfig} get nodes`);
    return 0;
  }
  if (cmd === "down" && names.length > 0) {
    const stopped = await stopClusters(names, root, log);
    for (const n of names) console.error(stopped.includes(n) ? `${n}: deleted` : `${n}: not running`);
    return 0;
  }
  console.error(usage);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
